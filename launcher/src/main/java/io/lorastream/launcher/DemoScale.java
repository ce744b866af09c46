package io.lorastream.launcher;

import io.lorastream.trainer.TrainerConfig;

/**
 * Keeps the demo's proportions at any {@code --examples}: what the trainer's defaults do to the
 * default 20,000-example stream, a shorter or longer stream gets per phase too. A phase of a short
 * run has fewer examples, so it gets a smaller micro-batch for the same number of optimizer steps
 * (Adam moves about one learning rate per step, so steps, not examples, decide how far an adapter
 * can follow a drift); the rank milestones and the snapshot cadence stay where they are in steps;
 * and the gate and the replay's backpressure, both counted in examples, shrink with the phase, so
 * that what serves lags the trainer by the same share of a phase. Longer runs keep the default
 * micro-batch and stretch the milestones instead. Pure logic.
 */
final class DemoScale {
  /** The demo's default stream length, the one the trainer's defaults fit. */
  static final long DEFAULT_EXAMPLES = 20_000;
  /** The demo's gate and backpressure at the default length. */
  static final int DEFAULT_GATE_EXAMPLES = 40;
  static final long DEFAULT_MAX_LAG = 1000;
  /** Fewer holdout examples than this make a gate decision a coin toss. */
  static final int MIN_GATE_EXAMPLES = 20;

  private static final int DEFAULT_MICROBATCH =
      Integer.parseInt(TrainerConfig.DEFAULTS.get(TrainerConfig.MICROBATCH_SIZE));
  private static final long DEFAULT_PUBLISH_STEPS =
      Long.parseLong(TrainerConfig.DEFAULTS.get(TrainerConfig.PUBLISH_STEPS));

  private final long examples;
  private final int microBatch;

  private DemoScale(long examples, int microBatch) {
    this.examples = examples;
    this.microBatch = microBatch;
  }

  /** The scale of a run of {@code examples}, with the micro-batch it picks. */
  static DemoScale of(long examples) {
    if (examples < 1) {
      throw new IllegalArgumentException("examples must be >= 1, got " + examples);
    }
    return new DemoScale(examples, (int) Math.max(1, Math.round(DEFAULT_MICROBATCH * shareOfDefault(examples))));
  }

  /** The same run with the micro-batch a user chose; the step-counted settings follow it. */
  DemoScale withMicroBatch(int b) {
    if (b < 1) {
      throw new IllegalArgumentException("micro-batch must be >= 1, got " + b);
    }
    return new DemoScale(examples, b);
  }

  int microBatch() {
    return microBatch;
  }

  /** This run's optimizer steps over the default run's: 1 when the micro-batch scaled exactly. */
  double stepFactor() {
    return (examples / (double) microBatch) / (DEFAULT_EXAMPLES / (double) DEFAULT_MICROBATCH);
  }

  /** The trainer's default progressive schedule with its milestones moved by {@link #stepFactor}. */
  String rankSchedule() {
    double g = stepFactor();
    long a = Math.max(1, Math.round(100 * g));
    long b = Math.max(a + 1, Math.round(250 * g));
    long c = Math.max(b + 1, Math.round(400 * g));
    return "steps:2@0,4@" + a + ",8@" + b + ",16@" + c;
  }

  /** The trainer's snapshot every 50 steps, moved by {@link #stepFactor} (at least 5, at most 50). */
  long publishSteps() {
    return Math.max(5, Math.min(DEFAULT_PUBLISH_STEPS, Math.round(DEFAULT_PUBLISH_STEPS * stepFactor())));
  }

  /** Holdout examples per gate decision: the default share of a phase, never below {@link #MIN_GATE_EXAMPLES}. */
  int gateExamples() {
    return (int) Math.max(MIN_GATE_EXAMPLES, Math.round(DEFAULT_GATE_EXAMPLES * shareOfDefault(examples)));
  }

  /** How far the trainer may fall behind the replay, in examples: the default share of a phase. */
  long maxLag() {
    return Math.max(50, Math.round(DEFAULT_MAX_LAG * shareOfDefault(examples)));
  }

  /** A run's length over the default one, at most 1: what is counted in examples shrinks with it, never grows. */
  private static double shareOfDefault(long examples) {
    return Math.min(1, examples / (double) DEFAULT_EXAMPLES);
  }
}
