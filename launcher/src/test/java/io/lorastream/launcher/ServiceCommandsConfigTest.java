package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Each service subcommand reads its whole configuration (its own keys with their defaults, and
 * metrics.*) at startup: a bad value of any of them stops it with exit 2 naming that key, and a
 * key left unset falls back to its default instead of being reported as missing.
 */
class ServiceCommandsConfigTest {
  @TempDir Path tmp;

  private record Run(int exit, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(new StringWriter()));
    cl.setErr(new PrintWriter(err));
    return new Run(cl.execute(args), err.toString());
  }

  private static final String[] BROKER = {"--bootstrap", "127.0.0.1:9", "--registry", "http://127.0.0.1:9"};

  private String[] args(String... rest) {
    String[] a = new String[BROKER.length + rest.length];
    System.arraycopy(rest, 0, a, 0, 1);
    System.arraycopy(BROKER, 0, a, 1, BROKER.length);
    System.arraycopy(rest, 1, a, 1 + BROKER.length, rest.length - 1);
    return a;
  }

  @Test
  void inferenceValidatesItsOwnKeysWithDefaults() throws Exception {
    Path base = Files.createFile(tmp.resolve("base.lsbase"));
    Run r = run(args("inference", "--base", base.toString(), "--adapter", "drift",
        "--set", "inference.fetch.max.wait.ms=9999"));
    assertThat(r.exit()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).contains("inference.fetch.max.wait.ms").doesNotContain("Missing required");
  }

  @Test
  void streamAppValidatesIngestKeysWithDefaults() {
    Run r = run(args("stream-app", "--set", "ingest.holdout.fraction=2"));
    assertThat(r.exit()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).contains("ingest.holdout.fraction").doesNotContain("Missing required");
  }

  @Test
  void everyServiceValidatesMetricsSettings() throws Exception {
    Path base = Files.createFile(tmp.resolve("b.lsbase"));
    for (String[] cmd : new String[][] {
        args("trainer", "--base", base.toString(), "--set", "metrics.port=70000"),
        args("stream-app", "--set", "metrics.port=70000"),
        args("inference", "--base", base.toString(), "--set", "metrics.port=70000")}) {
      Run r = run(cmd);
      assertThat(r.exit()).as(String.join(" ", cmd) + "\n" + r.err()).isEqualTo(2);
      assertThat(r.err()).contains("metrics.port");
    }
  }

  @Test
  void topicsJobReportsAnUnreachableBrokerWithinItsTimeout() {
    Run r = run(args("topics", "--timeout", "PT2S"));
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("127.0.0.1:9", "did not answer", "LORASTREAM_KAFKA_BOOTSTRAP_SERVERS");
  }
}
