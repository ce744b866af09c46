package io.lorastream.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.localstack.LocalCluster;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.peft.PeftFixture;
import io.lorastream.lora.text.TestTokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CI smoke test of the experiment harness on tiny slices, on a real embedded broker and registry:
 * every variant runs through ingest, the trainer and an inference consumer, and the report, the
 * results and the charts have the documented structure. It asserts structure and bookkeeping
 * (every streamed example scored by every variant, every LoRA snapshot swapped in), never accuracy.
 */
class ExperimentIT {
  private static final List<String> VARIANTS = List.of("frozen", "full-ft", "perceptron", "logreg-adagrad", "lora-r2",
      "lora-r4", "lora-r8", "lora-r16", "progressive-steps", "progressive-plateau", "lora-r4-matched", "lora-r8-matched",
      "lora-r16-matched", "progressive-steps-matched");
  private static LocalCluster cluster;

  @BeforeAll
  static void start() {
    cluster = LocalCluster.builder().partitions(1).build().start();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  static ExperimentSettings tiny(Path out, int window) {
    return new ExperimentSettings(out, 7, "cpu", 8, 1, 0.01, 0.001, 16f, List.of(), 5, window, 3, 0.01, 2, 5e-3, 16,
        "all");
  }

  @Test
  void driftHarnessRunsEveryVariantAndWritesTheReport(@TempDir Path dir) throws Exception {
    ExperimentSettings s = tiny(dir.resolve("drift"), 60);
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    List<Integer> partialSizes = new ArrayList<>();
    ExperimentResult r = new ExperimentRunner(new DriftWorkload(7, 240, 200), s, cluster.bootstrapServers(),
        cluster.registryUrl(), new PrintStream(console, true, StandardCharsets.UTF_8))
        .onVariantDone((partial, total) -> {
          assertThat(total).isEqualTo(VARIANTS.size());
          partialSizes.add(partial.variants().size());
        })
        .run();
    assertThat(partialSizes).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
    ExperimentReport.write(r, s.out(), "test drift");
    assertStructure(r, s.out(), 240);
    assertThat(console.toString(StandardCharsets.UTF_8)).contains("[drift] pretraining", "[drift] ingest:",
        "[drift] progressive-plateau:");
  }

  @Test
  void spamHarnessRunsTheTransformerOnATinyCorpusSlice(@TempDir Path dir) throws Exception {
    Path pkg = SyntheticSpamPackage.write(dir.resolve("package"), 90, 11);
    SpamWorkload w = SpamWorkload.load(SpamWorkload.Options.of(pkg, "transformer", 64, 16, 8, 2, 1, 16, 0.3, 0),
        7, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    assertThat(w.pretrain()).hasSize(27);
    ExperimentSettings s = tiny(dir.resolve("spam"), 20);
    ExperimentResult r = new ExperimentRunner(w, s, cluster.bootstrapServers(), cluster.registryUrl(),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run();
    ExperimentReport.write(r, s.out(), "test spam");
    assertStructure(r, s.out(), w.stream().size());
    assertThat(Files.readString(s.out().resolve(ExperimentReport.REPORT_MD))).contains("F1 (spam)");
  }

  /**
   * {@code --model minilm} on a Hugging Face folder: a tiny random BERT with the real MiniLM
   * tokenizer stands in for the 90 MB model, which CI does not fetch. The encoder stays frozen, only
   * the head is fitted on the pretraining period, emails are read through the WordPiece tokenizer,
   * and the LoRA variant trains Q/V of the imported encoder through the real trainer.
   */
  @Test
  void spamHarnessRunsAPretrainedEncoderWithAFittedHead(@TempDir Path dir) throws Exception {
    Path pkg = SyntheticSpamPackage.write(dir.resolve("package"), 90, 12);
    Path model = dir.resolve("tiny-bert");
    ModelSpec spec = ModelSpec.bert(TestTokenizers.BERT_VOCAB, 32, 16, 2, 1, 32, 2, ModelSpec.POOL_MEAN, 5);
    try (BaseModel random = BaseModel.create(spec, ai.djl.Device.cpu())) {
      PeftFixture.writeBase(model, random);
    }
    Files.write(model.resolve("tokenizer.json"), TestTokenizers.miniLm());
    SpamWorkload.Options o = SpamWorkload.Options.of(pkg, "minilm", 0, 32, 0, 0, 0, 0, 0.3, 0);
    o.minilmDir = model;
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(console, true, StandardCharsets.UTF_8);
    SpamWorkload w = SpamWorkload.load(o, 7, ps);
    assertThat(w.ingestInputSize()).isEqualTo(TestTokenizers.BERT_VOCAB);
    assertThat(w.pretrain()).hasSize(27);
    assertThat(w.pretrain().get(0).features()[0]).as("[CLS] first").isEqualTo(101f);
    assertThat(w.stream().get(0).getTokens()).contains(102); // [SEP]
    ExperimentSettings s = new ExperimentSettings(dir.resolve("spam-minilm"), 7, "cpu", 4, 1, 0.01, 0.001, 16f,
        List.of("emb", "*.q", "*.v"), 2, 20, 5, 0.01, 1, 1e-3, 16, "frozen,lora-r4");
    ExperimentResult r = new ExperimentRunner(w, s, cluster.bootstrapServers(), cluster.registryUrl(), ps).run();
    ExperimentReport.write(r, s.out(), "test spam minilm");
    assertThat(r.variants()).extracting(VariantResult::name).containsExactly("frozen", "lora-r4");
    assertThat(r.variants()).allSatisfy(v -> assertThat(v.examples()).isEqualTo(w.stream().size()));
    assertThat(r.base()).containsEntry("pretrained", "tiny-bert").containsEntry("kind", "bert");
    VariantResult lora = r.variant("lora-r4").orElseThrow();
    assertThat(lora.finalRanks()).containsOnlyKeys("emb", "l0.q", "l0.v");
    // the embedding table's adapter counts too: A (4, vocab) and B (d, 4), beside Q and V
    assertThat(lora.trainableParameters()).isEqualTo(4L * (TestTokenizers.BERT_VOCAB + 16) + 2 * 4L * (16 + 16));
    assertThat(lora.versionsApplied()).isGreaterThan(0);
    try (BaseModel saved = BaseModel.load(s.out().resolve("base.lsbase"), ai.djl.Device.cpu())) {
      for (String name : random(spec).keySet()) {
        if (!name.startsWith("head.")) {
          assertThat(saved.parameter(name)).as("frozen encoder tensor " + name).containsExactly(random(spec).get(name));
        }
      }
      assertThat(saved.tokenizerJson()).isPresent();
    }
    assertThat(Files.readString(s.out().resolve(ExperimentReport.REPORT_MD)))
        .contains("the pretrained encoder tiny-bert, frozen, with only its classification head fitted", "ms/example");
    assertThat(console.toString(StandardCharsets.UTF_8)).contains("[minilm] imported tiny-bert",
        "head fitted on", "[spam] lora-r4:");
  }

  private static java.util.Map<String, float[]> random(ModelSpec spec) {
    java.util.Map<String, float[]> out = new java.util.LinkedHashMap<>();
    try (BaseModel b = BaseModel.create(spec, ai.djl.Device.cpu())) {
      b.parameterNames().forEach(n -> out.put(n, b.parameter(n)));
    }
    return out;
  }

  @Test
  void hyperplaneHarnessRunsTheMoaStreamWithTheLinearBaselines(@TempDir Path dir) throws Exception {
    HyperplaneWorkload w = new HyperplaneWorkload(
        io.lorastream.lora.data.RotatingHyperplaneStream.Config.drifting(700, 3), 300);
    assertThat(w.pretrain()).hasSize(300);
    assertThat(w.stream()).hasSize(400);
    ExperimentSettings s = new ExperimentSettings(dir.resolve("hyperplane"), 7, "cpu", 8, 1, 0.01, 0.001, 16f,
        List.of(), 5, 100, 3, 0.01, 2, 5e-3, 64, "frozen,full-ft,logreg-adagrad,lora-r4");
    ExperimentResult r = new ExperimentRunner(w, s, cluster.bootstrapServers(), cluster.registryUrl(),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run();
    ExperimentReport.write(r, s.out(), "test hyperplane");
    assertThat(r.variants()).extracting(VariantResult::name).containsExactly("frozen", "full-ft", "logreg-adagrad",
        "lora-r4");
    assertThat(r.variants()).allSatisfy(v -> assertThat(v.examples()).isEqualTo(400));
    // a linear concept with 5 % label noise: the tuned online logistic regression must beat chance clearly
    assertThat(r.variant("logreg-adagrad").orElseThrow().accuracy()).isGreaterThan(0.7);
    String md = Files.readString(s.out().resolve(ExperimentReport.REPORT_MD));
    assertThat(md).contains("rotating hyperplane as MOA's HyperplaneGenerator", "| LoRA vs full fine-tuning |",
        "| LoRA vs online linear baseline |", "## Tuning on the pretraining period");
  }

  @Test
  void seedsRepeatTheWholeRunAndSummarizeMeanAndSpread(@TempDir Path dir) throws Exception {
    int exit = new picocli.CommandLine(new ExperimentCommand()).execute("drift", "--seeds", "2", "--variants",
        "frozen,logreg-adagrad,lora-r2", "--stream-examples", "250", "--pretrain-examples", "200", "--window", "50",
        "--pretrain-epochs", "1", "--out", dir.toString(), "--bootstrap", cluster.bootstrapServers(), "--registry",
        cluster.registryUrl());
    assertThat(exit).isZero();
    for (String seed : List.of("seed-42", "seed-43")) {
      assertThat(dir.resolve(seed).resolve(ExperimentReport.REPORT_MD)).isRegularFile();
    }
    String md = Files.readString(dir.resolve(ExperimentReport.REPORT_MD));
    assertThat(md).contains("over 2 seeds", "Seeds: [42, 43]", "| logreg-adagrad | ", " ± ",
        "| LoRA vs online linear baseline | lora-r2 - logreg-adagrad |").doesNotContain("partial");
    assertThat(Files.readString(dir.resolve("seed-43").resolve(ExperimentReport.REPORT_MD))).contains("[seed 43]");
  }

  private static void assertStructure(ExperimentResult r, Path out, long streamed) throws Exception {
    // tuned on the pretraining period: 7 fixed-rank LoRA variants and full fine-tuning at 3 rates, 2 linear baselines
    PretrainingTuner.Result t = r.tuning();
    assertThat(t).isNotNull();
    assertThat(t.trials()).hasSize(7 * 3 + 3 + 2);
    assertThat(r.settings().loraLr()).isEqualTo(t.loraLr());
    assertThat(r.settings().fullLr()).isEqualTo(t.fullLr());
    assertThat(r.variant(t.lora()).orElseThrow().progressive()).isFalse();
    assertThat(t.fixedByFamily()).containsOnlyKeys(PretrainingTuner.FIXED_ALPHA, PretrainingTuner.MATCHED);
    assertThat(t.linear()).isIn("perceptron", "logreg-adagrad");
    assertThat(r.variant("lora-r4").orElseThrow().lr()).isEqualTo(t.loraLr());
    assertThat(r.produced()).isEqualTo(streamed);
    assertThat(r.trained()).isEqualTo(streamed);
    assertThat(r.variants()).extracting(VariantResult::name).containsExactlyElementsOf(VARIANTS);
    for (VariantResult v : r.variants()) {
      assertThat(v.examples()).as(v.name() + " scored every streamed example").isEqualTo(streamed);
      assertThat(v.accuracy()).isBetween(0.0, 1.0);
      assertThat(v.windows()).isNotEmpty();
      assertThat(v.flops()).as(v.name() + " estimated work").isGreaterThan(0);
      if (v.kind() == Variant.Kind.LORA) {
        assertThat(v.snapshotsPublished()).as(v.name() + " published").isGreaterThan(0);
        assertThat(v.versionsApplied()).as(v.name() + " swapped in by its consumer").isGreaterThan(0);
        assertThat(v.snapshotBytes()).isGreaterThan(0);
        assertThat(v.snapshotBytesTotal()).isGreaterThanOrEqualTo(v.snapshotBytes());
        assertThat(v.trainableParameters()).isGreaterThan(0);
        assertThat(v.finalRanks()).isNotEmpty();
      }
    }
    assertThat(r.variant("frozen").orElseThrow().trainableParameters()).isZero();
    for (String linear : List.of("perceptron", "logreg-adagrad")) {
      VariantResult v = r.variant(linear).orElseThrow();
      assertThat(v.kind()).isEqualTo(Variant.Kind.LINEAR);
      assertThat(v.trainableParameters()).as(linear + " weights").isGreaterThan(0);
      assertThat(v.outcomes()).hasSize((int) streamed);
    }
    assertThat(r.variant("logreg-adagrad").orElseThrow().lr()).isIn(0.01, 0.03, 0.1, 0.3, 1.0);
    assertThat(r.variant("full-ft").orElseThrow().trainablePercent()).isEqualTo(100.0);
    assertThat(r.variant("lora-r16").orElseThrow().finalRanks().values()).containsOnly(16);
    assertThat(r.variant("lora-r2").orElseThrow().finalRanks().values()).containsOnly(2);
    assertThat(r.variant("lora-r16-matched").orElseThrow().finalRanks().values()).containsOnly(16);
    assertThat(r.variant("progressive-steps-matched").orElseThrow().finalRanks().values()).containsOnly(16);

    JsonNode json = new ObjectMapper().readTree(out.resolve(ExperimentReport.RESULTS_JSON).toFile());
    assertThat(json.get("variants")).hasSize(VARIANTS.size());
    for (JsonNode v : json.get("variants")) {
      for (String field : List.of("accuracy", "lastWindowAccuracy", "f1", "trainableParameters", "trainablePercent",
          "snapshotBytes", "examplesPerSecond", "wallSeconds")) {
        assertThat(v.has(field)).as(v.get("name") + "." + field).isTrue();
      }
    }
    assertThat(json.get("claims").findValuesAsText("id")).contains("parameter-reduction/r4",
        "accuracy-ratio/lora-r4", "progressive/progressive-steps");

    String md = Files.readString(out.resolve(ExperimentReport.REPORT_MD));
    for (String v : VARIANTS) {
      assertThat(md).contains("| " + v + " |");
    }
    assertThat(md).contains("## Claims", "![accuracy.png](accuracy.png)", "![rank.png](rank.png)");
    assertThat(md).contains("### Beyond accuracy", "Majority-class rate", "### Paired comparisons",
        "| LoRA vs full fine-tuning |", "| LoRA vs online linear baseline |",
        "| progressive-steps vs fixed rank |", "| progressive-steps-matched vs fixed rank at the same scale |",
        "## Tuning on the pretraining period", "chosen on the pretraining period", "### Cost over the stream",
        "### Rank at a fixed alpha and at a matched scale");
    assertThat(json.get("comparisons")).hasSize(5);
    assertThat(json.get("tuning").get("trials")).hasSize(7 * 3 + 3 + 2);
    for (String png : List.of(ExperimentCharts.ACCURACY_PNG, ExperimentCharts.RANK_PNG)) {
      BufferedImage img = ImageIO.read(out.resolve(png).toFile());
      assertThat(img).as(png).isNotNull();
      assertThat(img.getWidth()).isGreaterThan(100);
    }
  }

  /** Writes a package-shaped directory of synthetic emails (never committed data). */
  static final class SyntheticSpamPackage {
    static Path write(Path pkg, int emails, long seed) throws Exception {
      Random rnd = new Random(seed);
      String[] hamWords = {"meeting", "linux", "kernel", "patch", "thanks", "list", "build", "release", "team"};
      String[] spamWords = {"free", "money", "offer", "click", "winner", "viagra", "cash", "deal", "now"};
      List<String> files = new ArrayList<>();
      Instant t = Instant.parse("2002-01-01T00:00:00Z");
      for (int i = 0; i < emails; i++) {
        boolean spam = rnd.nextInt(3) == 0;
        String group = spam ? "spam-1" : "easy-ham-1";
        String id = String.format(Locale.ROOT, "%05d", i + 1);
        String name = id + ".abc" + i;
        t = t.plusSeconds(3600 + rnd.nextInt(7200));
        String date = java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME.format(t.atZone(java.time.ZoneOffset.UTC));
        String[] words = spam ? spamWords : hamWords;
        StringBuilder body = new StringBuilder();
        for (int k = 0; k < 20 + rnd.nextInt(20); k++) {
          body.append(words[rnd.nextInt(words.length)]).append(' ');
        }
        String text = "From someone@example.com  Mon Jan  1 00:00:00 2002\nReturn-Path: <someone@example.com>\n"
            + "Date: " + date + "\nSubject: " + words[rnd.nextInt(words.length)] + " " + words[rnd.nextInt(words.length)]
            + "\n\n" + body + "\n";
        Files.createDirectories(pkg.resolve("data").resolve(group));
        new ObjectMapper().writeValue(pkg.resolve("data").resolve(group).resolve(name + ".json").toFile(),
            java.util.Map.of("id", id, "group", group, "checksum", java.util.Map.of("type", "MD5", "value", "0"),
                "text", text));
        files.add(group + "/" + name + ".txt");
      }
      new ObjectMapper().writeValue(pkg.resolve("data").resolve("file_list.json").toFile(), files);
      return pkg;
    }
  }
}
