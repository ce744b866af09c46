package io.lorastream.lora.train;

/**
 * Optimizer and schedule settings of an {@link OnlineLearner}.
 *
 * <p>One optimizer step = {@code accumulationSteps} micro-batches whose mean losses are each scaled
 * by 1/k and whose gradients are summed on the device; then the L2 penalty
 * {@code l2Lambda*(|A|^2+|B|^2)} is added to the objective, the total gradient is clipped to global
 * norm {@code clipNorm}, and AdamW updates A and B. {@code weightDecay} is AdamW's decoupled decay;
 * it defaults to 0 because the L2 penalty already regularizes A and B.
 *
 * @param lr AdamW learning rate
 * @param beta1 AdamW first-moment decay
 * @param beta2 AdamW second-moment decay
 * @param eps AdamW epsilon
 * @param weightDecay AdamW decoupled weight decay (0 = off)
 * @param l2Lambda L2 penalty on A and B added to the loss (default 0.01); never on the token-embedding table's adapter
 * @param clipNorm global gradient-norm clip (default 1.0; 0 or less disables clipping)
 * @param accumulationSteps k, micro-batches per optimizer step
 * @param microBatchSize b, informational (the learner accepts any micro-batch size)
 * @param schedule rank schedule
 * @param lossEmaDecay decay of the reported loss EMA per micro-batch
 * @param keepScaleOnGrowth whether rank growth raises alpha so that the scale s stays (see
 *     {@link #withKeepScaleOnGrowth}); false keeps alpha, so s = alpha/r shrinks as r grows
 */
public record LearnerConfig(
    double lr,
    double beta1,
    double beta2,
    double eps,
    double weightDecay,
    double l2Lambda,
    double clipNorm,
    int accumulationSteps,
    int microBatchSize,
    RankSchedule schedule,
    double lossEmaDecay,
    boolean keepScaleOnGrowth) {

  public LearnerConfig {
    check(lr > 0 && Double.isFinite(lr), "lr", lr, "a finite value > 0, e.g. 0.01");
    check(beta1 >= 0 && beta1 < 1, "beta1", beta1, "in [0, 1), e.g. 0.9");
    check(beta2 >= 0 && beta2 < 1, "beta2", beta2, "in [0, 1), e.g. 0.999");
    check(eps > 0 && Double.isFinite(eps), "eps", eps, "> 0, e.g. 1e-8");
    check(weightDecay >= 0 && Double.isFinite(weightDecay), "weightDecay", weightDecay, ">= 0");
    check(l2Lambda >= 0 && Double.isFinite(l2Lambda), "l2Lambda", l2Lambda, ">= 0, e.g. 0.01");
    check(!Double.isNaN(clipNorm), "clipNorm", clipNorm, "a number (<= 0 disables clipping)");
    check(accumulationSteps >= 1, "accumulationSteps", accumulationSteps, ">= 1");
    check(microBatchSize >= 1, "microBatchSize", microBatchSize, ">= 1");
    check(lossEmaDecay >= 0 && lossEmaDecay < 1, "lossEmaDecay", lossEmaDecay, "in [0, 1), e.g. 0.98");
    if (schedule == null) {
      throw new IllegalArgumentException("LearnerConfig.schedule must be set, e.g. RankSchedule.progressive()");
    }
  }

  private static void check(boolean ok, String key, double v, String want) {
    if (!ok) {
      throw new IllegalArgumentException("LearnerConfig." + key + " must be " + want + ", got " + v);
    }
  }

  /** lr 0.01, betas (0.9, 0.999), eps 1e-8, wd 0, L2 0.01, clip 1.0, k 1, b 32, progressive, EMA 0.98. */
  public static LearnerConfig defaults() {
    return new LearnerConfig(0.01, 0.9, 0.999, 1e-8, 0.0, 0.01, 1.0, 1, 32, RankSchedule.progressive(), 0.98, false);
  }

  /** Whether clipping is on. */
  public boolean clipping() {
    return clipNorm > 0 && Double.isFinite(clipNorm);
  }

  /**
   * Growth keeps each layer's scale {@code s}: alpha grows with the rank ({@code alpha' = s r'} for
   * STANDARD, {@code s sqrt(r')} for RSLORA), so a grown adapter is compared with a fixed rank at
   * the same scale instead of a damped one; the function is kept either way.
   */
  public LearnerConfig withKeepScaleOnGrowth(boolean v) {
    return new LearnerConfig(lr, beta1, beta2, eps, weightDecay, l2Lambda, clipNorm, accumulationSteps, microBatchSize,
        schedule, lossEmaDecay, v);
  }

  public LearnerConfig withLr(double v) {
    return new LearnerConfig(v, beta1, beta2, eps, weightDecay, l2Lambda, clipNorm, accumulationSteps, microBatchSize, schedule, lossEmaDecay, keepScaleOnGrowth);
  }

  public LearnerConfig withBetas(double b1, double b2) {
    return new LearnerConfig(lr, b1, b2, eps, weightDecay, l2Lambda, clipNorm, accumulationSteps, microBatchSize, schedule, lossEmaDecay, keepScaleOnGrowth);
  }

  public LearnerConfig withEps(double v) {
    return new LearnerConfig(lr, beta1, beta2, v, weightDecay, l2Lambda, clipNorm, accumulationSteps, microBatchSize, schedule, lossEmaDecay, keepScaleOnGrowth);
  }

  public LearnerConfig withWeightDecay(double v) {
    return new LearnerConfig(lr, beta1, beta2, eps, v, l2Lambda, clipNorm, accumulationSteps, microBatchSize, schedule, lossEmaDecay, keepScaleOnGrowth);
  }

  public LearnerConfig withL2Lambda(double v) {
    return new LearnerConfig(lr, beta1, beta2, eps, weightDecay, v, clipNorm, accumulationSteps, microBatchSize, schedule, lossEmaDecay, keepScaleOnGrowth);
  }

  public LearnerConfig withClipNorm(double v) {
    return new LearnerConfig(lr, beta1, beta2, eps, weightDecay, l2Lambda, v, accumulationSteps, microBatchSize, schedule, lossEmaDecay, keepScaleOnGrowth);
  }

  public LearnerConfig withAccumulationSteps(int v) {
    return new LearnerConfig(lr, beta1, beta2, eps, weightDecay, l2Lambda, clipNorm, v, microBatchSize, schedule, lossEmaDecay, keepScaleOnGrowth);
  }

  public LearnerConfig withMicroBatchSize(int v) {
    return new LearnerConfig(lr, beta1, beta2, eps, weightDecay, l2Lambda, clipNorm, accumulationSteps, v, schedule, lossEmaDecay, keepScaleOnGrowth);
  }

  public LearnerConfig withSchedule(RankSchedule v) {
    return new LearnerConfig(lr, beta1, beta2, eps, weightDecay, l2Lambda, clipNorm, accumulationSteps, microBatchSize, v, lossEmaDecay, keepScaleOnGrowth);
  }

  public LearnerConfig withLossEmaDecay(double v) {
    return new LearnerConfig(lr, beta1, beta2, eps, weightDecay, l2Lambda, clipNorm, accumulationSteps, microBatchSize, schedule, v, keepScaleOnGrowth);
  }
}
