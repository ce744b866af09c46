package io.lorastream.launcher;

/**
 * Paces a replay to a rate in examples per second. A replay that falls a little behind (a slow
 * send, a full buffer) catches up; one that stalls for longer than {@code maxCatchUpNanos} (a
 * paused tap, a broker away) starts the rate over from there instead of sending the backlog at
 * full speed, so a stall never turns into a burst that the pipeline scores against a stale adapter.
 * Pure logic on a caller's clock.
 */
final class ReplayPacer {
  private final double nanosPerExample;
  private final long maxCatchUpNanos;
  private long fromNanos;
  private long fromSent;

  ReplayPacer(double examplesPerSecond, long startNanos, long maxCatchUpNanos) {
    if (!(examplesPerSecond > 0) || Double.isInfinite(examplesPerSecond)) {
      throw new IllegalArgumentException("rate must be a positive number, got " + examplesPerSecond);
    }
    this.nanosPerExample = 1e9 / examplesPerSecond;
    this.maxCatchUpNanos = maxCatchUpNanos;
    this.fromNanos = startNanos;
  }

  /** How long to wait at {@code nowNanos} once {@code sent} examples have gone out; 0 to go on at once. */
  long waitNanos(long sent, long nowNanos) {
    long due = fromNanos + (long) ((sent - fromSent) * nanosPerExample);
    long wait = due - nowNanos;
    if (wait >= 0) {
      return wait;
    }
    if (-wait > maxCatchUpNanos) {
      fromNanos = nowNanos;
      fromSent = sent;
    }
    return 0;
  }
}
