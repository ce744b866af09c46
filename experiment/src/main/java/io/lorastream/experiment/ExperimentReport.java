package io.lorastream.experiment;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Writes an experiment's {@code results.json} (every measured number, machine-readable),
 * {@code report.md} (the variant table, the claim checks, the charts and how scores were made) and
 * the PNG charts into one directory. Files are written to a temporary name and moved into place,
 * so a reader never sees half a report.
 */
public final class ExperimentReport {
  public static final String REPORT_MD = "report.md";
  public static final String RESULTS_JSON = "results.json";
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ExperimentReport() {
  }

  /** Writes everything for {@code r} into {@code dir}; {@code command} is the command line that produced it. */
  public static List<Path> write(ExperimentResult r, Path dir, String command) throws IOException {
    Files.createDirectories(dir);
    List<Claims.Claim> claims = Claims.check(r);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("generatedAt", Instant.now().toString());
    json.put("command", command);
    json.put("workload", r.workload());
    json.put("data", r.data());
    json.put("settings", r.settings());
    json.put("base", r.base());
    json.put("produced", r.produced());
    json.put("trained", r.trained());
    json.put("wallSeconds", r.wallSeconds());
    json.put("variants", r.variants());
    json.put("claims", claims);
    json.put("tuning", r.tuning());
    List<Comparisons.Comparison> comparisons = Comparisons.of(r);
    json.put("comparisons", comparisons);
    atomicWrite(dir.resolve(RESULTS_JSON), JSON.writeValueAsString(json));
    ExperimentCharts.Charts drawn = ExperimentCharts.write(r, dir);
    List<Path> charts = drawn.files();
    atomicWrite(dir.resolve(REPORT_MD), markdown(r, claims, comparisons, command, drawn));
    List<Path> all = new java.util.ArrayList<>(charts);
    all.add(dir.resolve(RESULTS_JSON));
    all.add(dir.resolve(REPORT_MD));
    return all;
  }

  private static String tuningSection(ExperimentResult r) {
    PretrainingTuner.Result t = r.tuning();
    if (t == null) {
      return "## Settings\n\nNot tuned: the learning rates ran as given (`--no-tune`), and the paired comparisons pick "
          + "their variants by stream accuracy, which looks at the evaluation data.\n\n";
    }
    StringBuilder m = new StringBuilder("## Tuning on the pretraining period\n\n");
    m.append(String.format(Locale.ROOT, "A base was built from the first %,d examples of the pretraining period "
        + "(pretrained on them, or for a pretrained encoder its head fitted on them) and each candidate learned "
        + "test-then-train over the last %,d, as it would on the stream (%.0f s). Chosen: LoRA "
        + "learning rate %s (for every LoRA variant), full fine-tuning %s; LoRA variant %s; fixed rank per scale "
        + "family %s; linear baseline %s. Nothing was tuned on the stream.%n%n", t.fitExamples(), t.sliceExamples(),
        t.seconds(), fmt(t.loraLr()), fmt(t.fullLr()), t.lora() == null ? "-" : "`" + t.lora() + "`",
        t.fixedByFamily(), t.linear() == null ? "-" : "`" + t.linear() + "`"));
    m.append("| candidate | lr | slice accuracy |\n|---|---|---|\n");
    for (PretrainingTuner.Trial tr : t.trials()) {
      m.append(String.format(Locale.ROOT, "| %s | %s | %.4f |%n", tr.variant(), tr.lr() == 0 ? "-" : fmt(tr.lr()),
          tr.accuracy()));
    }
    m.append('\n');
    return m.toString();
  }

