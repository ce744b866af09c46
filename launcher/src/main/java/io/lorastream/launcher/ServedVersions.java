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
          if (m == null) {
            continue;
          }
          String consumer = m.getTags().get(InferenceMetrics.TAG_CONSUMER);
          if (consumer == null || m.getTask().isEmpty()) {
            continue;
          }
          long at = m.getTimestamp().toEpochMilli();
          if (m.getName().equals(InferenceMetrics.ACTIVE_VERSION)) {
            Map<String, Served> byConsumer = out.computeIfAbsent(m.getTask(), k -> new TreeMap<>());
            Served was = byConsumer.get(consumer);
            if (was == null || was.atMillis() <= at) {
              long[] cv = canary.getOrDefault(m.getTask(), Map.of()).get(consumer);
              byConsumer.put(consumer, new Served((long) m.getValue(), cv != null && cv[1] == at ? cv[0] : null, at));
            }
          } else if (m.getName().equals(InferenceMetrics.CANARY_VERSION)) {
            canary.computeIfAbsent(m.getTask(), k -> new HashMap<>()).put(consumer, new long[] {(long) m.getValue(), at});
            Served s = out.getOrDefault(m.getTask(), Map.of()).get(consumer);
            if (s != null && s.atMillis() == at) {
              out.get(m.getTask()).put(consumer, new Served(s.active(), (long) m.getValue(), at));
            }
          }
        }
      }
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
