package io.lorastream.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The bench refuses a device it cannot use before starting anything, naming the flag and the fix. */
class BenchCommandTest {

  private static String run(Path out, String... args) {
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new BenchCommand());
    cl.setErr(new PrintWriter(err, true));
    String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(args),
        java.util.stream.Stream.of("--out", out.toString())).toArray(String[]::new);
    assertThat(cl.execute(all)).isEqualTo(2);
    return err.toString();
  }

  @Test
  void anUnknownDeviceIsRefused(@TempDir Path dir) {
    assertThat(run(dir, "--device", "tpu")).contains("--device: device: unknown value 'tpu'; use auto, cpu or gpu");
    assertThat(dir.toFile().list()).as("nothing was started or written").isEmpty();
  }

  @Test
  void anUnknownProfileOrSectionIsRefusedBeforeAnythingStarts(@TempDir Path dir) {
    assertThat(run(dir, "--profile", "huge")).contains("--profile: unknown profile 'huge'; choose default or accelerator");
    assertThat(run(dir, "--sections", "wide,nope")).contains("--sections: unknown section 'nope'");
    assertThat(dir.toFile().list()).isEmpty();
  }

  @Test
  void theAcceleratorProfileTrainsTheLargeMlpAtEverySizeAGpuNeeds() {
    assertThat(BenchPlan.full(1).largeMlpBatches()).containsExactly(512);
    assertThat(BenchPlan.full(1).withLargeMlpBatches(BenchPlan.LARGE_MLP_ACCELERATOR).largeMlpBatches())
        .containsExactly(512, 1024, 2048, 4096);
    assertThat(BenchPlan.full(1).orderedSections()).containsSubsequence("trainer", "wide", "flops");
  }

  @Test
  void aGpuIsRefusedWhereTheEngineSeesNone(@TempDir Path dir) {
    assumeTrue(ai.djl.engine.Engine.getInstance().getGpuCount() == 0, "this machine has a GPU");
    assertThat(run(dir, "--device", "gpu", "--sections", "flops")).contains("--device: device=gpu but the PyTorch engine "
        + "sees no GPU; use --device auto or --device cpu");
  }
}
