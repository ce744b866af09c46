package io.lorastream.experiment;

import java.util.List;
import java.util.Map;

/**
 * What one variant achieved on the stream. Accuracy and F1 are prequential (each example scored
 * before the model trained on it). Trainable parameters are counted at the end of the run (the
 * final rank for progressive variants); snapshot bytes are the size of the last adapter snapshot
 * record the trainer committed (0 for variants that publish none). Balanced accuracy and kappa sit
 * beside accuracy because the stream is imbalanced; the majority rate is the label mix's (the same
 * for every variant). {@code outcomes} holds one character per scored example, {@code 1} for a
 * correct prediction, in stream order: what paired tests between variants need. Cost over the
 * stream: {@code snapshotBytesTotal} is every committed snapshot's record bytes summed, and
 * {@code flops} the {@link Flops} estimate times the examples scored.
 */
public record VariantResult(
    String name,
    Variant.Kind kind,
    String schedule,
    double lr,
    long examples,
    double accuracy,
    double lastWindowAccuracy,
    double f1,
    double lastWindowF1,
    long trainableParameters,
    double trainablePercent,
    long snapshotBytes,
    long snapshotsPublished,
    long versionsApplied,
    double examplesPerSecond,
    double wallSeconds,
    Map<String, Integer> finalRanks,
    List<PrequentialScore.Window> windows,
    List<RankPoint> ranks,
    double balancedAccuracy,
    double kappa,
    double majorityRate,
    String outcomes,
    long snapshotBytesTotal,
    double flops) {

  /** Whether this LoRA variant's rank schedule can change the rank. */
  public boolean progressive() {
    return kind == Variant.Kind.LORA && Variant.isProgressive(schedule);
  }

  /**
   * Share of the frozen-to-full-fine-tuning accuracy gap this variant recovers: 0 at the frozen
   * base, 1 at full fine-tuning (NaN when the gap is empty).
   */
  public double gapRecovered(double frozenAccuracy, double fullAccuracy) {
    double gap = fullAccuracy - frozenAccuracy;
    return Math.abs(gap) < 1e-12 ? Double.NaN : (accuracy - frozenAccuracy) / gap;
  }

  /** The adapter's largest rank from example {@code examples} on. */
  public record RankPoint(long examples, int rank) {}

  public VariantResult {
    finalRanks = Map.copyOf(finalRanks);
    windows = List.copyOf(windows);
    ranks = List.copyOf(ranks);
  }
}
