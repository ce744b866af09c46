package io.lorastream.trainer;

import java.util.Map;

/**
 * What one trained micro-batch did, as reported to {@link TrainerListener#onStep}.
 * {@code examplesSeen} counts examples whose gradients are applied to the adapter (the number a
 * snapshot cut now would carry); {@code stepped} is true when this micro-batch completed an
 * optimizer step; {@code skippedNonFinite} when the learner discarded it for a non-finite loss or
 * gradient. {@code ranks} maps each adapted layer to its current rank. {@code batchSize} is 0 (and
 * {@code loss} NaN) for the step that applies a partial accumulation just before a snapshot cut.
 */
public record StepStats(long optimizerStep, long examplesSeen, int batchSize, double loss, double gradNorm,
    double lossEma, boolean stepped, boolean skippedNonFinite, boolean ranksChanged, Map<String, Integer> ranks) {
  public StepStats {
    ranks = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(ranks));
  }
}
