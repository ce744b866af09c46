package io.lorastream.stream.ingest;

import io.lorastream.avro.PipelineMetric;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Pipeline-wide ingest totals read back from the {@code metrics} topic. Ingest publishes each
 * counter cumulatively per input partition (and per reason for dead-letter counts) and re-publishes
 * it as it grows, so the latest value of each (counter, partition, reason) series wins and the
 * total is their sum over partitions. Readers that follow the topic (the demo's dashboard, the
 * experiment harness waiting for ingest to finish) fold every record in with {@link #accept}.
 * Safe for one writer and concurrent readers.
 */
public final class IngestTotals {
  private final Map<String, Double> latest = new ConcurrentHashMap<>();

  /** Folds one metrics record in; returns false (and ignores it) when it is not an ingest counter. */
  public boolean accept(PipelineMetric m) {
    if (!m.getName().startsWith("ingest.")) {
      return false;
    }
    Map<String, String> tags = m.getTags();
    latest.put(m.getName() + "|" + tags.getOrDefault(IngestMetrics.TAG_PARTITION, "") + "|"
        + tags.getOrDefault(IngestMetrics.TAG_REASON, ""), m.getValue());
    return true;
  }

  /** Sum over partitions of the latest cumulative value of the counter {@code name} (e.g. {@link IngestMetrics#TRAIN}). */
  public long total(String name) {
    double sum = 0;
    for (Map.Entry<String, Double> e : latest.entrySet()) {
      String[] k = e.getKey().split("\\|", -1);
      if (k[0].equals(name) && k[2].isEmpty()) {
        sum += e.getValue();
      }
    }
    return Math.round(sum);
  }

  /** Dead-lettered records by reason, summed over partitions. */
  public Map<String, Long> dlqByReason() {
    Map<String, Long> out = new TreeMap<>();
    latest.forEach((key, v) -> {
      String[] k = key.split("\\|", -1);
      if (k[0].equals(IngestMetrics.DLQ_BY_REASON)) {
        out.merge(k[2], Math.round(v), Long::sum);
      }
    });
    return out;
  }
}
