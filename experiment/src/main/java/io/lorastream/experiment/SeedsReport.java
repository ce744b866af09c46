package io.lorastream.experiment;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The summary of one experiment repeated over several seeds ({@code --seeds N}): each seed is a
 * whole run (base pretraining, adapter initialization and, for synthetic workloads, the stream) with
 * its own report in {@code seed-<s>/}; this writes {@code report.md} and {@code results.json} beside
 * them with every variant's mean and standard deviation across seeds, and, for each paired
 * comparison, its difference per seed and in how many seeds the 95 % interval excludes zero.
 */
final class SeedsReport {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private SeedsReport() {
  }

  /** Mean and sample standard deviation (0 for one value). */
  record Spread(double mean, double sd, int n) {
    static Spread of(List<Double> values) {
      int n = values.size();
      double mean = values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
      double ss = values.stream().mapToDouble(v -> (v - mean) * (v - mean)).sum();
      return new Spread(mean, n > 1 ? Math.sqrt(ss / (n - 1)) : 0, n);
    }

    String text() {
      return String.format(Locale.ROOT, "%.4f ± %.4f", mean, sd);
    }
  }

  static List<Path> write(List<ExperimentResult> runs, List<Long> seeds, Path dir, String command) throws IOException {
    if (runs.isEmpty() || runs.size() != seeds.size()) {
      throw new IllegalArgumentException("one result per seed required");
    }
    List<String> names = runs.get(0).variants().stream().map(VariantResult::name).toList();
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("generatedAt", Instant.now().toString());
    json.put("command", command);
    json.put("workload", runs.get(0).workload());
    json.put("seeds", seeds);
    StringBuilder m = new StringBuilder();
    m.append("# Experiment `").append(runs.get(0).workload()).append("` over ").append(seeds.size()).append(" seeds\n\n");
    m.append("Command: `").append(command).append("`  \nSeeds: ").append(seeds)
        .append(" (each varies the base's pretraining and the adapters' initialization; per-seed reports in `seed-<s>/`)."
            + "\n\n## Variants (mean ± sd over seeds)\n\n");
    m.append("| variant | prequential acc | last-window acc | F1 | balanced acc | kappa | examples/s |\n");
    m.append("|---|---|---|---|---|---|---|\n");
    List<Map<String, Object>> variants = new ArrayList<>();
    for (String name : names) {
      List<VariantResult> vs = runs.stream().map(r -> r.variant(name).orElseThrow()).toList();
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("name", name);
      Spread acc = spread(vs, VariantResult::accuracy);
      Spread last = spread(vs, VariantResult::lastWindowAccuracy);
      Spread f1 = spread(vs, VariantResult::f1);
      Spread bal = spread(vs, VariantResult::balancedAccuracy);
      Spread kappa = spread(vs, VariantResult::kappa);
      Spread rate = spread(vs, VariantResult::examplesPerSecond);
      v.put("accuracy", acc);
      v.put("lastWindowAccuracy", last);
      v.put("f1", f1);
      v.put("balancedAccuracy", bal);
      v.put("kappa", kappa);
      v.put("examplesPerSecond", rate);
      variants.add(v);
      m.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %.0f |%n", name, acc.text(), last.text(),
          f1.text(), bal.text(), kappa.text(), rate.mean()));
    }
    json.put("variants", variants);

    Map<String, List<Comparisons.Comparison>> byQuestion = new LinkedHashMap<>();
    for (ExperimentResult r : runs) {
      for (Comparisons.Comparison c : Comparisons.of(r)) {
        byQuestion.computeIfAbsent(c.question(), k -> new ArrayList<>()).add(c);
      }
    }
    if (!byQuestion.isEmpty()) {
      m.append("\n## Paired comparisons across seeds\n\n");
      m.append("| comparison | pairs (per seed) | accuracy difference, mean ± sd | seeds whose 95 % interval excludes 0 |\n");
      m.append("|---|---|---|---|\n");
      List<Map<String, Object>> cs = new ArrayList<>();
      for (Map.Entry<String, List<Comparisons.Comparison>> e : byQuestion.entrySet()) {
        List<Comparisons.Comparison> l = e.getValue();
        Spread d = Spread.of(l.stream().map(Comparisons.Comparison::difference).toList());
        long above = l.stream().filter(c -> c.low() > 0).count();
        long below = l.stream().filter(c -> c.high() < 0).count();
        String pairs = String.join(", ", l.stream().map(c -> c.a() + " - " + c.b()).distinct().toList());
        m.append(String.format(Locale.ROOT, "| %s | %s | %+.4f ± %.4f | %d of %d (A better: %d, B better: %d) |%n",
            e.getKey(), pairs, d.mean(), d.sd(), above + below, l.size(), above, below));
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("question", e.getKey());
        c.put("difference", d);
        c.put("perSeed", l);
        cs.add(c);
      }
      json.put("comparisons", cs);
      m.append("\nEach seed picks its own variants for a comparison (").append(
          runs.get(0).tuning() != null ? "chosen on that seed's pretraining period" : "best on that seed's stream")
          .append("), so a row can pair different variants in different seeds.\n");
    }
    Path md = dir.resolve(ExperimentReport.REPORT_MD);
    Path js = dir.resolve(ExperimentReport.RESULTS_JSON);
    java.nio.file.Files.createDirectories(dir);
    ExperimentReport.atomicWrite(js, JSON.writeValueAsString(json));
    ExperimentReport.atomicWrite(md, m.toString());
    return List.of(js, md);
  }

  private static Spread spread(List<VariantResult> vs, ToDoubleFunction<VariantResult> f) {
    return Spread.of(vs.stream().map(v -> f.applyAsDouble(v)).toList());
  }
}
