package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void helpListsEveryService() {
    Run r = run("--help");
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("local", "demo", "pretrain", "trainer", "stream-app", "inference", "replay");
  }

  @Test
  void invalidTrainerSettingFailsAtStartupNamingKeyAndFix() {
    Run r = run("trainer", "--base", "nope.lsbase", "--set", "trainer.lr=-1");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("trainer.lr").contains("Fix:");
  }

  @Test
  void aMistypedSettingFailsAtStartupNamingTheNearestKey() {
    Run r = run("trainer", "--base", "nope.lsbase", "--set", "trainer.lrr=0.01");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("Unknown setting 'trainer.lrr'", "Did you mean 'trainer.lr'?");
    // Another service's key is no mistake: it fails on the missing base file instead, later.
    Run other = run("trainer", "--base", "/definitely/missing.lsbase", "--set", "inference.device=cpu");
    assertThat(other.err()).doesNotContain("Unknown setting").contains("trainer.base");
  }

  @Test
  void badBootstrapFailsAtStartupNamingKey() {
    Run r = run("replay", "--bootstrap", "not-a-host-port", "--examples", "1");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("kafka.bootstrap.servers");
  }

  @Test
  void missingBaseFileIsAClearConfigError() {
    Run r = run("trainer", "--base", "/definitely/missing.lsbase");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("trainer.base").contains("pretrain");
  }

  @Test
  void everyCommandAnswersVersionAndHelp() {
    for (String[] cmd : new String[][] {{}, {"trainer"}, {"inference"}, {"stream-app"}, {"replay"}, {"demo"},
        {"adapters", "delete"}, {"experiment", "spam"}, {"data", "spam"}, {"bench"}, {"topics"}, {"local"}}) {
      String[] v = java.util.Arrays.copyOf(cmd, cmd.length + 1);
      v[cmd.length] = "--version";
      Run r = run(v);
      assertThat(r.exit()).as(String.join(" ", v)).isZero();
      assertThat(r.out()).as(String.join(" ", v)).startsWith("lorastream ").doesNotContain("unknown");
      v[cmd.length] = "--help";
      assertThat(run(v).exit()).as(String.join(" ", v)).isZero();
    }
    // Where --version names an adapter version, --help is still there.
    for (String[] cmd : new String[][] {{"adapters", "show"}, {"adapters", "export"}, {"adapters", "promote"},
        {"adapters", "reject"}, {"adapters", "rollback"}, {"adapters", "canary"}}) {
      String[] h = java.util.Arrays.copyOf(cmd, cmd.length + 1);
      h[cmd.length] = "--help";
      Run r = run(h);
      assertThat(r.exit()).as(String.join(" ", h) + ": " + r.err()).isZero();
      assertThat(r.out()).as(String.join(" ", h)).startsWith("Usage: lorastream " + String.join(" ", cmd));
    }
  }

  @Test
  void unknownFlagIsRejectedWithUsage() {
    Run r = run("demo", "--no-such-flag");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("Unknown option");
  }
}
