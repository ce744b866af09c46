package io.lorastream.trainer;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.OffsetRange;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.testing.LocalStackExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * The auditor of the reliability ITs: reads what the trainer really published on the
 * {@code adapters} and {@code metrics} topics, once as a {@code read_committed} consumer (what
 * inference and a restarting trainer see) and once {@code read_uncommitted} (which also shows the
 * records of aborted transactions), and checks the committed snapshots' {@code sourceOffsets}
 * against the input topic offset by offset. It reports gaps (offsets no committed snapshot claims:
 * lost records) and overlaps (offsets claimed twice: records counted twice) as numbers rather than
 * failing on the first one, so a test can print them and assert them to be zero.
 */
final class SnapshotLedger {
  /** One record of one adapter as found on a topic, with its offset (single-partition topics). */
  record Entry<T>(long offset, T value) {
  }

  /** How the committed ranges cover the input: per-offset problems summed over partitions. */
  record Coverage(long offsets, long gaps, long overlaps, Map<TopicPartition, Long> ends, List<String> problems) {
    boolean exact() {
      return gaps == 0 && overlaps == 0;
    }
  }

  private final LocalStackExtension stack;

  SnapshotLedger(LocalStackExtension stack) {
    this.stack = stack;
  }

  /** Snapshots of {@code adapterId} visible to read_committed consumers, in publish order. */
  List<Entry<AdapterSnapshot>> committedSnapshots(String adapterId) {
    return read(stack.catalog().adapters.name(), adapterId, true, stack.serdes().adapterSnapshot().deserializer());
  }

  /** Every snapshot record of {@code adapterId} in the log, including those of aborted transactions. */
  List<Entry<AdapterSnapshot>> allSnapshotRecords(String adapterId) {
    return read(stack.catalog().adapters.name(), adapterId, false, stack.serdes().adapterSnapshot().deserializer());
  }

  /** Metrics of {@code task} visible to read_committed consumers. */
  List<Entry<PipelineMetric>> committedMetrics(String task) {
    return read(stack.catalog().metrics.name(), task, true, stack.serdes().pipelineMetric().deserializer());
  }

  /** End offsets of every partition of {@code topic}. */
  Map<TopicPartition, Long> endOffsets(String topic) {
    try (KafkaConsumer<byte[], byte[]> c = consumer(true)) {
      List<TopicPartition> tps = partitions(c, topic);
      c.assign(tps);
      return sorted(c.endOffsets(tps, Duration.ofSeconds(30)));
    }
  }

  /**
   * Counts, for every offset of every partition of the input topic, how many committed snapshots
   * claim it. Exactly once everywhere means no example lost and none counted twice.
   */
  Coverage coverage(List<AdapterSnapshot> snapshots, String inputTopic) {
    Map<TopicPartition, Long> ends = endOffsets(inputTopic);
    long gaps = 0;
    long overlaps = 0;
    long offsets = 0;
    List<String> problems = new ArrayList<>();
    for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
      TopicPartition tp = e.getKey();
      int[] hits = new int[Math.toIntExact(e.getValue())];
      offsets += hits.length;
      for (AdapterSnapshot s : snapshots) {
        for (OffsetRange r : s.getSourceOffsets()) {
          if (!r.getTopic().equals(tp.topic()) || r.getPartition() != tp.partition()) {
            continue;
          }
          if (r.getFromOffset() < 0 || r.getUntilOffset() > hits.length || r.getFromOffset() > r.getUntilOffset()) {
            problems.add("v" + s.getVersion() + " claims " + tp + " [" + r.getFromOffset() + "," + r.getUntilOffset()
                + ") outside [0," + hits.length + ")");
            continue;
          }
          for (long o = r.getFromOffset(); o < r.getUntilOffset(); o++) {
            hits[(int) o]++;
          }
        }
      }
      for (int o = 0; o < hits.length; o++) {
        if (hits[o] == 0) {
          gaps++;
          if (problems.size() < 20) {
            problems.add(tp + "@" + o + " is claimed by no committed snapshot");
          }
        } else if (hits[o] > 1) {
          overlaps += hits[o] - 1;
          if (problems.size() < 20) {
            problems.add(tp + "@" + o + " is claimed by " + hits[o] + " committed snapshots");
          }
        }
      }
    }
    return new Coverage(offsets, gaps, overlaps, ends, problems);
  }

  private <T> List<Entry<T>> read(String topic, String key, boolean committed, Deserializer<T> deser) {
    List<Entry<T>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = consumer(committed)) {
      List<TopicPartition> tps = partitions(c, topic);
      if (tps.size() != 1) {
        throw new IllegalStateException(topic + " must have one partition (offset order = publish order), has "
            + tps.size());
      }
      c.assign(tps);
      c.seekToBeginning(tps);
      // The end is the LSO for read_committed and the high watermark otherwise: both final here,
      // because the audit runs after every producer has finished or been fenced.
      Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("could not read " + topic + " to " + end);
        }
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (r.key() != null && key.equals(new String(r.key(), StandardCharsets.UTF_8))) {
            out.add(new Entry<>(r.offset(), deser.deserialize(topic, r.value())));
          }
        }
      }
    }
    return out;
  }

  private KafkaConsumer<byte[], byte[]> consumer(boolean committed) {
    Map<String, Object> c = new HashMap<>(stack.clientProperties());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, committed ? "read_committed" : "read_uncommitted");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    return new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  private static List<TopicPartition> partitions(KafkaConsumer<?, ?> c, String topic) {
    return c.partitionsFor(topic, Duration.ofSeconds(30)).stream().map(i -> new TopicPartition(topic, i.partition()))
        .sorted(java.util.Comparator.comparingInt(TopicPartition::partition)).toList();
  }

  private static Map<TopicPartition, Long> sorted(Map<TopicPartition, Long> m) {
    Map<TopicPartition, Long> sorted = new TreeMap<>(java.util.Comparator.comparing(TopicPartition::topic)
        .thenComparingInt(TopicPartition::partition));
    sorted.putAll(m);
    return sorted;
  }
}
