package io.lorastream.stream.inference;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;

/**
 * Live counters of one inference consumer's request path, updated lock-free by the stream threads
 * and read by status lines, summaries and tests: predictions made, requests skipped per
 * {@link SkipReason}, and compute latency (sum and maximum, in microseconds).
 */
public final class InferenceCounters {
  private final LongAdder predictions = new LongAdder();
  private final LongAdder latencyMicrosSum = new LongAdder();
  private final LongAccumulator latencyMicrosMax = new LongAccumulator(Math::max, 0);
  private final Map<SkipReason, LongAdder> skipped = new EnumMap<>(SkipReason.class);
  private final List<LongConsumer> latencyListeners = new CopyOnWriteArrayList<>();

  public InferenceCounters() {
    for (SkipReason r : SkipReason.values()) {
      skipped.put(r, new LongAdder());
    }
  }

  void predicted(long latencyMicros) {
    predictions.increment();
    latencyMicrosSum.add(latencyMicros);
    latencyMicrosMax.accumulate(latencyMicros);
    for (LongConsumer l : latencyListeners) {
      l.accept(latencyMicros);
    }
  }

  /**
   * Also hands every prediction's compute latency (microseconds) to {@code listener}, on the stream
   * thread: it must be cheap and must not throw (e.g. a Micrometer timer's record). Predictions made
   * before registration are not replayed.
   */
  public void onPrediction(LongConsumer listener) {
    latencyListeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** Counts a skip and returns the new count of that reason (used to thin out log lines). */
  long countSkip(SkipReason reason) {
    LongAdder a = skipped.get(reason);
    a.increment();
    return a.sum();
  }

  public long predictions() {
    return predictions.sum();
  }

  /** Skipped requests of one reason. */
  public long skipped(SkipReason reason) {
    return skipped.get(reason).sum();
  }

  /** Skipped requests, all reasons. */
  public long skippedTotal() {
    return skipped.values().stream().mapToLong(LongAdder::sum).sum();
  }

  /** A copy of the per-reason skip counts (every reason present). */
  public Map<SkipReason, Long> skippedByReason() {
    Map<SkipReason, Long> m = new EnumMap<>(SkipReason.class);
    skipped.forEach((k, v) -> m.put(k, v.sum()));
    return m;
  }

  /** Mean compute latency per prediction in microseconds; 0 before the first. */
  public double meanLatencyMicros() {
    long n = predictions.sum();
    return n == 0 ? 0 : (double) latencyMicrosSum.sum() / n;
  }

  /** Sum of all prediction latencies in microseconds (with {@link #predictions()}, a Prometheus summary). */
  public long latencyMicrosTotal() {
    return latencyMicrosSum.sum();
  }

  public long maxLatencyMicros() {
    return latencyMicrosMax.get();
  }
}
