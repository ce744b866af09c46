package io.lorastream.trainer;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * When the next snapshot is due: every {@code publishSteps} optimizer steps, or after
 * {@code publishIntervalMs} with anything trained, counted from the last cut (a failed
 * transaction resets it to the committed state), but never sooner than {@code minIntervalMs}
 * after that cut. A retry after a failed serialization waits out a backoff first.
 */
final class PublishCadence {
  private final long publishSteps;
  private final long intervalNanos;
  private final long minIntervalNanos;
  private final LongSupplier clock;
  private long stepsAtMark;
  private long examplesAtMark;
  private long markNanos;
  private long nextAttemptNanos;

  /** {@code clock} gives nanoseconds ({@code System::nanoTime}; a test's own clock). */
  PublishCadence(long publishSteps, long publishIntervalMs, long minIntervalMs, LongSupplier clock) {
    this.publishSteps = publishSteps;
    this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(publishIntervalMs);
    this.minIntervalNanos = TimeUnit.MILLISECONDS.toNanos(minIntervalMs);
    this.clock = clock;
    this.markNanos = clock.getAsLong();
    this.nextAttemptNanos = markNanos;
  }

  /** The state a snapshot holds (or the committed one, after a rollback) reaches these counts now. */
  void mark(long steps, long examples) {
    stepsAtMark = steps;
    examplesAtMark = examples;
    markNanos = clock.getAsLong();
    nextAttemptNanos = markNanos;
  }

  void retryAfter(long millis) {
    nextAttemptNanos = clock.getAsLong() + TimeUnit.MILLISECONDS.toNanos(millis);
  }

  /**
   * At shutdown anything unpublished is due; {@code supersede} (an ignored deletion is the newest
   * record) is due at once, backoff allowing. Otherwise a cut is due by steps or by time, and waits
   * until the minimum interval since the last cut has passed.
   */
  boolean due(boolean shutdown, boolean supersede, long steps, long examples, boolean uncommittedOffsets) {
    boolean trainedSince = examples > examplesAtMark;
    if (shutdown) {
      return trainedSince || uncommittedOffsets || supersede;
    }
    long now = clock.getAsLong();
    if (now < nextAttemptNanos) {
      return false;
    }
    if (supersede) {
      return true;
    }
    if (now - markNanos < minIntervalNanos) {
      return false;
    }
    return steps - stepsAtMark >= publishSteps || (trainedSince && now - markNanos >= intervalNanos);
  }

  /** Examples per second since the mark. */
  double rate(long examples) {
    double seconds = Math.max(1e-3, (clock.getAsLong() - markNanos) / 1e9);
    return (examples - examplesAtMark) / seconds;
  }
}
