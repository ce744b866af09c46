package io.lorastream.experiment;

import java.util.List;
import java.util.Map;

/**
 * What one variant achieved on the stream. Accuracy and F1 are prequential (each example scored
 * before the model trained on it). Trainable parameters are counted at the end of the run (the
 * final rank for progressive variants); snapshot bytes are the size of the last adapter snapshot
 * record the trainer committed (0 for variants that publish none).
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
    List<RankPoint> ranks) {

  /** The adapter's largest rank from example {@code examples} on. */
  public record RankPoint(long examples, int rank) {}

  public VariantResult {
    finalRanks = Map.copyOf(finalRanks);
    windows = List.copyOf(windows);
    ranks = List.copyOf(ranks);
  }
}
