package io.lorastream.experiment;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Checks LoRA's two headline promises against one run, and says plainly where they do not hold:
 * (1) LoRA reaches at least 95% of full fine-tuning's accuracy; (2) at r=4 the adapter has more
 * than 99% fewer trainable parameters than the large layers it adapts. A third check compares the
 * progressive schedules with fixed r=16 (as good, for fewer parameters on average). Each claim is a
 * measured number, the threshold, and a verdict; nothing is inferred that the run did not measure.
 */
public final class Claims {
  /** The threshold of the accuracy claim: LoRA / full fine-tuning. */
  public static final double ACCURACY_RATIO = 0.95;
  /** The threshold of the parameter claim at r=4. */
  public static final double REDUCTION = 0.99;

  /** One checked statement. {@code holds} is null when the run lacks the variants to check it. */
  public record Claim(String id, String statement, Double measured, Double threshold, Boolean holds, String detail) {}

  private Claims() {
  }

  public static List<Claim> check(ExperimentResult r) {
    List<Claim> out = new ArrayList<>();
    VariantResult full = r.variant("full-ft").orElse(null);
    for (VariantResult v : r.variants()) {
      if (v.kind() != Variant.Kind.LORA) {
        continue;
      }
      if (full == null || !(full.accuracy() > 0)) {
        out.add(new Claim("accuracy-ratio/" + v.name(), "LoRA accuracy >= 95% of full fine-tuning", null,
            ACCURACY_RATIO, null, "full-ft did not run"));
        continue;
      }
      double ratio = v.accuracy() / full.accuracy();
      double lastRatio = v.lastWindowAccuracy() / full.lastWindowAccuracy();
      out.add(new Claim("accuracy-ratio/" + v.name(), v.name() + " prequential accuracy / full-ft", ratio,
          ACCURACY_RATIO, ratio >= ACCURACY_RATIO, String.format(Locale.ROOT,
              "%.4f / %.4f = %.3f; last window %.4f / %.4f = %.3f", v.accuracy(), full.accuracy(), ratio,
              v.lastWindowAccuracy(), full.lastWindowAccuracy(), lastRatio)));
    }
    out.add(parameterReduction(r));
    VariantResult fixed16 = r.variant("lora-r16").orElse(null);
    for (String p : List.of("progressive-steps", "progressive-plateau")) {
      VariantResult v = r.variant(p).orElse(null);
      if (v == null || fixed16 == null) {
        continue;
      }
      double ratio = v.accuracy() / fixed16.accuracy();
      double meanRank = meanRank(v);
      out.add(new Claim("progressive/" + p, p + " accuracy / lora-r16 accuracy", ratio, ACCURACY_RATIO,
          ratio >= ACCURACY_RATIO, String.format(Locale.ROOT,
              "%.4f vs %.4f (ratio %.3f); mean rank over the stream %.1f vs 16, final ranks %s, %.0f vs %.0f examples/s",
              v.accuracy(), fixed16.accuracy(), ratio, meanRank, v.finalRanks().values().stream().distinct().toList(),
              v.examplesPerSecond(), fixed16.examplesPerSecond())));
    }
    return out;
  }

  /** Rank averaged over the examples streamed (a step function of examples). */
  static double meanRank(VariantResult v) {
    List<VariantResult.RankPoint> pts = v.ranks();
    if (pts.isEmpty() || v.examples() == 0) {
      return Double.NaN;
    }
    double area = 0;
    for (int i = 0; i < pts.size(); i++) {
      long from = pts.get(i).examples();
      long to = i + 1 < pts.size() ? pts.get(i + 1).examples() : v.examples();
      area += (double) pts.get(i).rank() * Math.max(0, to - from);
    }
    return area / v.examples();
  }

  @SuppressWarnings("unchecked")
  private static Claim parameterReduction(ExperimentResult r) {
    // The adapted layers at r=4: the reduction is per layer 1 - r(in+out)/(in*out).
    VariantResult r4 = r.variant("lora-r4").orElse(null);
    List<Map<String, Object>> layers = (List<Map<String, Object>>) r.base().get("linearLayers");
    if (r4 == null || layers == null || r4.finalRanks().isEmpty()) {
      return new Claim("parameter-reduction/r4", "r=4 adapter has > 99% fewer trainable parameters than the layers it adapts",
          null, REDUCTION, null, "lora-r4 did not run");
    }
    long full = 0;
    long lora = 0;
    int widest = 0;
    StringBuilder per = new StringBuilder();
    for (Map<String, Object> l : layers) {
      String name = (String) l.get("name");
      Integer rank = r4.finalRanks().get(name);
      if (rank == null) {
        continue;
      }
      int in = ((Number) l.get("in")).intValue();
      int outDim = ((Number) l.get("out")).intValue();
      full += (long) in * outDim;
      lora += (long) rank * (in + outDim);
      widest = Math.max(widest, Math.min(in, outDim));
      if (per.length() < 300) {
        per.append(String.format(Locale.ROOT, "%s %dx%d: %.2f%%; ", name, outDim, in,
            100.0 * (1 - (double) rank * (in + outDim) / ((double) in * outDim))));
      }
    }
    double reduction = 1 - (double) lora / full;
    long baseParams = ((Number) r.base().get("parameters")).longValue();
    double wholeModel = 1 - (double) lora / baseParams;
    // For square d x d layers 1 - 2r/d > 0.99 needs d > 200 r, i.e. d > 800 at r=4.
    String detail = String.format(Locale.ROOT,
        "adapted weights %,d vs r=4 adapter %,d: %.2f%% fewer (%s); vs the whole base (%,d parameters) %.3f%% fewer. "
            + "For a d x d layer the reduction is 1 - 2r/d, above 99%% only for d > %d at r=4; the widest adapted layer "
            + "here is %d wide, so the per-layer claim %s on this model.",
        full, lora, 100 * reduction, per.toString().trim(), baseParams, 100 * wholeModel, 200 * 4, widest,
        reduction > REDUCTION ? "holds" : "does not hold");
    return new Claim("parameter-reduction/r4", "r=4 adapter has > 99% fewer trainable parameters than the layers it adapts",
        reduction, REDUCTION, reduction > REDUCTION, detail);
  }
}