  /** Balanced accuracy, kappa and the share of the frozen-to-full gap each variant recovers. */
  private static String beyondAccuracy(ExperimentResult r) {
    StringBuilder m = new StringBuilder("### Beyond accuracy\n\n");
    Optional<VariantResult> frozen = r.variants().stream().filter(v -> v.kind() == Variant.Kind.FROZEN).findFirst();
    Optional<VariantResult> full = r.variants().stream().filter(v -> v.kind() == Variant.Kind.FULL).findFirst();
    double majority = r.variants().isEmpty() ? Double.NaN : r.variants().get(0).majorityRate();
    m.append(String.format(Locale.ROOT, "Majority-class rate of the stream: %.4f (the accuracy of always answering the "
        + "most frequent class).%n%n", majority));
    m.append("| variant | prequential acc | balanced acc | kappa | gap recovered |\n|---|---|---|---|---|\n");
    for (VariantResult v : r.variants()) {
      String gap = frozen.isPresent() && full.isPresent()
          ? String.format(Locale.ROOT, "%.2f", v.gapRecovered(frozen.get().accuracy(), full.get().accuracy())) : "-";
      m.append(String.format(Locale.ROOT, "| %s | %.4f | %.4f | %.4f | %s |%n", v.name(), v.accuracy(),
          v.balancedAccuracy(), v.kappa(), gap));
    }
    m.append("\nGap recovered = (accuracy - frozen) / (full fine-tuning - frozen): 0 is the frozen base, 1 is full "
        + "fine-tuning.\n\n");
    return m.toString();
  }

  private static String cost(ExperimentResult r) {
    StringBuilder m = new StringBuilder("### Cost over the stream\n\n");
    m.append("| variant | trainable params | snapshots | snapshot bytes published | GFLOP (estimate) | examples/s |\n");
    m.append("|---|---|---|---|---|---|\n");
    for (VariantResult v : r.variants()) {
      m.append(String.format(Locale.ROOT, "| %s | %,d | %d | %s | %,.1f | %.0f |%n", v.name(), v.trainableParameters(),
          v.snapshotsPublished(), v.snapshotBytesTotal() == 0 ? "-" : String.format(Locale.ROOT, "%,d",
              v.snapshotBytesTotal()), v.flops() / 1e9, v.examplesPerSecond()));
    }
    m.append("\nGFLOP: matrix products per example (2 per multiply-add, on the full token window), times the examples "
        + "scored: the frozen base one forward pass, full fine-tuning about three, LoRA about two plus three times its "
        + "adapters' products at the final rank, the linear baselines one weight row per class over the window. An "
        + "estimate from the shapes, not a measurement.\n\n");
    return m.toString();
  }

  /** Each rank at the run's alpha beside the same rank at lora-r2's scale, when the matched variants ran. */
  private static String matchedScale(ExperimentResult r) {
    List<String> rows = List.of("lora-r2", "lora-r4", "lora-r8", "lora-r16", "progressive-steps");
    if (rows.stream().noneMatch(n -> r.variant(n + Variant.MATCHED).isPresent())) {
      return "";
    }
    StringBuilder m = new StringBuilder("### Rank at a fixed alpha and at a matched scale\n\n");
    m.append(String.format(Locale.ROOT, "| rank | alpha %s (s = alpha/r) | matched: s = %s/2 at every rank |%n",
        fmt(r.settings().alpha()), fmt(r.settings().alpha())));
    m.append("|---|---|---|\n");
    for (String n : rows) {
      Optional<VariantResult> fixed = r.variant(n);
      Optional<VariantResult> matched = n.equals("lora-r2") ? fixed : r.variant(n + Variant.MATCHED);
      m.append("| ").append(n.replace("lora-", "")).append(" | ")
          .append(fixed.map(v -> String.format(Locale.ROOT, "%.4f", v.accuracy())).orElse("-")).append(" | ")
          .append(matched.map(v -> String.format(Locale.ROOT, "%.4f", v.accuracy())).orElse("-")).append(" |\n");
    }
    m.append("\nThe matched variants raise alpha with the rank (alpha x r/2; the progressive one raises it at each "
        + "growth, `trainer.rank.growth.keeps.scale`), so every rank takes updates of lora-r2's size: a rank "
        + "difference there is capacity, not step size.\n\n");
    return m.toString();
  }

