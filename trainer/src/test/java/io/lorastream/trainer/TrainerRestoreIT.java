package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import io.lorastream.config.CommonConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.snapshot.AdapterDeletion;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.testing.LocalStackExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a (re)starting trainer restores when the committed state is hard to read or has been
 * tampered with: a registry that does not answer yet is waited for, never taken for bad data; an
 * undecodable or corrupt newest record falls back to the newest valid snapshot before it; with a
 * signing key an unsigned or forged tombstone is ignored (and superseded at once), while a signed
 * deletion is honoured; without a key a bare tombstone deletes. In every case the versions of the
 * adapter on the topic never repeat and never go backwards. Also the committed sequence of a fast
 * trainer: its cuts are no closer than {@code trainer.publish.min.interval.ms}, and the cut the bound
 * held back is still published. Each test trains its own adapter (the task), so they share one broker.
 */
class TrainerRestoreIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(2);

  @TempDir
  static Path tmp;

  private static final Duration LIMIT = Duration.ofSeconds(90);
  private static final String KEY = "restore-it-signing-key-0123456789";
  private static final Map<String, String> FAST = Map.of("kafka.default.api.timeout.ms", "3000");

  private static Path baseFile;
  private static List<Example> examples;
  /** Figures of this run for the README's Reliability section, written after all tests. */
  private static final Map<String, Object> FIGURES = new java.util.concurrent.ConcurrentSkipListMap<>();

  @org.junit.jupiter.api.AfterAll
  static void writeFigures() {
    ReliabilityReport.write("trainer-restore.json", FIGURES);
  }

  @BeforeAll
  static void baseAndStream() throws Exception {
    RotatingSubspaceStream.Config sc = RotatingSubspaceStream.Config.defaults(31L).withExamplesPerPhase(400);
    baseFile = TrainerFixture.pretrainBase(sc, tmp.resolve("base.lsbase"), 800);
    examples = TrainerFixture.stream(sc);
  }

  @Test
  void aRegistryOutageAtStartIsWaitedForAndTheTrainerResumesFromItsNewestSnapshot() throws Exception {
    String task = "outage";
    produce(task, 0, 600);
    Run first = trainUntilRead(task, Map.of(), 600);

    stack.registry().close();
    AdapterTrainer second;
    Thread th;
    try {
      // A fresh trainer has no cached schemas: decoding its snapshots needs the registry.
      // Decoding ahead: a partition waiting for the registry must be re-read, never skipped.
      second = AdapterTrainer.create(config(task, "outage-2", Map.of(TrainerConfig.DECODE_AHEAD, "true", TrainerConfig.STEPS_AHEAD, "2")), common(),
          TrainerListener.NONE);
      th = TrainerFixture.start(second);
      await().atMost(LIMIT).failFast("trainer failed", () -> second.failure().isPresent())
          .until(() -> second.status().stallRetries() >= 2);
      TrainerStatus waiting = second.status();
      FIGURES.put("registryOutage.stalledOn", waiting.stalledOn());
      FIGURES.put("registryOutage.retriesWhileDown", waiting.stallRetries());
      assertThat(waiting.state()).isEqualTo(TrainerStatus.State.STARTING);
      assertThat(waiting.stalledOn()).contains("schema registry");
      assertThat(waiting.lastCommittedVersion()).isZero(); // nothing restored, nothing reset yet
    } finally {
      stack.restartRegistry();
    }
    await().atMost(LIMIT).failFast("trainer failed", () -> second.failure().isPresent())
        .until(() -> second.status().state() == TrainerStatus.State.RUNNING);
    TrainerStatus resumed = second.status();
    assertThat(resumed.examplesSeen()).as("restored, not retrained").isEqualTo(first.examplesSeen());
    assertThat(resumed.lastCommittedVersion()).isEqualTo(first.lastVersion());
    assertThat(resumed.stalledOn()).isNull();

    produce(task, 600, 800);
    await().atMost(LIMIT).failFast("trainer failed", () -> second.failure().isPresent())
        .until(() -> second.status().examplesSeen() == 800 && second.status().examplesBuffered() == 0);
    // The quiet stream's last partial micro-batch is trained and published while the trainer runs.
    await().atMost(LIMIT).until(() -> committedSnapshots(task).get(committedSnapshots(task).size() - 1)
        .getExamplesSeen() == 800);
    second.close();
    th.join(LIMIT.toMillis());
    assertThat(second.failure()).isEmpty();

    List<AdapterSnapshot> snaps = committedSnapshots(task);
    assertStrictlyIncreasing(snaps);
    assertThat(snaps.get(snaps.size() - 1).getExamplesSeen()).isEqualTo(800);
    assertThat(snaps.get(0).getVersion()).isEqualTo(1);
    FIGURES.put("registryOutage.resumedFromVersion", resumed.lastCommittedVersion());
    FIGURES.put("registryOutage.resumedExamples", resumed.examplesSeen());
    FIGURES.put("registryOutage.versions", snaps.size() + " (v1..v" + snaps.get(snaps.size() - 1).getVersion() + ")");
  }

  @Test
  void anUndecodableOrCorruptNewestRecordFallsBackToTheNewestValidSnapshot() throws Exception {
    String task = "corrupt";
    produce(task, 0, 500);
    Run first = trainUntilRead(task, Map.of(), 500);
    AdapterSnapshot newest = committedSnapshots(task).get(committedSnapshots(task).size() - 1);

    // Bad bytes, then a copy of the newest snapshot with a later version whose checksum no longer holds.
    AdapterSnapshot tampered = AdapterSnapshot.newBuilder(newest).setVersion(newest.getVersion() + 1)
        .setChecksum(java.nio.ByteBuffer.wrap(new byte[32])).build();
    writeRaw(task, "not avro at all".getBytes(StandardCharsets.UTF_8), null);
    writeRaw(task, stack.serdes().adapterSnapshot().serializer().serialize(stack.catalog().adapters.name(), tampered),
        null);

    produce(task, 500, 600);
    Run second = trainUntilRead(task, Map.of(), 600, "corrupt-2");
    assertThat(second.restoredExamples()).as("restored from the newest valid snapshot").isEqualTo(first.examplesSeen());
    List<AdapterSnapshot> snaps = committedSnapshots(task);
    AdapterSnapshot last = snaps.get(snaps.size() - 1);
    assertThat(last.getExamplesSeen()).isEqualTo(600);
    // The corrupt copy used v(n+1): the successor continues after it.
    assertThat(last.getVersion()).isGreaterThan(tampered.getVersion());
    FIGURES.put("corrupt.restoredVersion", newest.getVersion());
    FIGURES.put("corrupt.skippedRecords", 2);
    FIGURES.put("corrupt.nextVersion", committedSnapshots(task).stream().filter(x -> x.getVersion() > newest.getVersion())
        .findFirst().orElseThrow().getVersion());
  }

  @Test
  void withSigningAnUnsignedTombstoneIsIgnoredAndSupersededAndASignedDeletionIsHonoured() throws Exception {
    String task = "signed";
    Map<String, String> signed = Map.of(TrainerConfig.HMAC_KEY, KEY);
    produce(task, 0, 500);
    Run first = trainUntilRead(task, signed, 500);

    // A plain producer deletes the adapter, and one with a made-up signature tries again.
    writeRaw(task, null, null);
    writeRaw(task, null, AdapterDeletion.headers(task, first.lastVersion(),
        "some-other-key-0123456789".getBytes(StandardCharsets.UTF_8)));

    AdapterTrainer second = AdapterTrainer.create(config(task, "signed-2", signed), common(), TrainerListener.NONE);
    Thread th = TrainerFixture.start(second);
    // Nothing new to train, yet a successor is committed at once so compaction cannot drop the state.
    await().atMost(LIMIT).failFast("trainer failed", () -> second.failure().isPresent())
        .until(() -> second.status().lastCommittedVersion() == first.lastVersion() + 1);
    assertThat(second.status().examplesSeen()).as("restored, not reset").isEqualTo(first.examplesSeen());
    assertThat(second.status().ignoredDeletions()).isEqualTo(2);
    second.close();
    th.join(LIMIT.toMillis());
    assertThat(second.failure()).isEmpty();
    List<AdapterSnapshot> snaps = committedSnapshots(task);
    AdapterSnapshot successor = snaps.get(snaps.size() - 1);
    assertThat(successor.getVersion()).isEqualTo(first.lastVersion() + 1);
    assertThat(successor.getExamplesSeen()).isEqualTo(first.examplesSeen());
    assertThat(successor.getSignature()).isNotNull();
    FIGURES.put("signed.ignoredDeletions", second.status().ignoredDeletions());
    FIGURES.put("signed.supersededBy", "v" + successor.getVersion() + " with the restored " + successor.getExamplesSeen()
        + " examples");

    // The operator's signed deletion of everything so far: the next trainer starts a fresh
    // adapter from the input's beginning, and its versions continue after the deleted ones.
    long deleted = successor.getVersion();
    writeRaw(task, null, AdapterDeletion.headers(task, deleted, KEY.getBytes(StandardCharsets.UTF_8)));
    Run third = trainUntilRead(task, signed, 500, "signed-3");
    assertThat(third.restoredExamples()).isZero();
    List<AdapterSnapshot> after = committedSnapshots(task);
    assertStrictlyIncreasing(after);
    assertThat(after.get(after.size() - 1).getVersion()).isGreaterThan(deleted);
    assertThat(after.stream().filter(s -> s.getVersion() > deleted).findFirst().orElseThrow().getExamplesSeen())
        .as("retrained from the beginning").isLessThanOrEqualTo(500);
    FIGURES.put("signed.deletedThrough", deleted);
    FIGURES.put("signed.firstVersionAfterDeletion", after.stream().filter(s -> s.getVersion() > deleted).findFirst()
        .orElseThrow().getVersion());
  }

  @Test
  void withoutSigningABareTombstoneDeletesButVersionsNeverRepeat() throws Exception {
    String task = "unsigned";
    produce(task, 0, 400);
    Run first = trainUntilRead(task, Map.of(), 400);
    writeRaw(task, null, null);
    Run second = trainUntilRead(task, Map.of(), 400, "unsigned-2");
    assertThat(second.restoredExamples()).isZero();
    List<AdapterSnapshot> snaps = committedSnapshots(task);
    assertStrictlyIncreasing(snaps);
    assertThat(snaps.get(snaps.size() - 1).getVersion()).isGreaterThan(first.lastVersion());
    assertThat(snaps.get(snaps.size() - 1).getExamplesSeen()).isEqualTo(400);
    FIGURES.put("unsigned.lastVersionBefore", first.lastVersion());
    FIGURES.put("unsigned.firstVersionAfter", snaps.stream().filter(s -> s.getVersion() > first.lastVersion())
        .findFirst().orElseThrow().getVersion());
  }

  @Test
  void aFastTrainerCutsNoCloserThanTheMinimumIntervalAndStillPublishesWhatItHeld() throws Exception {
    String task = "cadence";
    long minMs = 300;
    // One optimizer step (32 examples) per snapshot: unbounded, each burst of 200 would be six cuts.
    AdapterTrainer t = AdapterTrainer.create(config(task, "cadence-1", Map.of(TrainerConfig.PUBLISH_STEPS, "1",
        TrainerConfig.PUBLISH_MIN_INTERVAL_MS, String.valueOf(minMs))), common(), TrainerListener.NONE);
    long started = System.nanoTime();
    Thread th = TrainerFixture.start(t);
    for (int burst = 1; burst <= 4; burst++) {
      produce(task, 200 * (burst - 1), 200 * burst);
      // The cut the bound held after the burst ran out is published while the trainer runs.
      long upTo = 200L * burst;
      await().atMost(LIMIT).failFast("trainer failed", () -> t.failure().isPresent())
          .until(() -> {
            List<AdapterSnapshot> snaps = committedSnapshots(task);
            return !snaps.isEmpty() && snaps.get(snaps.size() - 1).getExamplesSeen() == upTo;
          });
    }
    long elapsedMs = (System.nanoTime() - started) / 1_000_000;
    List<AdapterSnapshot> snaps = committedSnapshots(task);
    t.close();
    th.join(LIMIT.toMillis());
    assertThat(t.failure()).isEmpty();
    assertStrictlyIncreasing(snaps);
    assertThat(snaps).hasSizeGreaterThanOrEqualTo(4);
    assertThat(snaps.size()).as("at most one cut per %d ms in %d ms", minMs, elapsedMs)
        .isLessThanOrEqualTo((int) (elapsedMs / minMs) + 1);
    for (int i = 1; i < snaps.size(); i++) {
      long gap = snaps.get(i).getCreatedAt().toEpochMilli() - snaps.get(i - 1).getCreatedAt().toEpochMilli();
      assertThat(gap).as("cut v%d after v%d", snaps.get(i).getVersion(), snaps.get(i - 1).getVersion())
          .isGreaterThanOrEqualTo(minMs - 2); // wall-clock millis around a monotonic bound
    }
    FIGURES.put("cadence.snapshotsFor800Examples", snaps.size());
    FIGURES.put("cadence.elapsedMs", elapsedMs);
  }

  // ---------------------------------------------------------------------------------------------

  /** What one trainer run restored and ended with. */
  private record Run(long restoredExamples, long examplesSeen, long lastVersion) {
  }

  private Run trainUntilRead(String task, Map<String, String> overrides, long total) throws Exception {
    return trainUntilRead(task, overrides, total, task + "-1");
  }

  private Run trainUntilRead(String task, Map<String, String> overrides, long total, String trainerId)
      throws Exception {
    java.util.concurrent.atomic.AtomicLong restored = new java.util.concurrent.atomic.AtomicLong(-1);
    TrainerListener onRestore = new TrainerListener() {
      @Override
      public void onRestored(String adapterId, long version, long examplesSeen) {
        restored.compareAndSet(-1, examplesSeen);
      }
    };
    AdapterTrainer t = AdapterTrainer.create(config(task, trainerId, overrides), common(), onRestore);
    Thread th = TrainerFixture.start(t);
    await().atMost(LIMIT).failFast("trainer failed", () -> t.failure().isPresent())
        .until(() -> t.status().examplesSeen() + t.status().examplesBuffered() == total
            && t.status().inputLag() == 0);
    t.close();
    th.join(LIMIT.toMillis());
    assertThat(t.failure()).isEmpty();
    assertThat(t.status().examplesSeen()).isEqualTo(total);
    return new Run(restored.get(), t.status().examplesSeen(), t.status().lastCommittedVersion());
  }

  private static TrainerConfig config(String task, String trainerId, Map<String, String> overrides) {
    Map<String, String> m = new HashMap<>(overrides);
    m.putIfAbsent(TrainerConfig.PUBLISH_STEPS, "4");
    m.putIfAbsent(TrainerConfig.PUBLISH_MIN_INTERVAL_MS, "0");
    m.put(TrainerConfig.PUBLISH_INTERVAL_MS, "1000"); // a quiet stream's partial micro-batch is trained after 1 s
    return TrainerFixture.config(task, trainerId, baseFile, m);
  }

  private static CommonConfig common() {
    return TrainerFixture.common(stack, FAST);
  }

  private static void produce(String task, int from, int until) {
    Map<String, Object> p = new HashMap<>(stack.clientProperties());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<String, LabeledExample> producer = new KafkaProducer<>(p, new StringSerializer(),
        stack.serdes().labeledExample().serializer())) {
      for (int i = from; i < until; i++) {
        producer.send(new ProducerRecord<>(stack.catalog().examplesTrain.name(), i % 2, task,
            TrainerFixture.labeled(examples.get(i), task)));
      }
      producer.flush();
    }
  }

  /** A plain, non-transactional write to {@code adapters}, as any client with Write access could make. */
  private static void writeRaw(String task, byte[] value, Headers headers) {
    Map<String, Object> p = new HashMap<>(stack.clientProperties());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
        new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>(stack.catalog().adapters.name(), null, task, value,
          headers == null ? List.of() : headers)).get();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Every decodable, checksum-valid snapshot of {@code task} visible to read_committed readers, in log order. */
  private static List<AdapterSnapshot> committedSnapshots(String task) {
    Map<String, Object> p = new HashMap<>(stack.clientProperties());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    List<AdapterSnapshot> out = new ArrayList<>();
    String topic = stack.catalog().adapters.name();
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p,
        new org.apache.kafka.common.serialization.StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> tps = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition()))
          .toList();
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps);
      while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (!task.equals(r.key()) || r.value() == null) {
            continue;
          }
          AdapterSnapshot s;
          try {
            s = stack.serdes().adapterSnapshot().deserializer().deserialize(topic, r.value());
            if (!java.nio.ByteBuffer.wrap(SnapshotCodec.checksum(s)).equals(s.getChecksum())) {
              continue;
            }
          } catch (RuntimeException e) {
            continue; // the test's own garbage
          }
          out.add(s);
        }
      }
    }
    return out;
  }

  private static void assertStrictlyIncreasing(List<AdapterSnapshot> snaps) {
    assertThat(snaps).isNotEmpty();
    for (int i = 1; i < snaps.size(); i++) {
      assertThat(snaps.get(i).getVersion()).as("version after v" + snaps.get(i - 1).getVersion())
          .isGreaterThan(snaps.get(i - 1).getVersion());
    }
  }
}
