package io.lorastream.lora.train;

import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.TokenRows;
import java.util.Map;

/**
 * An online learner fed one micro-batch at a time: {@link OnlineLearner} (LoRA adapters on a
 * frozen base) and {@link FullFineTuner} (every parameter, the baseline). Both run the same loop
 * ({@link MicroBatchLoop}): the loss scaled by 1/k and gradients accumulated over k micro-batches,
 * one host-to-device copy and one device-to-host read per micro-batch, non-finite micro-batches
 * and steps dropped and counted, global-norm clipping and AdamW, a loss EMA, and test-then-train
 * predictions in every {@link StepResult}. Not thread-safe: one thread feeds a learner.
 */
public interface Learner extends AutoCloseable {
  /**
   * Trains on one micro-batch.
   *
   * @param rows n x inputSize features, or token rows for text models (see {@link TokenRows})
   * @param labels n labels in [0, numClasses)
   * @param weightsOrNull n non-negative loss weights, or null for 1.0
   * @return the outcome, with {@link StepResult#predictions()} = arg-max class of each example before
   *     this update (null when the micro-batch was skipped)
   * @throws IllegalArgumentException for malformed input (lengths, label range, negative weight, a
   *     token id that is not an integer in [0, vocabSize)); non-finite dense features or weights are
   *     not an error: the micro-batch is skipped and counted
   */
  StepResult trainMicroBatch(float[] rows, int[] labels, float[] weightsOrNull);

  /**
   * Applies an optimizer step with the micro-batches accumulated so far, if any, rescaled to a mean
   * over the pending micro-batches. Call before taking a snapshot.
   */
  StepResult flush();

  /** An immutable pure-Java serving model of the current weights (no native resources). */
  MergedModel merged();

  LearnerConfig learnerConfig();

  /** The learner's counters (read-only outside this package). */
  LearnerStats stats();

  /** Optimizer steps applied (cumulative across restores, where the learner restores). */
  default long optimizerStep() {
    return stats().optimizerStep();
  }

  /** Examples passed to {@link #trainMicroBatch}, including skipped ones. */
  default long examplesSeen() {
    return stats().examplesSeen();
  }

  /** Micro-batches (and whole accumulated steps) dropped as non-finite since this learner started. */
  default long skippedBatches() {
    return stats().skippedBatches();
  }

  /** Examples in skipped micro-batches since this learner started. */
  default long skippedExamples() {
    return stats().skippedExamples();
  }

  /** Accumulated optimizer steps discarded because their total gradient was non-finite. */
  default long skippedSteps() {
    return stats().skippedSteps();
  }

  /** EMA of the micro-batch loss (NaN before the first accepted micro-batch). */
  default double lossEma() {
    return stats().lossEma();
  }

  /** Gradient norm (pre-clip) of the last optimizer step. */
  default double lastGradNorm() {
    return stats().lastGradNorm();
  }

  /** Micro-batches accumulated towards the next optimizer step. */
  default int pendingMicroBatches() {
    return stats().pending();
  }

  /** Training metrics for snapshots, logs and reports. */
  default Map<String, Double> metrics() {
    return stats().metrics();
  }

  /** Parameters the learner trains at present. */
  long trainableParameters();

  /** Frees the learner's native memory (never the base's). */
  @Override
  void close();
}
