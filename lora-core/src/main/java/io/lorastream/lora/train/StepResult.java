package io.lorastream.lora.train;

/**
 * Outcome of feeding one micro-batch to an {@link OnlineLearner} or a {@link FullFineTuner}.
 *
 * @param loss mean (weighted) cross-entropy of this micro-batch before the update; NaN if skipped
 * @param gradNorm global norm of the step's gradient before clipping (incl. the L2 term) when an
 *     optimizer step ran; NaN otherwise
 * @param stepped whether an optimizer step was applied after this micro-batch
 * @param skippedNonFinite whether this micro-batch (or the accumulated step it completed) was
 *     dropped because its inputs, loss or gradients were not finite
 * @param optimizerStep optimizer steps applied so far
 * @param ranksChanged whether the rank schedule grew any layer after this step
 * @param predictions arg-max class of each example of the micro-batch from the forward pass before
 *     this micro-batch's update (test-then-train), in input order; null when the micro-batch itself
 *     was skipped (non-finite inputs, loss or gradients) or for results that are not about a
 *     micro-batch ({@code flush()}). Copied on the way in and out.
 */
public record StepResult(
    double loss,
    double gradNorm,
    boolean stepped,
    boolean skippedNonFinite,
    long optimizerStep,
    boolean ranksChanged,
    int[] predictions) {

  public StepResult {
    predictions = predictions == null ? null : predictions.clone();
  }

  /** A result without predictions (the original 6-field form). */
  public StepResult(double loss, double gradNorm, boolean stepped, boolean skippedNonFinite, long optimizerStep,
      boolean ranksChanged) {
    this(loss, gradNorm, stepped, skippedNonFinite, optimizerStep, ranksChanged, null);
  }

  @Override
  public int[] predictions() {
    return predictions == null ? null : predictions.clone();
  }

  /** Value equality, predictions compared by content. */
  @Override
  public boolean equals(Object o) {
    return o instanceof StepResult r && Double.compare(loss, r.loss) == 0 && Double.compare(gradNorm, r.gradNorm) == 0
        && stepped == r.stepped && skippedNonFinite == r.skippedNonFinite && optimizerStep == r.optimizerStep
        && ranksChanged == r.ranksChanged && java.util.Arrays.equals(predictions, r.predictions);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(loss, gradNorm, stepped, skippedNonFinite, optimizerStep, ranksChanged)
        * 31 + java.util.Arrays.hashCode(predictions);
  }

  @Override
  public String toString() {
    return "StepResult[loss=" + loss + ", gradNorm=" + gradNorm + ", stepped=" + stepped + ", skippedNonFinite="
        + skippedNonFinite + ", optimizerStep=" + optimizerStep + ", ranksChanged=" + ranksChanged
        + ", predictions=" + (predictions == null ? "null" : predictions.length + " classes") + "]";
  }

  /** This result with the given predictions. */
  StepResult withPredictions(int[] p) {
    return new StepResult(loss, gradNorm, stepped, skippedNonFinite, optimizerStep, ranksChanged, p);
  }
}
