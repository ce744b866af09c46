package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import io.lorastream.config.CommonConfig;
import io.lorastream.kafka.ChunkedValues;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.testing.LocalStackExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A snapshot larger than the adapters topic accepts: LoRA on a 20,000-token embedding table at
 * r=16 is 1.3 MB, on a topic whose {@code max.message.bytes} is 1 MB. The trainer publishes it in
 * parts within its transaction; a read_committed reader puts every version back together and it
 * verifies; a restarted trainer restores the newest one instead of starting over.
 */
class TrainerPartsIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(1);

  @TempDir
  static Path tmp;

  private static final Duration LIMIT = Duration.ofSeconds(120);
  private static final int ONE_MB = 1024 * 1024;
  private static final String TOPIC = "adapters-1mb";
  private static final ModelSpec SPEC = ModelSpec.embeddingBag(20_000, 16, 16, List.of(), 3, 5L);

  @Test
  void aSnapshotOverTheTopicsMessageLimitIsPublishedInPartsAndRestored() throws Exception {
    try (Admin admin = Admin.create(new HashMap<>(stack.clientProperties()))) {
      admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1).configs(Map.of(
          TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
          TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(ONE_MB))))).all().get();
    }
    Path baseFile = tmp.resolve("emb.lsbase");
    try (BaseModel b = BaseModel.create(SPEC, Device.cpu())) {
      b.save(baseFile);
    }
    String task = "big";
    produce(task, 0, 160);
    Map<String, String> settings = Map.of(TrainerConfig.TARGETS, "emb,head", TrainerConfig.RANK_SCHEDULE, "fixed:16",
        TrainerConfig.PUBLISH_STEPS, "2", TrainerConfig.PUBLISH_INTERVAL_MS, "1000",
        TrainerConfig.PUBLISH_MIN_INTERVAL_MS, "0");
    CommonConfig common = TrainerFixture.common(stack, Map.of("topic.adapters", TOPIC));

    AdapterTrainer first = AdapterTrainer.create(TrainerFixture.config(task, "big-1", baseFile, settings), common,
        TrainerListener.NONE);
    Thread th = TrainerFixture.start(first);
    await().atMost(LIMIT).failFast("trainer failed", () -> first.failure().isPresent())
        .until(() -> first.status().examplesSeen() == 160 && first.status().lastCommittedVersion() >= 3);
    long published = first.status().lastCommittedVersion();
    first.close();
    th.join(LIMIT.toMillis());
    assertThat(first.failure()).isEmpty();

    // On the topic: parts of at most 512 KiB ahead of each last part, which names the count.
    List<ConsumerRecord<byte[], byte[]>> log = readAll();
    assertThat(log).allSatisfy(r -> assertThat(r.value().length).isLessThanOrEqualTo(ChunkedValues.DEFAULT_PART_BYTES));
    assertThat(log).extracting(r -> new String(r.key(), StandardCharsets.UTF_8)).contains("big/part/0", "big/part/1",
        "big");
    ChunkedValues.Assembler parts = new ChunkedValues.Assembler();
    List<AdapterSnapshot> versions = new ArrayList<>();
    try (BaseModel base = BaseModel.load(baseFile, Device.cpu())) {
      for (ConsumerRecord<byte[], byte[]> raw : log) {
        ConsumerRecord<byte[], byte[]> r = parts.offer(raw).record();
        if (r == null) {
          continue;
        }
        assertThat(r.value().length).as("the whole snapshot exceeds the topic's limit").isGreaterThan(ONE_MB);
        AdapterSnapshot s = stack.serdes().adapterSnapshot().deserializer().deserialize(TOPIC, r.value());
        DecodedAdapter d = SnapshotCodec.decode(s, base, null);
        assertThat(d.layers()).extracting(l -> l.name() + "@" + l.rank()).containsExactly("head@16", "emb@16");
        versions.add(s);
      }
    }
    assertThat(versions).extracting(AdapterSnapshot::getVersion).isNotEmpty().isSorted()
        .endsWith(published);

    AtomicLong restored = new AtomicLong(-1);
    AdapterTrainer second = AdapterTrainer.create(TrainerFixture.config(task, "big-2", baseFile, settings), common,
        new TrainerListener() {
          @Override
          public void onRestored(String adapterId, long version, long examplesSeen) {
            restored.set(version);
          }
        });
    Thread th2 = TrainerFixture.start(second);
    await().atMost(LIMIT).failFast("trainer failed", () -> second.failure().isPresent())
        .until(() -> second.status().state() == TrainerStatus.State.RUNNING);
    assertThat(restored.get()).isEqualTo(published);
    assertThat(second.status().examplesSeen()).as("restored, not retrained").isEqualTo(160);
    second.close();
    th2.join(LIMIT.toMillis());
    assertThat(second.failure()).isEmpty();
  }

  private static void produce(String task, int from, int until) {
    Map<String, Object> p = new HashMap<>(stack.clientProperties());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    Random rnd = new Random(9);
    try (KafkaProducer<String, LabeledExample> producer = new KafkaProducer<>(p, new StringSerializer(),
        stack.serdes().labeledExample().serializer())) {
      for (int i = from; i < until; i++) {
        float[] ids = new float[SPEC.seqLen()];
        int label = i % 3;
        for (int j = 0; j < ids.length; j++) {
          ids[j] = 1 + rnd.nextInt(SPEC.vocabSize() - 1);
        }
        ids[0] = 1 + label; // a token that gives the class away
        producer.send(new ProducerRecord<>(stack.catalog().examplesTrain.name(), task,
            TrainerFixture.labeled("e" + i, task, ids, label, null)));
      }
      producer.flush();
    }
  }

  private static List<ConsumerRecord<byte[], byte[]>> readAll() {
    Map<String, Object> p = new HashMap<>(stack.clientProperties());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(TOPIC, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      long end = c.endOffsets(List.of(tp)).get(tp);
      while (c.position(tp) < end) {
        c.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }
}
