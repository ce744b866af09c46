package io.lorastream.trainer;

import java.util.concurrent.TimeUnit;

/**
 * When the next snapshot is due: every {@code publishSteps} optimizer steps, or after
 * {@code publishIntervalMs} with anything trained, counted from the last cut (a failed
 * transaction resets it to the committed state). A retry after a failed serialization waits out
 * a backoff first.
 */
final class PublishCadence {
  private final long publishSteps;
  private final long intervalNanos;
  private long stepsAtMark;
  private long examplesAtMark;
  private long markNanos;
  private long nextAttemptNanos;

  PublishCadence(long publishSteps, long publishIntervalMs) {
    this.publishSteps = publishSteps;
    this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(publishIntervalMs);
  }

  /** The state a snapshot holds (or the committed one, after a rollback) reaches these counts now. */
  void mark(long steps, long examples) {
    stepsAtMark = steps;
    examplesAtMark = examples;
    markNanos = System.nanoTime();
    nextAttemptNanos = markNanos;
  }

  void retryAfter(long millis) {
    nextAttemptNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
  }

  /**
   * At shutdown anything unpublished is due; {@code supersede} (an ignored deletion is the newest
   * record) is due at once, backoff allowing.
   */
  boolean due(boolean shutdown, boolean supersede, long steps, long examples, boolean uncommittedOffsets) {
    boolean trainedSince = examples > examplesAtMark;
    if (shutdown) {
      return trainedSince || uncommittedOffsets || supersede;
    }
    long now = System.nanoTime();
    if (now < nextAttemptNanos) {
      return false;
    }
    return supersede || steps - stepsAtMark >= publishSteps || (trainedSince && now - markNanos >= intervalNanos);
  }

  /** Examples per second since the mark. */
  double rate(long examples) {
    double seconds = Math.max(1e-3, (System.nanoTime() - markNanos) / 1e9);
    return (examples - examplesAtMark) / seconds;
  }
}
