package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.pipeline.LocalPipeline;
import io.lorastream.stream.inference.InferenceConfig;
import io.lorastream.stream.inference.InferenceService;
import io.lorastream.testing.LocalStackExtension;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lorastream predict} against a running inference consumer on the embedded broker and
 * registry: every input gets its answer printed in input order with the version that produced it,
 * an input the model cannot read is answered with its reason (exit 1), bad input is refused before
 * anything is sent (exit 2), and without a consumer the command says that no answer came (exit 1).
 */
class PredictCommandIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(1);

  private static final String TASK = "predict-it";

  @Test
  void predictsPrintsTheVersionAndReportsErrorsAndMissingAnswers(@TempDir Path tmp) throws Exception {
    LocalPipeline pipeline = LocalPipeline.on(stack.bootstrapServers(), stack.registryUrl())
        .set(InferenceConfig.ADAPTER_ID, TASK).set(InferenceConfig.CONSUMER_ID, "predict-consumer")
        .set(InferenceConfig.APPLICATION_ID, "predict-it-inference")
        .set(InferenceConfig.STATE_DIR, tmp.resolve("state").toString()).build().createTopics();
    ModelSpec spec = ModelSpec.mlp(3, List.of(5), 2, 7);
    Path file = tmp.resolve("requests.jsonl");
    Files.writeString(file, "{\"id\": \"from-file\", \"features\": [0.5, -1, 2]}\n\n{\"features\": [1, 2]}\n");
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        InferenceService consumer = InferenceService.start(InferenceConfig.from(pipeline.config()), pipeline.common(),
            pipeline.serdes(), base)) {
      StringWriter out = new StringWriter();
      int code = run(out, "predict", "--adapter", TASK, "--features", "1,0,-1", "--file", file.toString());
      String printed = out.toString();
      assertThat(code).as(printed).isEqualTo(1); // the second file line has 2 features for a 3-feature model
      List<String> lines = printed.lines().toList();
      assertThat(lines).hasSize(4);
      float[] p = MergedModel.ofBase(base).predictProba(new float[] {1, 0, -1});
      assertThat(lines.get(0)).matches("predict-[0-9a-f]{8}-0  " + TASK + " v0 \\(predict-consumer\\)  class \\d  .*")
          .contains(String.format(Locale.ROOT, "p=[%.4f, %.4f]", p[0], p[1]));
      assertThat(lines.get(1)).startsWith("from-file  " + TASK + " v0 (predict-consumer)  class ");
      assertThat(lines.get(2)).contains("error WRONG_FEATURE_SIZE");
      assertThat(lines.get(3)).isEqualTo("2 of 3 predicted; 1 with an error or no answer");

      StringWriter ok = new StringWriter();
      assertThat(run(ok, "predict", "--adapter", TASK, "--features", "0,0,0")).as(ok.toString()).isZero();
      assertThat(ok.toString()).contains("1 of 1 predicted");
    }
    StringWriter bad = new StringWriter();
    assertThat(run(bad, "predict", "--adapter", TASK, "--features", "1,x,3")).isEqualTo(2);
    assertThat(bad.toString()).contains("--features 1,x,3: 'x' is not a number");
    StringWriter none = new StringWriter();
    assertThat(run(none, "predict", "--adapter", TASK)).isEqualTo(2);
    assertThat(none.toString()).contains("nothing to send");

    StringWriter silent = new StringWriter();
    assertThat(run(silent, "predict", "--adapter", TASK, "--features", "1,2,3", "--timeout", "PT2S")).isEqualTo(1);
    assertThat(silent.toString()).contains("no answer within 2 s").contains("0 of 1 predicted");
  }

  private static int run(StringWriter out, String... args) {
    picocli.CommandLine cl = Main.commandLine();
    PrintWriter w = new PrintWriter(out, true);
    cl.setOut(w);
    cl.setErr(w);
    String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(args),
        java.util.stream.Stream.of("--bootstrap", stack.bootstrapServers(), "--registry", stack.registryUrl()))
        .toArray(String[]::new);
    return cl.execute(all);
  }
}
