package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.metrics.KafkaClientMeters;
import io.lorastream.testing.LocalStackExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The fetcher threads on the embedded broker, as the trainer thread uses them: three partitions
 * over two fetchers arrive whole and in order per partition; after a seek no record polled
 * before it is current, and the partition goes on from the sought offset; a paused partition
 * yields nothing until resumed; outcomes decoded on the fetchers line up with their records.
 */
class PartitionFetchersIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(1);

  private static final String TOPIC = "fetchers-in";
  private static final int PARTITIONS = 3;
  private static final int PER_PARTITION = 3_000;
  private static final Duration LIMIT = Duration.ofSeconds(60);
  private static final List<TopicPartition> TPS = List.of(new TopicPartition(TOPIC, 0), new TopicPartition(TOPIC, 1),
      new TopicPartition(TOPIC, 2));

  @BeforeAll
  static void produce() throws Exception {
    try (Admin admin = Admin.create(new HashMap<String, Object>(stack.clientProperties()))) {
      admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, (short) 1))).all().get();
    }
    Map<String, Object> p = new HashMap<>(stack.clientProperties());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      for (int i = 0; i < PER_PARTITION; i++) {
        for (TopicPartition tp : TPS) {
          byte[] v = (tp.partition() + ":" + i).getBytes(StandardCharsets.UTF_8);
          producer.send(new ProducerRecord<>(TOPIC, tp.partition(), null, v));
        }
      }
      producer.flush();
    }
  }

  private static PartitionFetchers fetchers(boolean decode) {
    Map<String, Object> p = new HashMap<>(stack.clientProperties());
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "fetchers-it");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "200"); // many small polls queued ahead of the reader
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    return new PartitionFetchers(2, p, Duration.ofMillis(50),
        decode ? r -> RecordIntake.Outcome.bad("SEEN", r.partition() + "@" + r.offset()) : null,
        KafkaClientMeters.NONE, "it");
  }

  /** What the trainer thread would take from the fetchers: current records per partition, in arrival order. */
  private static final class Reader {
    final Map<TopicPartition, List<Long>> offsets = new TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
    final Map<TopicPartition, Long> positions = new HashMap<>();
    final List<String> misaligned = new ArrayList<>();
    long stale;

    void pollOnce(PartitionFetchers f) {
      TrainerInput.Polled p = f.poll(Duration.ofMillis(50));
      List<ConsumerRecord<byte[], byte[]>> rs = p.records();
      for (int i = 0; i < rs.size(); i++) {
        ConsumerRecord<byte[], byte[]> r = rs.get(i);
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        if (!f.current(p, tp)) {
          stale++;
          continue;
        }
        offsets.computeIfAbsent(tp, k -> new ArrayList<>()).add(r.offset());
        if (p.outcomes() != null && !(r.partition() + "@" + r.offset()).equals(p.outcomes().get(i).detail())) {
          misaligned.add(r.partition() + "@" + r.offset() + " got " + p.outcomes().get(i).detail());
        }
      }
      positions.putAll(f.positions(p, TPS));
    }

    int count(TopicPartition tp) {
      return offsets.getOrDefault(tp, List.of()).size();
    }
  }

  private static List<Long> range(long from, long until) {
    List<Long> out = new ArrayList<>();
    for (long o = from; o < until; o++) {
      out.add(o);
    }
    return out;
  }

  @Test
  void everyPartitionArrivesWholeAndInOrderAndOutcomesLineUp() {
    try (PartitionFetchers f = fetchers(true)) {
      f.assign(TPS);
      TPS.forEach(tp -> f.seek(tp, 0));
      Reader reader = new Reader();
      await().atMost(LIMIT).pollInterval(Duration.ofMillis(1)).until(() -> {
        reader.pollOnce(f);
        return TPS.stream().allMatch(tp -> reader.count(tp) == PER_PARTITION);
      });
      for (TopicPartition tp : TPS) {
        assertThat(reader.offsets.get(tp)).as("records of %s", tp).isEqualTo(range(0, PER_PARTITION));
      }
      await().atMost(LIMIT).pollInterval(Duration.ofMillis(1)).until(() -> {
        reader.pollOnce(f);
        return TPS.stream().allMatch(tp -> Long.valueOf(PER_PARTITION).equals(reader.positions.get(tp)));
      });
      assertThat(reader.misaligned).isEmpty();
      assertThat(TPS).allSatisfy(tp -> assertThat(f.lag(tp)).hasValue(0));
    }
  }

  @Test
  void afterASeekNothingPolledBeforeItIsCurrentAndThePartitionGoesOnFromThere() {
    try (PartitionFetchers f = fetchers(false)) {
      f.assign(TPS);
      TPS.forEach(tp -> f.seek(tp, 0));
      Reader reader = new Reader();
      TopicPartition rewound = TPS.get(0);
      TopicPartition paused = TPS.get(1);
      // A slow reader (one poll per 100 ms), so the fetchers have filled the queue when the seeks come.
      await().atMost(LIMIT).pollInterval(Duration.ofMillis(100)).until(() -> {
        reader.pollOnce(f);
        return reader.count(rewound) >= 500 && reader.count(paused) >= 100;
      });
      // A rewind of one partition (the trainer's rollback) and a pause at a record of another
      // (the registry is away), with polls of both still queued.
      int beforeRewind = reader.count(rewound);
      f.seek(rewound, 10);
      long pausedAt = reader.offsets.get(paused).get(reader.count(paused) - 1) + 1;
      f.seek(paused, pausedAt);
      f.pause(paused);
      long staleBefore = reader.stale;
      await().atMost(LIMIT).pollInterval(Duration.ofMillis(1)).until(() -> {
        reader.pollOnce(f);
        return reader.count(rewound) == beforeRewind + PER_PARTITION - 10 && reader.count(TPS.get(2)) == PER_PARTITION;
      });
      List<Long> expected = new ArrayList<>(range(0, beforeRewind));
      expected.addAll(range(10, PER_PARTITION));
      assertThat(reader.offsets.get(rewound)).as("the rewound partition: what it had, then again from offset 10")
          .isEqualTo(expected);
      assertThat(reader.offsets.get(paused)).as("nothing of the paused partition after the pause")
          .isEqualTo(range(0, pausedAt));
      assertThat(reader.offsets.get(TPS.get(2))).isEqualTo(range(0, PER_PARTITION));
      assertThat(reader.positions.get(paused)).as("the paused partition's position is the sought one").isEqualTo(pausedAt);
      assertThat(reader.stale).as("polls queued before the seeks were there and were not used").isGreaterThan(staleBefore);

      f.resume(List.of(paused));
      await().atMost(LIMIT).pollInterval(Duration.ofMillis(1)).until(() -> {
        reader.pollOnce(f);
        return reader.count(paused) == PER_PARTITION;
      });
      assertThat(reader.offsets.get(paused)).as("resumed at the offset it paused at").isEqualTo(range(0, PER_PARTITION));
    }
  }
}