  private static String comparisonsTable(List<Comparisons.Comparison> comparisons, int window) {
    if (comparisons.isEmpty()) {
      return "";
    }
    StringBuilder m = new StringBuilder("### Paired comparisons\n\n");
    m.append("| comparison | A | B | accuracy A - B | 95 % interval | only A right | only B right | McNemar p |\n");
    m.append("|---|---|---|---|---|---|---|---|\n");
    for (Comparisons.Comparison c : comparisons) {
      m.append(String.format(Locale.ROOT, "| %s | %s | %s | %+.4f | [%+.4f, %+.4f] | %d | %d | %.3g |%n", c.question(),
          c.a(), c.b(), c.difference(), c.low(), c.high(), c.onlyA(), c.onlyB(), c.pValue()));
    }
    m.append("\nA and B are the variants ").append(comparisons.get(0).picked()).append('.');
    m.append(String.format(Locale.ROOT, "%nIntervals: %d block-bootstrap draws over blocks of %d consecutive examples "
        + "(the windows), percentile method. McNemar: exact binomial below 50 discordant examples, else chi-square "
        + "with continuity correction. An interval that contains 0 does not tell the two apart.%n%n",
        Comparisons.RESAMPLES, window));
    return m.toString();
  }

  static String markdown(ExperimentResult r, List<Claims.Claim> claims, List<Comparisons.Comparison> comparisons,
      String command, ExperimentCharts.Charts drawn) {
    List<Path> charts = drawn.files();
    StringBuilder m = new StringBuilder();
    m.append("# Experiment `").append(r.workload()).append("`\n\n");
    m.append("Command: `").append(command).append("`  \n");
    m.append(String.format(Locale.ROOT, "Run time: %.0f s. Generated %s.%n%n", r.wallSeconds(), Instant.now()));

    m.append("## Data\n\n| | |\n|---|---|\n");
    r.data().forEach((k, v) -> m.append("| ").append(k).append(" | ").append(v).append(" |\n"));
    m.append(String.format(Locale.ROOT, "| produced to Kafka | %,d |%n| routed to training by ingest | %,d |%n%n",
        r.produced(), r.trained()));

    m.append("## Base model\n\n");
    Object pretrained = r.base().get("pretrained");
    String how = pretrained != null
        ? "the pretrained encoder " + pretrained + ", frozen, with only its classification head fitted"
        : "pretrained for " + r.settings().pretrainEpochs() + " epochs";
    m.append(String.format(Locale.ROOT,
        "%s, %,d parameters, %s on %s examples in %.1f s: train accuracy %.4f. Every method, the linear "
            + "baselines included, learns from the same pretraining period, all of it: none of it is held out.%n%n",
        r.base().get("spec"), ((Number) r.base().get("parameters")).longValue(), how,
        r.base().get("pretrainExamples"), ((Number) r.base().get("pretrainSeconds")).doubleValue(),
        ((Number) r.base().get("pretrainTrainAccuracy")).doubleValue()));

    m.append(tuningSection(r));
    m.append("## Results\n\n");
    String f1Name = r.data().containsKey("f1") ? String.valueOf(r.data().get("f1")) : "F1";
    m.append("| variant | schedule | lr | prequential acc | last-window acc | ").append(f1Name)
        .append(" | trainable params | % of base | snapshot bytes | snapshots | consumer swaps | examples/s | ms/example "
            + "| wall s |\n");
    m.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (VariantResult v : r.variants()) {
      m.append(String.format(Locale.ROOT, "| %s | %s | %s | %.4f | %.4f | %.4f | %,d | %.3f%% | %s | %d | %d | %.0f | %.1f "
              + "| %.1f |%n",
          v.name(), v.schedule().isEmpty() ? "-" : "`" + v.schedule() + "`", v.lr() == 0 ? "-" : fmt(v.lr()),
          v.accuracy(), v.lastWindowAccuracy(), v.f1(), v.trainableParameters(), v.trainablePercent(),
          v.snapshotBytes() == 0 ? "-" : String.format(Locale.ROOT, "%,d", v.snapshotBytes()), v.snapshotsPublished(),
          v.versionsApplied(), v.examplesPerSecond(), v.examplesPerSecond() > 0 ? 1000 / v.examplesPerSecond() : 0.0,
          v.wallSeconds()));
    }
    m.append(String.format(Locale.ROOT,
        "%nLast window = the final %d examples. Trainable parameters at the end of the run (final rank for progressive "
            + "variants); %% of base = of all %,d base parameters. Snapshot bytes = the last committed adapter snapshot "
            + "record. Examples/s = scored examples over the span from the first to the last micro-batch (no startup "
            + "or final publish), and ms/example its inverse: the cost of one example (score, then train) on this "
            + "run's device; wall s includes startup, restore and the final snapshot.%n%n",
        r.settings().window(), ((Number) r.base().get("parameters")).longValue()));
    for (Path c : charts) {
      m.append("![").append(c.getFileName()).append("](").append(c.getFileName()).append(")\n\n");
    }
    for (String why : drawn.skipped()) {
      m.append("Chart skipped: ").append(why).append("\n\n");
    }

    m.append(beyondAccuracy(r));
    m.append(cost(r));
    m.append(matchedScale(r));
    m.append(comparisonsTable(comparisons, r.settings().window()));

    m.append("## Claims\n\n| claim | measured | threshold | verdict | detail |\n|---|---|---|---|---|\n");
    for (Claims.Claim c : claims) {
      m.append("| ").append(c.statement()).append(" | ")
          .append(c.measured() == null ? "-" : String.format(Locale.ROOT, "%.4f", c.measured())).append(" | ")
          .append(c.threshold() == null ? "-" : String.format(Locale.ROOT, "%.2f", c.threshold())).append(" | ")
          .append(c.holds() == null ? "not checked" : c.holds() ? "**holds**" : "**does not hold**").append(" | ")
          .append(c.detail()).append(" |\n");
    }
    m.append('\n').append(verdictSummary(claims)).append("\n\n");

    m.append("## How this was measured\n\n");
    m.append((pretrained != null ? "The base encoder was pretrained elsewhere; only its head was fitted, on the "
        + "pretraining period only. " : "The base was pretrained on the pretraining period only. ")
        + "The stream was produced once to Kafka "
        + "(one partition, so order is kept), validated and routed by the real stream-app ingest (exactly-once, "
        + "Avro + schema registry), and every variant then read the same `examples.train` topic from offset 0. "
        + "LoRA variants ran the real trainer (transactional snapshots to their own compacted adapters topic) "
        + "while an inference consumer hot-swapped every snapshot (column 'consumer swaps'). The frozen base and "
        + "online full fine-tuning read the same topic with a plain consumer (they publish no adapter). "
        + "Scoring is prequential (test-then-train) for every variant: each micro-batch is classified by the "
        + "model that is about to train on it, before the update, so scores do not depend on machine speed. ");
    m.append(String.format(Locale.ROOT, "Micro-batch %d, %d micro-batch(es) per optimizer step, AdamW; LoRA lr %s, "
            + "alpha %s, targets %s, snapshot every %d steps; full fine-tuning lr %s, every base parameter trainable, its L2 term on the distance "
            + "from the pretrained weights; the L2 terms (LoRA's and full fine-tuning's) leave the token-embedding table "
            + "and its adapter out; seed %d.%n",
        r.settings().microBatch(), r.settings().accumulation(), fmt(r.settings().loraLr()), fmt(r.settings().alpha()),
        r.settings().targets().isEmpty() ? "model default" : String.join(",", r.settings().targets()),
        r.settings().publishSteps(), fmt(r.settings().fullLr()), r.settings().seed()));
    return m.toString();
  }

  private static String verdictSummary(List<Claims.Claim> claims) {
    StringBuilder s = new StringBuilder();
    long failed = claims.stream().filter(c -> Boolean.FALSE.equals(c.holds())).count();
    long checked = claims.stream().filter(c -> c.holds() != null).count();
    s.append(String.format(Locale.ROOT, "%d of %d checked claims hold on this data.", checked - failed, checked));
    for (Claims.Claim c : claims) {
      if (Boolean.FALSE.equals(c.holds())) {
        s.append(" Does not hold: ").append(c.statement()).append(String.format(Locale.ROOT, " (%.4f < %.2f).",
            c.measured(), c.threshold()));
      }
    }
    return s.toString();
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.6g", v).replaceAll("\\.?0+(e|$)", "$1");
  }

  static void atomicWrite(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
