package io.lorastream.launcher;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.config.CommonConfig;
import io.lorastream.registry.RegistryException;
import io.lorastream.serde.LorastreamSerdes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads the {@code adapters} topic to its end (read_committed) and keeps one adapter's snapshots
 * by version, for the {@code adapters} commands. Records that do not decode are skipped; a
 * registry outage is not (without the registry nothing can be said about the versions).
 */
final class CommittedAdapterReader {
  private CommittedAdapterReader() {
  }

  /** Every decodable committed snapshot of {@code adapter}, by version (the newest copy of each). */
  static TreeMap<Long, AdapterSnapshot> read(CommonConfig common, String adapter, Duration timeout, String clientId) {
    String topic = common.catalog().adapters.name();
    Map<String, Object> p = new HashMap<>(common.kafkaProperties());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    p.remove(ConsumerConfig.GROUP_ID_CONFIG);
    Deserializer<AdapterSnapshot> d = LorastreamSerdes.create(common.registryConfig()).adapterSnapshot().deserializer();
    TreeMap<Long, AdapterSnapshot> out = new TreeMap<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> tps = c.partitionsFor(topic, timeout).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps, timeout);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new TimeoutException("could not read '" + topic + "' within " + timeout);
        }
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (r.key() == null || r.value() == null || !adapter.equals(new String(r.key(), StandardCharsets.UTF_8))) {
            continue;
          }
          try {
            AdapterSnapshot s = d.deserialize(topic, r.headers(), r.value());
            out.put(s.getVersion(), s);
          } catch (RuntimeException e) {
            if (RegistryException.isOutage(e)) {
              throw e;
            }
          }
        }
      }
    }
    return out;
  }
}
