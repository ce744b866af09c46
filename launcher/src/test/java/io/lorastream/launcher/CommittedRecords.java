package io.lorastream.launcher;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads every committed record of a topic, as a downstream {@code read_committed} consumer would
 * see it: all partitions from the beginning up to the last stable offsets measured at the start
 * of the read. The pipeline ITs use it after the services have drained, to compare what a topic
 * really holds with what the test produced, record for record.
 */
final class CommittedRecords {
  private CommittedRecords() {
  }

  /** Every committed record of {@code topic}; {@code client} are Kafka client settings (bootstrap, SASL). */
  static List<ConsumerRecord<byte[], byte[]>> readAll(Map<String, String> client, String topic) {
    Map<String, Object> cfg = new HashMap<>(client);
    cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cfg.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cfg.remove(ConsumerConfig.GROUP_ID_CONFIG);
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cfg, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = c.endOffsets(parts, Duration.ofSeconds(30));
      await("reading " + topic + " up to " + end).atMost(Duration.ofSeconds(60)).until(() -> {
        c.poll(Duration.ofMillis(200)).forEach(out::add);
        for (TopicPartition tp : parts) {
          if (c.position(tp) < end.get(tp)) {
            return false;
          }
        }
        return true;
      });
    }
    return out;
  }
}
