package io.lorastream.launcher;

import io.lorastream.avro.PipelineMetric;
import io.lorastream.config.CommonConfig;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.inference.InferenceMetrics;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * What each inference consumer reported serving recently, from the {@code metrics} topic: every
 * consumer of one adapter publishes its active version (and canary version) at its metrics
 * interval, so the newest report per consumer within a window is what it serves now, give or take
 * that interval. Consumers serving every adapter ({@code *}) do not report per adapter.
 */
final class ServedVersions {
  /** One consumer's newest report. */
  record Served(long active, Long canary, long atMillis) {
  }

  private ServedVersions() {
  }

  /** By adapter id, then consumer id: the newest report within {@code window}. */
  static Map<String, Map<String, Served>> read(CommonConfig common, LorastreamSerdes serdes, Duration window,
      Duration timeout) {
    Map<String, Map<String, Served>> out = new TreeMap<>();
    Map<String, Object> p = new HashMap<>(common.kafkaProperties());
    p.remove(ConsumerConfig.GROUP_ID_CONFIG);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "lorastream-adapters-served");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    String topic = common.catalog().metrics.name();
    long since = System.currentTimeMillis() - window.toMillis();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      List<PartitionInfo> infos = c.partitionsFor(topic, timeout);
      if (infos == null || infos.isEmpty()) {
        return out;
      }
      List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
      c.assign(tps);
      Map<TopicPartition, Long> query = new HashMap<>();
      tps.forEach(tp -> query.put(tp, since));
      Map<TopicPartition, OffsetAndTimestamp> from = c.offsetsForTimes(query, timeout);
      Map<TopicPartition, Long> end = c.endOffsets(tps, timeout);
      for (TopicPartition tp : tps) {
        OffsetAndTimestamp o = from.get(tp);
        c.seek(tp, o == null ? end.get(tp) : o.offset());
      }
      // Per (adapter, consumer): the newest active report and the newest canary report, {version, at}.
      Map<String, Map<String, long[]>> active = new TreeMap<>();
      Map<String, Map<String, long[]>> canary = new HashMap<>();
      long deadline = System.nanoTime() + timeout.toNanos();
      while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          PipelineMetric m;
          try {
            m = serdes.pipelineMetric().deserializer().deserialize(r.topic(), r.headers(), r.value());
          } catch (RuntimeException e) {
            continue; // a record no service of ours wrote: not a report
          }
          String consumer = m == null ? null : m.getTags().get(InferenceMetrics.TAG_CONSUMER);
          if (consumer == null || m.getTask().isEmpty()) {
            continue;
          }
          Map<String, Map<String, long[]>> into = m.getName().equals(InferenceMetrics.ACTIVE_VERSION) ? active
              : m.getName().equals(InferenceMetrics.CANARY_VERSION) ? canary : null;
          if (into != null) {
            long at = m.getTimestamp().toEpochMilli();
            into.computeIfAbsent(m.getTask(), k -> new TreeMap<>())
                .merge(consumer, new long[] {(long) m.getValue(), at}, (was, now) -> now[1] >= was[1] ? now : was);
          }
        }
      }
      // A canary counts only when it came with the newest active report (one report carries both).
      active.forEach((task, byConsumer) -> byConsumer.forEach((consumer, a) -> {
        long[] cv = canary.getOrDefault(task, Map.of()).get(consumer);
        out.computeIfAbsent(task, k -> new TreeMap<>())
            .put(consumer, new Served(a[0], cv != null && cv[1] == a[1] ? cv[0] : null, a[1]));
      }));
    }
    return out;
  }

  /** One line per adapter: {@code consumer vN (canary vM), Ts ago; ...}. */
  static String describe(Map<String, Served> byConsumer, long nowMillis) {
    StringBuilder b = new StringBuilder();
    byConsumer.forEach((consumer, s) -> {
      b.append(b.length() == 0 ? "" : "; ").append(consumer).append(" v").append(s.active());
      if (s.canary() != null) {
        b.append(" (canary v").append(s.canary()).append(')');
      }
      b.append(", ").append(Math.max(0, (nowMillis - s.atMillis()) / 1000)).append(" s ago");
    });
    return b.toString();
  }
}
