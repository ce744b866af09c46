package io.lorastream.lora;

/**
 * Outcome of feeding one micro-batch to an {@link OnlineLearner}.
 *
 * @param loss mean (weighted) cross-entropy of this micro-batch before the update; NaN if skipped
 * @param gradNorm global norm of the step's gradient before clipping (incl. the L2 term) when an
 *     optimizer step ran; NaN otherwise
 * @param stepped whether an optimizer step was applied after this micro-batch
 * @param skippedNonFinite whether this micro-batch (or the accumulated step it completed) was
 *     dropped because its inputs, loss or gradients were not finite
 * @param optimizerStep optimizer steps applied so far
 * @param ranksChanged whether the rank schedule grew any layer after this step
 */
public record StepResult(
    double loss,
    double gradNorm,
    boolean stepped,
    boolean skippedNonFinite,
    long optimizerStep,
    boolean ranksChanged) {}
