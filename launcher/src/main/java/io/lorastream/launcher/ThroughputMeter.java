package io.lorastream.launcher;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Turns a cumulative count (records processed, examples trained) into a rate per second over a
 * sliding window, for the {@code *_per_second} gauges. A scheduler feeds it one sample a second;
 * a gauge reads {@link #perSecond()}. Prometheus users can compute the same from the matching
 * {@code *_total} counter with {@code rate()}; the gauge exists so that {@code /metrics} alone
 * answers "how fast is it going now" (status pages, the compose smoke check).
 */
final class ThroughputMeter {
  private record Sample(long nanos, long count) {}

  private final long windowNanos;
  private final Deque<Sample> samples = new ArrayDeque<>();

  ThroughputMeter(java.time.Duration window) {
    if (window.isNegative() || window.isZero()) {
      throw new IllegalArgumentException("window must be positive, got " + window);
    }
    this.windowNanos = window.toNanos();
  }

  /** Records the cumulative count at {@code nanos} (a monotonic clock); samples older than the window are dropped. */
  synchronized void sample(long nanos, long count) {
    Sample last = samples.peekLast();
    if (last != null && (nanos <= last.nanos() || count < last.count())) {
      // a clock that did not advance, or a count that went down (restart, rebalance): start over
      samples.clear();
    }
    samples.addLast(new Sample(nanos, count));
    // keep one sample at or beyond the window edge so the rate always spans the full window once it can
    while (samples.size() > 2) {
      Sample second = samples.stream().skip(1).findFirst().orElseThrow();
      if (nanos - second.nanos() >= windowNanos) {
        samples.removeFirst();
      } else {
        break;
      }
    }
  }

  /** Count increase per second between the oldest and newest sample in the window; 0 before two samples. */
  synchronized double perSecond() {
    if (samples.size() < 2) {
      return 0;
    }
    Sample first = samples.peekFirst();
    Sample last = samples.peekLast();
    return (last.count() - first.count()) * 1e9 / (last.nanos() - first.nanos());
  }
}
