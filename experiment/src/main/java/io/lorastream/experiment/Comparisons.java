package io.lorastream.experiment;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The paired comparisons the report's claims rest on, each as a difference in prequential accuracy
 * with a block-bootstrap 95 % interval (blocks = the report's windows) and McNemar's test: LoRA
 * against full fine-tuning, LoRA against the online linear baseline, and each progressive schedule
 * against the fixed rank of its scale family (the run's alpha, or the matched scale of the
 * {@code -matched} variants). Which LoRA variant, linear baseline and fixed rank stand in is decided
 * on the pretraining period when the run was tuned ({@link PretrainingTuner}); otherwise the best
 * on the stream stands in, and the table says that this selection looked at the evaluation data.
 * A comparison whose variants did not run, or did not score the same examples, is left out.
 */
final class Comparisons {
  /** Bootstrap draws per interval. */
  static final int RESAMPLES = 2000;
  static final String ON_PRETRAINING = "chosen on the pretraining period";
  static final String ON_STREAM = "best on the stream (selected on the evaluation data)";

  private Comparisons() {
  }

  /** One comparison: A minus B. */
  record Comparison(String question, String a, String b, String picked, double difference, double low, double high,
      int blocks, int onlyA, int onlyB, double pValue) {}

  static List<Comparison> of(ExperimentResult r) {
    List<VariantResult> v = r.variants();
    PretrainingTuner.Result t = r.tuning();
    String picked = t != null ? ON_PRETRAINING : ON_STREAM;
    Optional<VariantResult> lora = t != null ? named(r, t.lora())
        : best(v, x -> x.kind() == Variant.Kind.LORA && !x.progressive());
    Optional<VariantResult> linear = t != null ? named(r, t.linear()) : best(v, x -> x.kind() == Variant.Kind.LINEAR);
    Optional<VariantResult> full = v.stream().filter(x -> x.kind() == Variant.Kind.FULL).findFirst();
    List<Comparison> out = new ArrayList<>();
    int window = r.settings().window();
    if (lora.isPresent() && full.isPresent()) {
      add(out, "LoRA vs full fine-tuning", lora.get(), full.get(), picked, window);
    }
    if (lora.isPresent() && linear.isPresent()) {
      add(out, "LoRA vs online linear baseline", lora.get(), linear.get(), picked, window);
    }
    for (VariantResult p : v) {
      if (p.kind() != Variant.Kind.LORA || !p.progressive()) {
        continue;
      }
      boolean m = p.name().endsWith(Variant.MATCHED);
      Optional<VariantResult> against = t != null ? t.fixedFor(p.name()).flatMap(n -> named(r, n))
          : best(v, x -> x.kind() == Variant.Kind.LORA && !x.progressive()
              && (m ? Variant.matched(x.name()) : !x.name().endsWith(Variant.MATCHED)));
      if (against.isPresent()) {
        add(out, p.name() + " vs fixed rank" + (m ? " at the same scale" : ""), p, against.get(), picked, window);
      }
    }
    return out;
  }

  private static Optional<VariantResult> named(ExperimentResult r, String name) {
    return name == null ? Optional.empty() : r.variant(name);
  }

  private static Optional<VariantResult> best(List<VariantResult> v, java.util.function.Predicate<VariantResult> which) {
    return v.stream().filter(which).max(Comparator.comparingDouble(VariantResult::accuracy));
  }

  private static void add(List<Comparison> out, String question, VariantResult a, VariantResult b, String picked,
      int window) {
    if (a.outcomes().isEmpty() || a.outcomes().length() != b.outcomes().length()) {
      return;
    }
    PairedStats.Interval ci = PairedStats.blockBootstrap(a.outcomes(), b.outcomes(), window, RESAMPLES, 17);
    PairedStats.McNemar m = PairedStats.mcNemar(a.outcomes(), b.outcomes());
    out.add(new Comparison(question, a.name(), b.name(), picked, ci.difference(), ci.low(), ci.high(), ci.blocks(),
        m.onlyA(), m.onlyB(), m.pValue()));
  }
}
