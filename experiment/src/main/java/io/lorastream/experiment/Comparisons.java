package io.lorastream.experiment;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The paired comparisons the report's claims rest on, each as a difference in prequential accuracy
 * with a block-bootstrap 95 % interval (blocks = the report's windows) and McNemar's test: the best
 * LoRA variant against full fine-tuning, against the best online linear baseline, and each
 * progressive schedule against the best fixed rank of its scale family (the run's alpha, or the
 * matched scale of the {@code -matched} variants). A comparison whose variants did not run, or
 * did not score the same examples, is left out.
 */
final class Comparisons {
  /** Bootstrap draws per interval. */
  static final int RESAMPLES = 2000;

  private Comparisons() {
  }

  /** One comparison: A minus B. */
  record Comparison(String question, String a, String b, double difference, double low, double high, int blocks,
      int onlyA, int onlyB, double pValue) {}

  static List<Comparison> of(ExperimentResult r) {
    List<VariantResult> v = r.variants();
    Optional<VariantResult> bestLora = best(v, x -> x.kind() == Variant.Kind.LORA);
    // fixed ranks of each scale family: the run's alpha, or lora-r2's scale (Variant.MATCHED)
    Optional<VariantResult> bestFixed = best(v, x -> x.kind() == Variant.Kind.LORA && !x.progressive()
        && !x.name().endsWith(Variant.MATCHED));
    Optional<VariantResult> bestMatched = best(v, x -> x.kind() == Variant.Kind.LORA && !x.progressive()
        && Variant.matched(x.name()));
    Optional<VariantResult> bestLinear = best(v, x -> x.kind() == Variant.Kind.LINEAR);
    Optional<VariantResult> full = v.stream().filter(x -> x.kind() == Variant.Kind.FULL).findFirst();
    List<Comparison> out = new ArrayList<>();
    int window = r.settings().window();
    if (bestLora.isPresent() && full.isPresent()) {
      add(out, "best LoRA vs full fine-tuning", bestLora.get(), full.get(), window);
    }
    if (bestLora.isPresent() && bestLinear.isPresent()) {
      add(out, "best LoRA vs best online linear baseline", bestLora.get(), bestLinear.get(), window);
    }
    for (VariantResult p : v) {
      if (p.kind() != Variant.Kind.LORA || !p.progressive()) {
        continue;
      }
      boolean m = p.name().endsWith(Variant.MATCHED);
      Optional<VariantResult> against = m ? bestMatched : bestFixed;
      if (against.isPresent()) {
        add(out, p.name() + " vs best fixed rank" + (m ? " at the same scale" : ""), p, against.get(), window);
      }
    }
    return out;
  }

  private static Optional<VariantResult> best(List<VariantResult> v, java.util.function.Predicate<VariantResult> which) {
    return v.stream().filter(which).max(Comparator.comparingDouble(VariantResult::accuracy));
  }

  private static void add(List<Comparison> out, String question, VariantResult a, VariantResult b, int window) {
    if (a.outcomes().isEmpty() || a.outcomes().length() != b.outcomes().length()) {
      return;
    }
    PairedStats.Interval ci = PairedStats.blockBootstrap(a.outcomes(), b.outcomes(), window, RESAMPLES, 17);
    PairedStats.McNemar m = PairedStats.mcNemar(a.outcomes(), b.outcomes());
    out.add(new Comparison(question, a.name(), b.name(), ci.difference(), ci.low(), ci.high(), ci.blocks(), m.onlyA(),
        m.onlyB(), m.pValue()));
  }
}
