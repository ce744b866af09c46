package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The bookkeeping both learners share, as pure logic: the accumulation window and its mean loss,
 * the loss EMA, what a skipped micro-batch and a discarded step count (and that each warns on the
 * learner's logger with its prefix), restore, and the metrics map leaving out what is not finite.
 */
class LearnerStatsTest {

  private final Logger logger = (Logger) LoggerFactory.getLogger("test.LearnerStats");
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeEach
  void capture() {
    logs.start();
    logger.addAppender(logs);
    logger.setLevel(Level.WARN);
  }

  @AfterEach
  void release() {
    logger.detachAppender(logs);
  }

  private LearnerStats stats(int k, double decay) {
    return new LearnerStats(LearnerConfig.defaults().withAccumulationSteps(k).withLossEmaDecay(decay), logger, "tuning ");
  }

  @Test
  void theWindowFillsAtKAndClosesWithTheMeanLossOfItsMicroBatches() {
    LearnerStats s = stats(3, 0.5);

    assertThat(s.accept(1.0)).isFalse();
    assertThat(s.accept(2.0)).isFalse();
    assertThat(s.pending()).isEqualTo(2);
    assertThat(s.flushScale()).isEqualTo(3.0 / 2);
    assertThat(s.accept(6.0)).isTrue();
    assertThat(s.closeWindow()).isEqualTo(3.0);
    assertThat(s.pending()).isZero();
    assertThat(s.closeWindow()).isNaN();

    s.accept(4.0);
    s.dropWindow();
    assertThat(s.pending()).isZero();
    assertThat(s.closeWindow()).as("a dropped window leaves no loss behind").isNaN();
  }

  @Test
  void theLossEmaStartsAtTheFirstLossThenDecays() {
    double decay = 0.9;
    LearnerStats s = stats(100, decay);
    assertThat(s.lossEma()).isNaN();

    s.accept(2.0);
    assertThat(s.lossEma()).isEqualTo(2.0);
    s.accept(1.0);
    assertThat(s.lossEma()).isCloseTo(decay * 2.0 + (1 - decay) * 1.0, Offset.offset(1e-15));
  }

  @Test
  void aSkippedMicroBatchIsCountedWarnedAndLeavesTheWindowAlone() {
    LearnerStats s = stats(2, 0.9);
    s.seen(5);
    s.accept(1.5);
    s.seen(4);

    StepResult r = s.skipBatch(4, Double.NaN);

    assertThat(r.skippedNonFinite()).isTrue();
    assertThat(r.stepped()).isFalse();
    assertThat(r.predictions()).isNull();
    assertThat(s.skippedBatches()).isEqualTo(1);
    assertThat(s.skippedExamples()).isEqualTo(4);
    assertThat(s.examplesSeen()).isEqualTo(9);
    assertThat(s.pending()).isEqualTo(1);
    assertThat(s.lossEma()).isEqualTo(1.5);
    assertThat(logs.list).singleElement().satisfies(e -> {
      assertThat(e.getLevel()).isEqualTo(Level.WARN);
      assertThat(e.getFormattedMessage()).startsWith("tuning skipped a micro-batch of 4 examples").endsWith("1 skipped so far");
    });
  }

  @Test
  void aDiscardedStepCountsAsASkippedStepAndBatchButNotAsAStep() {
    LearnerStats s = stats(1, 0.9);
    s.stepApplied(0.5);

    StepResult r = s.stepDiscarded(Double.POSITIVE_INFINITY, 0.7);

    assertThat(r.skippedNonFinite()).isTrue();
    assertThat(r.stepped()).isFalse();
    assertThat(r.optimizerStep()).isEqualTo(1);
    assertThat(r.gradNorm()).isInfinite();
    assertThat(r.loss()).isEqualTo(0.7);
    assertThat(s.skippedSteps()).isEqualTo(1);
    assertThat(s.skippedBatches()).isEqualTo(1);
    assertThat(s.skippedExamples()).isZero();
    assertThat(s.lastGradNorm()).as("the last applied step's norm").isEqualTo(0.5);
    assertThat(logs.list).singleElement()
        .satisfies(e -> assertThat(e.getFormattedMessage()).startsWith("tuning discarded an accumulated optimizer step"));
  }

  @Test
  void resultsCarryTheCurrentStepCount() {
    LearnerStats s = stats(2, 0.9);
    s.stepApplied(1.0);
    s.stepApplied(2.0);

    assertThat(s.idle()).isEqualTo(new StepResult(Double.NaN, Double.NaN, false, false, 2, false));
    assertThat(s.accumulating(0.25, new int[] {1, 0}))
        .isEqualTo(new StepResult(0.25, Double.NaN, false, false, 2, false, new int[] {1, 0}));
    assertThat(s.lastGradNorm()).isEqualTo(2.0);
  }

  @Test
  void restoreResumesTheCumulativeCountersOnly() {
    LearnerStats s = stats(1, 0.9);
    s.seen(3);
    s.skipBatch(3, Double.NaN);
    s.accept(0.4);

    s.restore(40, 1000);

    assertThat(s.optimizerStep()).isEqualTo(40);
    assertThat(s.examplesSeen()).isEqualTo(1000);
    assertThat(s.skippedBatches()).isEqualTo(1);
    assertThat(s.lossEma()).isEqualTo(0.4);
  }

  @Test
  void metricsLeaveOutWhatIsNotFinite() {
    LearnerStats s = stats(1, 0.9);
    assertThat(s.metrics()).containsOnlyKeys("skipped_batches", "skipped_examples");

    s.accept(0.3);
    s.stepApplied(1.25);
    s.skipBatch(2, Double.NaN);

    assertThat(s.metrics()).containsExactly(
        Map.entry("loss_ema", 0.3), Map.entry("grad_norm", 1.25),
        Map.entry("skipped_batches", 1.0), Map.entry("skipped_examples", 2.0));
  }
}
