package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** When a snapshot is due, on a clock the test moves: steps, the interval, the minimum interval, shutdown. */
class PublishCadenceTest {
  private long now = 1_000_000_000L;

  private void advanceMs(long ms) {
    now += TimeUnit.MILLISECONDS.toNanos(ms);
  }

  @Test
  void aCutDueByStepsWaitsOutTheMinimumIntervalAndThenHoldsEverythingTrainedSince() {
    PublishCadence c = new PublishCadence(10, 5000, 1000, () -> now);
    c.mark(0, 0);
    advanceMs(200);
    assertThat(c.due(false, false, 9, 288, false)).isFalse();
    // Due by steps at 200 ms, held by the minimum interval: training goes on meanwhile.
    assertThat(c.due(false, false, 10, 320, false)).isFalse();
    advanceMs(799);
    assertThat(c.due(false, false, 40, 1280, false)).isFalse();
    advanceMs(1);
    assertThat(c.due(false, false, 41, 1312, false)).isTrue();
    c.mark(41, 1312);
    // The bound counts from the cut just made.
    advanceMs(999);
    assertThat(c.due(false, false, 80, 2560, false)).isFalse();
    advanceMs(1);
    assertThat(c.due(false, false, 80, 2560, false)).isTrue();
  }

  @Test
  void withoutAMinimumIntervalTheStepsAloneDecide() {
    PublishCadence c = new PublishCadence(10, 5000, 0, () -> now);
    c.mark(0, 0);
    assertThat(c.due(false, false, 9, 288, false)).isFalse();
    assertThat(c.due(false, false, 10, 320, false)).isTrue();
  }

  @Test
  void theIntervalPublishesASlowStreamAndNeverAnUntrainedOne() {
    PublishCadence c = new PublishCadence(50, 5000, 1000, () -> now);
    c.mark(3, 96);
    advanceMs(4999);
    assertThat(c.due(false, false, 4, 128, false)).isFalse();
    advanceMs(1);
    assertThat(c.due(false, false, 4, 128, false)).isTrue();
    assertThat(c.due(false, false, 3, 96, false)).as("nothing trained since the mark").isFalse();
  }

  @Test
  void shutdownAndASupersededDeletionAreNotHeldByTheMinimumInterval() {
    PublishCadence c = new PublishCadence(10, 5000, 60_000, () -> now);
    c.mark(0, 0);
    advanceMs(1);
    assertThat(c.due(false, false, 100, 3200, false)).isFalse();
    assertThat(c.due(true, false, 100, 3200, false)).isTrue();
    assertThat(c.due(false, true, 0, 0, false)).isTrue();
    assertThat(c.due(true, false, 0, 0, false)).as("nothing to publish at shutdown").isFalse();
    assertThat(c.due(true, false, 0, 0, true)).as("offsets of skipped records still to commit").isTrue();
  }

  @Test
  void aRetryBackoffHoldsEvenASupersede() {
    PublishCadence c = new PublishCadence(10, 5000, 0, () -> now);
    c.mark(0, 0);
    c.retryAfter(1000);
    advanceMs(999);
    assertThat(c.due(false, true, 20, 640, false)).isFalse();
    advanceMs(1);
    assertThat(c.due(false, true, 20, 640, false)).isTrue();
  }
}
