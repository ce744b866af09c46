package io.lorastream.lora.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;

/**
 * The bookkeeping every online learner does around its tensors, shared by {@link OnlineLearner}
 * and {@link FullFineTuner} so that both count, skip and report in exactly the same way: examples
 * seen, micro-batches and accumulated steps dropped as non-finite (each logged as a warning on the
 * learner's own logger), the loss EMA, the window of micro-batches accumulated towards the next
 * optimizer step (how many, and their mean loss), the optimizer-step count, the last step's
 * gradient norm, and the metrics map built from them. It also builds the {@link StepResult}s that
 * depend on nothing else. No tensors live here; not thread-safe, like the learners. Outside this
 * package it is read-only ({@link Learner#stats()}).
 */
public final class LearnerStats {

  private final Logger log;
  private final String who;
  private final int accumulationSteps;
  private final double emaDecay;

  private long optimizerStep;
  private long examplesSeen;
  private long skippedBatches;
  private long skippedExamples;
  private long skippedSteps;
  private double lossEma = Double.NaN;
  private double lastGradNorm = Double.NaN;
  private int pending;
  private double pendingLossSum;
  private int pendingLossCount;

  /**
   * @param log the learner's logger, so warnings name the learner that skipped
   * @param who prefix of every warning ("" or e.g. "full fine-tuning "), ending in a space if not empty
   */
  LearnerStats(LearnerConfig train, Logger log, String who) {
    this.log = log;
    this.who = who;
    this.accumulationSteps = train.accumulationSteps();
    this.emaDecay = train.lossEmaDecay();
  }

  /** Counts a micro-batch of n examples as seen, whether or not it is then trained on. */
  void seen(int n) {
    examplesSeen += n;
  }

  /** Counts and logs a micro-batch dropped for non-finite inputs, loss or gradients. */
  StepResult skipBatch(int n, double loss) {
    skippedBatches++;
    skippedExamples += n;
    log.warn(who + "skipped a micro-batch of {} examples with non-finite inputs, loss or gradients (loss={}); "
        + "{} skipped so far", n, loss, skippedBatches);
    return new StepResult(loss, Double.NaN, false, true, optimizerStep, false);
  }

  /**
   * Records the finite loss of a micro-batch whose gradients were accumulated.
   *
   * @return whether the window is now full (k micro-batches), i.e. an optimizer step is due
   */
  boolean accept(double loss) {
    lossEma = Double.isNaN(lossEma) ? loss : emaDecay * lossEma + (1 - emaDecay) * loss;
    pending++;
    pendingLossSum += loss;
    pendingLossCount++;
    return pending >= accumulationSteps;
  }

  /** The result of an accepted micro-batch that did not complete a window. */
  StepResult accumulating(double loss, int[] predictions) {
    return new StepResult(loss, Double.NaN, false, false, optimizerStep, false, predictions);
  }

  /** The result of a flush with nothing pending. */
  StepResult idle() {
    return new StepResult(Double.NaN, Double.NaN, false, false, optimizerStep, false);
  }

  /** The factor k/pending that turns the accumulators' partial sum into a mean (flush). */
  double flushScale() {
    return (double) accumulationSteps / pending;
  }

  /** Ends the current window for a step. @return the mean loss of its micro-batches, NaN if none */
  double closeWindow() {
    double mean = pendingLossCount > 0 ? pendingLossSum / pendingLossCount : Double.NaN;
    dropWindow();
    return mean;
  }

  /** Forgets the current window without a step (its accumulated gradients were thrown away). */
  void dropWindow() {
    pending = 0;
    pendingLossSum = 0;
    pendingLossCount = 0;
  }

  /** Counts and logs a step discarded because its total gradient norm is not finite. */
  StepResult stepDiscarded(double norm, double lastLoss) {
    skippedSteps++;
    skippedBatches++;
    log.warn(who + "discarded an accumulated optimizer step: its total gradient norm is {}", norm);
    return new StepResult(lastLoss, norm, false, true, optimizerStep, false);
  }

  /** Counts an applied optimizer step with its pre-clip gradient norm. */
  void stepApplied(double norm) {
    optimizerStep++;
    lastGradNorm = norm;
  }

  /** Resumes the cumulative counters from a snapshot; skip counts and the EMA are this process's own. */
  void restore(long optimizerStep, long examplesSeen) {
    this.optimizerStep = optimizerStep;
    this.examplesSeen = examplesSeen;
  }

  public long optimizerStep() {
    return optimizerStep;
  }

  public long examplesSeen() {
    return examplesSeen;
  }

  public long skippedBatches() {
    return skippedBatches;
  }

  public long skippedExamples() {
    return skippedExamples;
  }

  public long skippedSteps() {
    return skippedSteps;
  }

  public double lossEma() {
    return lossEma;
  }

  public double lastGradNorm() {
    return lastGradNorm;
  }

  public int pending() {
    return pending;
  }

  /** loss_ema, grad_norm, skipped_batches, skipped_examples; entries that are not finite are left out. */
  public Map<String, Double> metrics() {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("loss_ema", lossEma);
    m.put("grad_norm", lastGradNorm);
    m.put("skipped_batches", (double) skippedBatches);
    m.put("skipped_examples", (double) skippedExamples);
    m.values().removeIf(v -> !Double.isFinite(v));
    return m;
  }
}
