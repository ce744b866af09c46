package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.OffsetRange;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.train.Pretrainer;
import io.lorastream.lora.train.RankSchedule;
import io.lorastream.testing.LocalStackExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer on a real embedded broker and registry: a drifted stream is trained through rank
 * growth and published as versioned snapshots; a restarted trainer resumes exactly where the last
 * committed snapshot left off; a trainer killed between sending a snapshot and committing it
 * leaves nothing visible and its successor redoes that work exactly once. At the end the committed
 * snapshots are reconciled against the input topic offset by offset.
 */
class AdapterTrainerIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(2);

  @TempDir
  static Path tmp;

  private static final String TASK = "drift";
  private static final String OTHER_TASK = "someone-else";
  private static final int D = 16;
  private static final int CLASSES = 4;
  private static final String SCHEDULE = "steps:2@0,4@15,8@30,16@45";
  private static final Duration AWAIT = Duration.ofSeconds(40);

  private static Path baseFile;
  private static List<Example> stream;

  @BeforeAll
  static void pretrainBaseAndGenerateStream() throws Exception {
    RotatingSubspaceStream.Config sc = new RotatingSubspaceStream.Config(D, CLASSES, 11L, List.of(0, 1, 4, 8),
        Math.PI / 2, 1250, 16);
    ModelSpec spec = ModelSpec.mlp(D, List.of(32), CLASSES, 3L);
    baseFile = tmp.resolve("base.lsbase");
    try (RotatingSubspaceStream gen = new RotatingSubspaceStream(sc)) {
      Pretrainer.Result r = new Pretrainer(Pretrainer.Config.defaults().withEpochs(3))
          .train(spec, gen.phaseSource(0, 1500, 5L), 1500, Device.cpu());
      try (BaseModel m = r.model()) {
        m.save(baseFile);
      }
    }
    stream = new ArrayList<>();
    try (RotatingSubspaceStream gen = new RotatingSubspaceStream(sc)) {
      gen.forEachRemaining(stream::add);
    }
    assertThat(stream).hasSize(5000);
  }

  @Test
  void trainsThroughRankGrowthResumesAfterRestartAndSurvivesAKillBeforeCommit() throws Exception {
    CommonConfig common = new CommonConfig(LayeredConfig.load(CommonConfig.DEFAULTS, null, Map.of(), Map.of(
        CommonConfig.BOOTSTRAP, stack.bootstrapServers(), CommonConfig.REGISTRY_URL, stack.registryUrl())));
    long validTaskExamples = 0;

    // Run 1: the first 3000 examples (phases 0-2), plus other tasks' examples and bad records.
    validTaskExamples += produce(stream.subList(0, 3000), 7, 3);
    Recorder rec1 = new Recorder();
    AdapterTrainer t1 = AdapterTrainer.create(config("first"), common, rec1);
    Thread th1 = start(t1);
    awaitAllRead(t1, validTaskExamples);
    t1.close();
    th1.join(AWAIT.toMillis());
    assertThat(t1.failure()).isEmpty();
    assertThat(rec1.stoppedCleanly.get()).isTrue();
    assertThat(t1.status().badRecords()).isEqualTo(10);
    assertThat(t1.status().otherTaskRecords()).isPositive();
    assertThat(rec1.committed).hasSizeGreaterThanOrEqualTo(3);
    assertThat(rec1.committed.get(rec1.committed.size() - 1).ranks().values()).containsOnly(16);
    assertThat(rec1.committed.get(rec1.committed.size() - 1).examplesSeen()).isEqualTo(validTaskExamples);
    assertThat(rec1.steps).allSatisfy(s -> {
      assertThat(s.skippedNonFinite()).isFalse();
      if (s.batchSize() > 0) {
        assertThat(s.loss()).isFinite();
      }
    });
    assertThat(rec1.steps.get(0).ranks().values()).containsOnly(2);
    Committed last1 = rec1.committed.get(rec1.committed.size() - 1);
    assertThat(rec1.committed).allSatisfy(c -> {
      assertThat(c.bytes()).isPositive();
      assertThat(c.commitWallTimeMillis()).isPositive();
    });

    // Run 2: more data, then a NEW trainer instance resumes from the last committed snapshot. Its
    // second transaction fails with an abortable error: it must abort, roll back and carry on.
    validTaskExamples += produce(stream.subList(3000, 4000), 2, 1); // bad records around an aborted transaction
    Recorder rec2 = new Recorder();
    java.util.concurrent.atomic.AtomicInteger sends = new java.util.concurrent.atomic.AtomicInteger();
    FaultInjector abortOnce = point -> {
      if (point.equals(FaultInjector.AFTER_SEND_BEFORE_COMMIT) && sends.incrementAndGet() == 2) {
        throw new org.apache.kafka.common.KafkaException("chaos: abortable transaction error");
      }
    };
    AdapterTrainer t2 = AdapterTrainer.create(config("second"), common, rec2, abortOnce);
    Thread th2 = start(t2);
    await().atMost(AWAIT).until(() -> t2.status().state() == TrainerStatus.State.RUNNING);
    awaitAllRead(t2, validTaskExamples);
    t2.close();
    th2.join(AWAIT.toMillis());
    assertThat(t2.failure()).isEmpty();
    assertThat(t2.status().transactionsAborted()).isEqualTo(1);
    assertThat(rec2.steps.get(0).ranks().values()).as("restored ranks").containsOnly(16);
    assertThat(rec2.steps.get(0).examplesSeen()).isGreaterThan(last1.examplesSeen());
    assertThat(rec2.committed).isNotEmpty();
    assertThat(rec2.committed.get(0).version()).isEqualTo(last1.version() + 1);

    // Run 3: a trainer killed after sending its first snapshot, before committing it.
    validTaskExamples += produce(stream.subList(4000, 5000), 0, 0);
    AtomicBoolean killed = new AtomicBoolean();
    FaultInjector kill = point -> {
      if (point.equals(FaultInjector.AFTER_SEND_BEFORE_COMMIT) && killed.compareAndSet(false, true)) {
        throw new IllegalStateException("chaos: killed before commit");
      }
    };
    Recorder rec3 = new Recorder();
    AdapterTrainer t3 = AdapterTrainer.create(config("third"), common, rec3, kill);
    Thread th3 = start(t3);
    await().atMost(AWAIT).until(() -> t3.status().state() == TrainerStatus.State.STOPPED);
    th3.join(AWAIT.toMillis());
    assertThat(killed).isTrue();
    assertThat(t3.failure()).get().extracting(Throwable::getMessage).isEqualTo("chaos: killed before commit");
    assertThat(rec3.committed).isEmpty();

    // Run 4: the successor fences the dead one's open transaction and redoes its work.
    Recorder rec4 = new Recorder();
    AdapterTrainer t4 = AdapterTrainer.create(config("fourth"), common, rec4);
    Thread th4 = start(t4);
    awaitAllRead(t4, validTaskExamples);
    t4.close();
    th4.join(AWAIT.toMillis());
    assertThat(t4.failure()).isEmpty();
    Committed last2 = rec2.committed.get(rec2.committed.size() - 1);
    assertThat(rec4.committed.get(0).version()).isEqualTo(last2.version() + 1);

    // Reconcile everything that is visible to read_committed consumers.
    List<AdapterSnapshot> snapshots = readCommitted(stack.catalog().adapters.name(), AdapterSnapshot.class, TASK);
    List<Long> versions = snapshots.stream().map(AdapterSnapshot::getVersion).toList();
    List<Long> expected = new ArrayList<>();
    for (long v = 1; v <= snapshots.size(); v++) {
      expected.add(v);
    }
    assertThat(versions).as("versions strictly increase, the aborted one is invisible").isEqualTo(expected);
    assertThat(snapshots).extracting(AdapterSnapshot::getTrainerId).doesNotContain("third");
    List<Long> published = new ArrayList<>();
    List.of(rec1, rec2, rec4).forEach(r -> r.committed.forEach(c -> published.add(c.version())));
    assertThat(versions).isEqualTo(published);

    try (BaseModel base = BaseModel.load(baseFile, Device.cpu())) {
      RankSchedule.Steps schedule = (RankSchedule.Steps) RankSchedule.parse(SCHEDULE);
      for (AdapterSnapshot s : snapshots) {
        DecodedAdapter d = SnapshotCodec.decode(s, base, null); // checksum, shapes, finiteness
        assertThat(d.ranks().values()).as("ranks of v%d at step %d", s.getVersion(), s.getOptimizerStep())
            .containsOnly(schedule.rankAt(s.getOptimizerStep()));
        assertThat(s.getMetrics().values()).allSatisfy(v -> assertThat(v).isFinite());
      }
    }
    assertThat(snapshots).extracting(s -> s.getLayers().get(0).getRank()).contains(2, 4, 8, 16);
    AdapterSnapshot finalSnapshot = snapshots.get(snapshots.size() - 1);
    assertThat(finalSnapshot.getExamplesSeen()).isEqualTo(validTaskExamples);

    Map<TopicPartition, Long> ends = endOffsets(stack.catalog().examplesTrain.name());
    for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
      int[] hits = new int[Math.toIntExact(e.getValue())];
      for (AdapterSnapshot s : snapshots) {
        for (OffsetRange r : s.getSourceOffsets()) {
          if (r.getTopic().equals(e.getKey().topic()) && r.getPartition() == e.getKey().partition()) {
            for (long o = r.getFromOffset(); o < r.getUntilOffset(); o++) {
              hits[(int) o]++;
            }
          }
        }
      }
      for (int o = 0; o < hits.length; o++) {
        assertThat(hits[o]).as("offset %d of %s covered once", o, e.getKey()).isEqualTo(1);
      }
    }

    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
        Map.<String, Object>of("bootstrap.servers", stack.bootstrapServers()))) {
      Map<TopicPartition, Long> group = new HashMap<>();
      admin.listConsumerGroupOffsets(config("x").groupId()).partitionsToOffsetAndMetadata().get()
          .forEach((tp, om) -> group.put(tp, om.offset()));
      assertThat(group).as("input offsets committed with the last snapshot").isEqualTo(ends);
    }

    List<PipelineMetric> metrics = readCommitted(stack.catalog().metrics.name(), PipelineMetric.class, TASK);
    assertThat(metrics.stream().filter(m -> m.getName().equals(SnapshotMetrics.SNAPSHOT_VERSION))
        .map(m -> (long) (double) m.getValue()).toList()).as("metrics ride in the snapshot transactions")
        .isEqualTo(versions);
    assertThat(metrics).allSatisfy(m -> assertThat(m.getValue()).isFinite());
    assertThat(metrics).filteredOn(m -> m.getName().equals(SnapshotMetrics.RANK))
        .extracting(m -> m.getTags().get("layer")).contains("fc0", "head");

    // Every bad record is dead-lettered exactly once, by the transaction that claimed its offset,
    // even across the aborted transaction, the kill and the restarts.
    List<ConsumerRecord<byte[], byte[]>> dead = new ArrayList<>();
    String dlq = stack.catalog().examplesDlq.name();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(readerProps(), new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> tps = c.partitionsFor(dlq).stream().map(i -> new TopicPartition(dlq, i.partition())).toList();
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps);
      while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        c.poll(Duration.ofMillis(200)).forEach(dead::add);
      }
    }
    assertThat(dead).hasSize(13);
    assertThat(dead).extracting(r -> io.lorastream.kafka.DlqHeaders.text(r.headers(),
        io.lorastream.kafka.DlqHeaders.SOURCE_PARTITION) + "@" + io.lorastream.kafka.DlqHeaders.text(r.headers(),
        io.lorastream.kafka.DlqHeaders.SOURCE_OFFSET)).doesNotHaveDuplicates();
    assertThat(dead).extracting(r -> io.lorastream.kafka.DlqHeaders.text(r.headers(),
        io.lorastream.kafka.DlqHeaders.SOURCE_TOPIC)).containsOnly(stack.catalog().examplesTrain.name());
    assertThat(dead).filteredOn(r -> "UNDECODABLE".equals(io.lorastream.kafka.DlqHeaders.text(r.headers(),
        io.lorastream.kafka.DlqHeaders.REASON))).hasSize(4)
        .allSatisfy(r -> assertThat(new String(r.value(), StandardCharsets.UTF_8)).isEqualTo("not avro"));
    assertThat(dead).filteredOn(r -> "INVALID_EXAMPLE".equals(io.lorastream.kafka.DlqHeaders.text(r.headers(),
        io.lorastream.kafka.DlqHeaders.REASON))).hasSize(9)
        .allSatisfy(r -> assertThat(io.lorastream.kafka.DlqHeaders.text(r.headers(), io.lorastream.kafka.DlqHeaders.DETAIL))
            .startsWith("INVALID_EXAMPLE: feature size 5"));
  }

  private static TrainerConfig config(String trainerId) {
    Map<String, String> m = new HashMap<>();
    m.put(TrainerConfig.ADAPTER_ID, TASK);
    m.put(TrainerConfig.ID, trainerId);
    m.put(TrainerConfig.BASE, baseFile.toString());
    m.put(TrainerConfig.DEVICE, "cpu");
    m.put(TrainerConfig.MICROBATCH_SIZE, "16");
    m.put(TrainerConfig.ACCUMULATION_STEPS, "2");
    m.put(TrainerConfig.LR, "0.01");
    m.put(TrainerConfig.RANK_SCHEDULE, SCHEDULE);
    m.put(TrainerConfig.PUBLISH_STEPS, "10");
    m.put(TrainerConfig.PUBLISH_MIN_INTERVAL_MS, "0");
    m.put(TrainerConfig.PUBLISH_INTERVAL_MS, "60000");
    m.put(TrainerConfig.POLL_TIMEOUT_MS, "50");
    m.put(TrainerConfig.METRICS_INTERVAL_MS, "2000");
    return TrainerConfig.of(m);
  }

  private static Thread start(AdapterTrainer t) {
    Thread th = new Thread(t, "trainer-" + t.config().trainerId());
    th.start();
    return th;
  }

  /** Waits until every valid example of the task produced so far is trained or buffered. */
  private static void awaitAllRead(AdapterTrainer t, long validTaskExamples) {
    await().atMost(AWAIT).failFast("trainer failed", () -> t.failure().isPresent()).untilAsserted(() -> {
      TrainerStatus s = t.status();
      assertThat(s.examplesSeen() + s.examplesBuffered()).isEqualTo(validTaskExamples);
    });
  }

  /**
   * Produces the examples of {@code TASK} keyed by task, alternating partitions explicitly so the
   * trainer interleaves two partitions; one other-task example every 20; {@code wrongSize} task
   * examples with a bad feature width and {@code garbage} undecodable records. Returns the number
   * of valid task examples.
   */
  private static long produce(List<Example> examples, int wrongSize, int garbage) throws Exception {
    String topic = stack.catalog().examplesTrain.name();
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    long valid = 0;
    try (KafkaProducer<String, LabeledExample> producer = new KafkaProducer<>(p, new StringSerializer(),
        stack.serdes().labeledExample().serializer());
        KafkaProducer<String, byte[]> raw = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
      int i = 0;
      for (Example e : examples) {
        producer.send(new ProducerRecord<>(topic, i % 2, TASK, labeled(e.id(), TASK, e.features(), e.label())));
        valid++;
        if (i % 20 == 0) {
          producer.send(new ProducerRecord<>(topic, (i / 20) % 2, OTHER_TASK,
              labeled("other-" + e.id(), OTHER_TASK, e.features(), e.label())));
        }
        if (i % 97 == 1 && wrongSize > 0) {
          wrongSize--;
          producer.send(new ProducerRecord<>(topic, i % 2, TASK, labeled("bad-" + e.id(), TASK, new float[5], 0)));
        }
        if (i % 131 == 2 && garbage > 0) {
          garbage--;
          raw.send(new ProducerRecord<>(topic, i % 2, TASK, "not avro".getBytes(StandardCharsets.UTF_8)));
        }
        i++;
      }
      producer.flush();
      raw.flush();
    }
    assertThat(wrongSize).isZero();
    assertThat(garbage).isZero();
    return valid;
  }

  private static LabeledExample labeled(String id, String task, float[] features, int label) {
    List<Float> f = new ArrayList<>(features.length);
    for (float v : features) {
      f.add(v);
    }
    return LabeledExample.newBuilder().setId(id).setTask(task).setFeatures(f).setLabel(label)
        .setEventTime(Instant.now()).setSource("it").build();
  }

  private static Map<String, Object> readerProps() {
    Map<String, Object> c = new HashMap<>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    return c;
  }

  private static Map<TopicPartition, Long> endOffsets(String topic) {
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(readerProps(), new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> tps = c.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      c.assign(tps);
      return c.endOffsets(tps);
    }
  }

  /** Every record of {@code key} visible to a read_committed consumer, in offset order. */
  @SuppressWarnings("unchecked")
  private static <T> List<T> readCommitted(String topic, Class<T> type, String key) {
    var deser = type == AdapterSnapshot.class ? stack.serdes().adapterSnapshot().deserializer()
        : stack.serdes().pipelineMetric().deserializer();
    List<T> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(readerProps(), new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> tps = c.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      assertThat(tps).hasSize(1); // adapters and metrics are single-partition: offset order is publish order
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps);
      while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (key.equals(new String(r.key(), StandardCharsets.UTF_8))) {
            out.add((T) deser.deserialize(topic, r.value()));
          }
        }
      }
    }
    return out;
  }

  private record Committed(long version, Map<String, Integer> ranks, long bytes, long commitWallTimeMillis,
      long examplesSeen) {
  }

  /** Collects listener calls from the trainer thread. */
  private static final class Recorder implements TrainerListener {
    final List<Committed> committed = new CopyOnWriteArrayList<>();
    final List<StepStats> steps = Collections.synchronizedList(new ArrayList<>());
    final AtomicBoolean stoppedCleanly = new AtomicBoolean();

    @Override
    public void onStep(StepStats stats) {
      steps.add(stats);
    }

    @Override
    public void onSnapshotCommitted(String adapterId, long version, Map<String, Integer> ranks, long bytes,
        long commitWallTimeMillis, long examplesSeen) {
      if (TASK.equals(adapterId)) {
        committed.add(new Committed(version, ranks, bytes, commitWallTimeMillis, examplesSeen));
      }
    }

    @Override
    public void onStopped(Throwable cause) {
      stoppedCleanly.set(cause == null);
    }
  }
}
