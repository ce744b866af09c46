package io.lorastream.launcher;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Pairs each snapshot's commit time (from the trainer) with the time each inference consumer
 * activated that version, to measure rollout latency from commit to active. Both clocks are this
 * JVM's wall clock, so the difference is meaningful in the demo and the benchmark.
 */
final class SwapRecorder {
  private final Map<Long, Long> committedAt = new ConcurrentHashMap<>();
  private final Map<String, Map<Long, Long>> activatedAt = new ConcurrentHashMap<>();

  void committed(long version, long wallMillis) {
    committedAt.put(version, wallMillis);
  }

  void activated(String consumer, long version, long wallMillis) {
    activatedAt.computeIfAbsent(consumer, c -> new ConcurrentHashMap<>()).put(version, wallMillis);
  }

  boolean isCommitted(long version) {
    return committedAt.containsKey(version);
  }

  int versionsCommitted() {
    return committedAt.size();
  }

  int versionsApplied(String consumer) {
    return (int) activatedAt.getOrDefault(consumer, Map.of()).keySet().stream().filter(v -> v > 0).count();
  }

  /** Per consumer, commit-to-active latency in ms by version (versions whose commit and activation were both seen). */
  Map<String, java.util.SortedMap<Long, Long>> latenciesByVersion() {
    Map<String, java.util.SortedMap<Long, Long>> out = new TreeMap<>();
    activatedAt.forEach((consumer, m) -> m.forEach((v, t) -> {
      Long c = committedAt.get(v);
      if (c != null) {
        out.computeIfAbsent(consumer, x -> new TreeMap<>()).put(v, Math.max(0, t - c));
      }
    }));
    return out;
  }

  /** Latencies in ms for every (consumer, version) whose commit and activation were both seen. */
  List<Long> latenciesMillis() {
    List<Long> out = new ArrayList<>();
    activatedAt.values().forEach(m -> m.forEach((v, t) -> {
      Long c = committedAt.get(v);
      if (c != null) {
        out.add(Math.max(0, t - c));
      }
    }));
    Collections.sort(out);
    return out;
  }

  /** p50/p99/max of {@link #latenciesMillis()}; -1 when nothing was measured. */
  Map<String, Long> percentiles() {
    List<Long> l = latenciesMillis();
    Map<String, Long> m = new TreeMap<>();
    m.put("p50", percentile(l, 0.50));
    m.put("p99", percentile(l, 0.99));
    m.put("max", l.isEmpty() ? -1 : l.get(l.size() - 1));
    m.put("samples", (long) l.size());
    return m;
  }

  static long percentile(List<Long> sorted, double q) {
    if (sorted.isEmpty()) {
      return -1;
    }
    int idx = (int) Math.ceil(q * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, idx)));
  }
}
