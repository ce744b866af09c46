package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import io.lorastream.config.CommonConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.registry.SchemaRegistryClient;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.serde.WireFormat;
import io.lorastream.testing.LocalStackExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario 2 of the reliability issue, trainer side: the embedded broker is stopped and restarted
 * on the same data directory three times while examples are being produced and the trainer is
 * running: once right after the trainer trained its first micro-batch (its first snapshot cannot
 * be sent), once while it holds a snapshot transaction open (sent, not yet committed), and once
 * while a restarted trainer instance is reading its committed state. Each time the test waits, with Awaitility, until the trainer's status shows
 * that it is stalled and retrying, restarts the broker, and waits until the trainer is no longer
 * stalled and commits again: no manual action, no failure. Afterwards the same reconciliation as
 * in the chaos IT holds (every input offset claimed exactly once, contiguous versions, examples
 * seen = N), and the Kafka-backed schema registry still serves and registers schemas. The
 * trainer's Kafka clients get {@code max.block.ms=2000} and {@code default.api.timeout.ms=3000}
 * so that stalls show within seconds; with the defaults (60 s) the behaviour is the same, only
 * slower to report.
 */
class TrainerBrokerRestartIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(2);

  @TempDir
  static Path tmp;

  private static final String TASK = "restart";
  private static final int CHUNK = 500;
  private static final int AHEAD = 1500;
  private static final Duration LIMIT = Duration.ofSeconds(90);
  private static final Map<String, String> FAST_STALLS = Map.of(
      "kafka.max.block.ms", "2000", "kafka.default.api.timeout.ms", "3000");

  private static Path baseFile;
  private static List<Example> examples;

  @BeforeAll
  static void baseAndStream() throws Exception {
    RotatingSubspaceStream.Config sc = RotatingSubspaceStream.Config.defaults(23L).withExamplesPerPhase(2500);
    baseFile = TrainerFixture.pretrainBase(sc, tmp.resolve("base.lsbase"), 1500);
    examples = TrainerFixture.stream(sc); // 4 phases x 2500 = 10,000
  }

  @Test
  void trainerRidesOutBrokerRestartsWithoutLosingOrDoublingAnExample() throws Exception {
    long t0 = System.nanoTime();
    long n = examples.size();
    CommonConfig common = TrainerFixture.common(stack, FAST_STALLS);
    AtomicReference<AdapterTrainer> current = new AtomicReference<>();
    List<String> stalls = new ArrayList<>();
    long timeouts = 0;
    long aborted = 0;

    // The snapshot and metric schemas are registered up front: with the broker down the registry
    // can still serve them, but not register them (its store is Kafka), and this test is about Kafka.
    SchemaRegistryClient registry = stack.newRegistryClient();
    registry.register(stack.catalog().adapters.name() + "-value", AdapterSnapshot.getClassSchema());
    registry.register(stack.catalog().metrics.name() + "-value", io.lorastream.avro.PipelineMetric.getClassSchema());

    Gate gate = new Gate();
    gate.arm(FaultInjector.AFTER_TRAIN);
    AdapterTrainer first = AdapterTrainer.create(config("restart-1"), common, TrainerListener.NONE, gate);
    current.set(first);
    Thread th1 = TrainerFixture.start(first);
    GatedProducer producer = new GatedProducer(() -> current.get().status().examplesSeen());
    Thread feeder = new Thread(producer, "example-producer");
    feeder.setDaemon(true);
    feeder.start();

    // Outage 1: the trainer has just trained its first micro-batch; its producer has never sent
    // anything, so its first snapshot cannot even be enqueued while the broker is down. Regression:
    // send() then returned failed futures, one every max.block.ms, the transaction was aborted
    // without the status ever saying the trainer was stalled, and it sat idle looking healthy.
    await().atMost(LIMIT).until(gate::holding);
    stack.kafka().stop();
    gate.release();
    String firstStall = awaitStalledThenRestart(first);
    assertThat(firstStall).isEqualTo("publishing v1");
    stalls.add(firstStall);
    await().atMost(LIMIT).failFast("trainer failed", () -> first.failure().isPresent())
        .until(() -> first.status().stalledOn() == null && first.status().lastCommittedVersion() >= 1);

    // Outage 2: the trainer has sent a snapshot and its offsets and is about to commit.
    await().atMost(LIMIT).failFast("trainer failed", () -> first.failure().isPresent())
        .until(() -> first.status().lastCommittedVersion() >= 4);
    gate.arm(FaultInjector.AFTER_SEND_BEFORE_COMMIT);
    await().atMost(LIMIT).until(gate::holding);
    long before = first.status().lastCommittedVersion();
    stack.kafka().stop();
    gate.release();
    stalls.add(awaitStalledThenRestart(first));
    await().atMost(LIMIT).failFast("trainer failed", () -> first.failure().isPresent())
        .until(() -> first.status().stalledOn() == null && first.status().lastCommittedVersion() > before);
    long seen = first.status().examplesSeen();
    await().atMost(LIMIT).failFast("trainer failed", () -> first.failure().isPresent())
        .until(() -> first.status().examplesSeen() >= seen + 1000);
    first.close();
    th1.join(LIMIT.toMillis());
    assertThat(first.failure()).isEmpty();
    timeouts += first.status().stallRetries();
    aborted += first.status().transactionsAborted();

    // Outage 3: a supervisor restarts the trainer, and the broker goes away while the new instance
    // is reading its committed state (regression: that read used to give up after one timeout).
    Gate restoreGate = new Gate();
    restoreGate.arm(FaultInjector.BEFORE_RESTORE);
    AdapterTrainer second = AdapterTrainer.create(config("restart-2"), common, TrainerListener.NONE, restoreGate);
    current.set(second);
    Thread th2 = TrainerFixture.start(second);
    await().atMost(LIMIT).until(restoreGate::holding);
    stack.kafka().stop();
    restoreGate.release();
    String restoreStall = awaitStalledThenRestart(second);
    assertThat(restoreStall).isEqualTo("reading the committed state");
    stalls.add(restoreStall);
    await().atMost(LIMIT).failFast("trainer failed", () -> second.failure().isPresent())
        .until(() -> second.status().state() == TrainerStatus.State.RUNNING && second.status().stalledOn() == null);

    feeder.join(LIMIT.toMillis());
    assertThat(producer.failure.get()).as("the example producer rode out the restarts too").isNull();
    assertThat(producer.produced.get()).isEqualTo(n);
    await().atMost(LIMIT).failFast("trainer failed", () -> second.failure().isPresent()).until(() -> {
      TrainerStatus s = second.status();
      return s.examplesSeen() + s.examplesBuffered() == n && s.inputLag() == 0;
    });
    second.close();
    th2.join(LIMIT.toMillis());
    assertThat(second.failure()).isEmpty();
    timeouts += second.status().stallRetries();
    aborted += second.status().transactionsAborted();
    double seconds = (System.nanoTime() - t0) / 1e9;

    // ---- Reconciliation, as a read_committed consumer sees the published state -----------------
    SnapshotLedger ledger = new SnapshotLedger(stack);
    List<AdapterSnapshot> snapshots = ledger.committedSnapshots(TASK).stream().map(SnapshotLedger.Entry::value)
        .toList();
    List<Long> versions = snapshots.stream().map(AdapterSnapshot::getVersion).toList();
    for (int i = 0; i < versions.size(); i++) {
      assertThat(versions.get(i)).as("committed versions are 1..k without holes").isEqualTo(i + 1L);
    }
    SnapshotLedger.Coverage coverage = ledger.coverage(snapshots, stack.catalog().examplesTrain.name());
    assertThat(coverage.problems()).isEmpty();
    assertThat(coverage.exact()).isTrue();
    assertThat(coverage.offsets()).as("the producer's retries added no duplicates").isEqualTo(n);
    AdapterSnapshot fin = snapshots.get(snapshots.size() - 1);
    assertThat(fin.getExamplesSeen()).isEqualTo(n);
    try (BaseModel base = BaseModel.load(baseFile, Device.cpu())) {
      snapshots.forEach(s -> SnapshotCodec.decode(s, base, null));
    }
    try (Admin admin = Admin.create(new HashMap<String, Object>(stack.clientProperties()))) {
      Map<TopicPartition, Long> group = new TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
      admin.listConsumerGroupOffsets(config("x").groupId()).partitionsToOffsetAndMetadata().get()
          .forEach((tp, om) -> group.put(tp, om.offset()));
      assertThat(group).isEqualTo(coverage.ends());
    }

    // ---- The Kafka-backed registry survived: fresh clients (no caches) read and write ----------
    checkRegistryAfterRestarts();

    // ---- A trainer asked to stop while it cannot reach the broker stops, cleanly and at once ----
    stack.kafka().stop();
    AdapterTrainer third = AdapterTrainer.create(config("restart-3"), common, TrainerListener.NONE);
    Thread th3 = TrainerFixture.start(third);
    await().atMost(LIMIT).until(() -> third.status().stalledOn() != null);
    assertThat(third.status().stalledOn()).isEqualTo("initTransactions");
    third.close();
    assertThat(third.awaitStopped(Duration.ZERO)).as("close() returned after the trainer stopped").isTrue();
    th3.join(LIMIT.toMillis());
    assertThat(third.failure()).as("stopping during an outage is not a failure").isEmpty();
    assertThat(third.status().state()).isEqualTo(TrainerStatus.State.STOPPED);
    stack.kafka().start();
    assertThat(ledger.committedSnapshots(TASK)).as("it published nothing").hasSize(snapshots.size());

    Map<String, Object> json = new LinkedHashMap<>();
    json.put("scenario", "broker restart (trainer side)");
    json.put("command", "mvn -B -pl trainer verify -Dit.test=TrainerBrokerRestartIT");
    json.put("brokerRestarts", stalls.size() + 1);
    json.put("brokerRestartsWithTrainerRunning", stalls.size());
    json.put("stalledOn", String.join("; ", stalls));
    json.put("stallRetries", timeouts);
    json.put("transactionsAborted", aborted);
    json.put("examples", n);
    json.put("snapshotsCommitted", snapshots.size());
    json.put("recordsLost", coverage.gaps());
    json.put("recordsCountedTwice", coverage.overlaps());
    json.put("seconds", Math.round(seconds * 10) / 10.0);
    ReliabilityReport.write("broker-restart.json", json);
    System.out.println(String.format(Locale.ROOT, "RELIABILITY broker restart: %d broker restarts (stalled on: %s), "
        + "%d stalled operations retried, %d transactions aborted; %d examples, %d snapshots committed; records lost = %d, "
        + "counted twice = %d; %.1f s", stalls.size(), String.join("; ", stalls), timeouts, aborted, n,
        snapshots.size(), coverage.gaps(), coverage.overlaps(), seconds));
  }

  /** Waits until the trainer reports a stall, restarts the broker, and returns what it was stalled on. */
  private static String awaitStalledThenRestart(AdapterTrainer t) {
    await("the trainer's status shows it is stalled while the broker is down").atMost(LIMIT)
        .failFast("trainer failed while the broker was down", () -> t.failure().isPresent())
        .until(() -> t.status().stalledOn() != null);
    String on = t.status().stalledOn();
    assertThat(t.status().state()).isNotEqualTo(TrainerStatus.State.STOPPED);
    stack.kafka().start();
    return on;
  }

  private static void checkRegistryAfterRestarts() throws Exception {
    Map<String, Object> c = new HashMap<>(stack.clientProperties());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    byte[] value;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(stack.catalog().examplesTrain.name(), 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      AtomicReference<byte[]> first = new AtomicReference<>();
      await().atMost(LIMIT).until(() -> {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          first.compareAndSet(null, r.value());
        }
        return first.get() != null;
      });
      value = first.get();
    }
    SchemaRegistryClient fresh = stack.newRegistryClient();
    assertThat(fresh.getSchemaById(WireFormat.schemaId(value)).getFullName())
        .isEqualTo(LabeledExample.getClassSchema().getFullName());
    LorastreamSerdes serdes = LorastreamSerdes.create(stack.registryConfig());
    LabeledExample decoded = serdes.labeledExample().deserializer().deserialize(stack.catalog().examplesTrain.name(),
        value);
    assertThat(decoded.getTask()).isEqualTo(TASK);
    Schema probe = SchemaBuilder.record("RestartProbe").namespace("io.lorastream.it").fields().requiredLong("at")
        .endRecord();
    int id = fresh.register("restart-probe-value", probe);
    assertThat(stack.newRegistryClient().getSchemaById(id).getFullName()).as("a schema registered after the restarts")
        .isEqualTo(probe.getFullName());
  }

  private static TrainerConfig config(String id) {
    return TrainerFixture.config(TASK, id, baseFile, Map.of(TrainerConfig.PUBLISH_INTERVAL_MS, "1000"));
  }

  /**
   * A fault injector that, once armed, holds the trainer thread at one point until released, so
   * the test can take the broker away at exactly that moment.
   */
  static final class Gate implements FaultInjector {
    private String point;
    private CountDownLatch release = new CountDownLatch(0);
    private final AtomicBoolean holding = new AtomicBoolean();

    /** Holds the trainer the next time it reaches {@code at}. */
    synchronized void arm(String at) {
      release = new CountDownLatch(1);
      holding.set(false);
      point = at;
    }

    /** True once the trainer is held (until the gate is armed again). */
    boolean holding() {
      return holding.get();
    }

    synchronized void release() {
      release.countDown();
    }

    @Override
    public void at(String p) {
      CountDownLatch latch;
      synchronized (this) {
        if (!p.equals(point)) {
          return;
        }
        point = null;
        latch = release;
      }
      holding.set(true);
      try {
        latch.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while held at " + p, e);
      }
    }
  }

  /**
   * Produces the stream in chunks, never more than {@value #AHEAD} examples ahead of the trainer,
   * so that examples are still being produced when the broker goes away. Sends made during an
   * outage wait in the producer (idempotent, so its retries add no duplicates).
   */
  static final class GatedProducer implements Runnable {
    final AtomicLong produced = new AtomicLong();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Supplier<Long> trainerSeen;

    GatedProducer(Supplier<Long> trainerSeen) {
      this.trainerSeen = trainerSeen;
    }

    @Override
    public void run() {
      String topic = stack.catalog().examplesTrain.name();
      Map<String, Object> p = new HashMap<>(stack.clientProperties());
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
      try (KafkaProducer<String, LabeledExample> producer = new KafkaProducer<>(p, new StringSerializer(),
          stack.serdes().labeledExample().serializer())) {
        for (int start = 0; start < examples.size(); start += CHUNK) {
          long target = start;
          await().atMost(Duration.ofMinutes(3)).until(() -> trainerSeen.get() >= target - AHEAD);
          for (int i = start; i < Math.min(examples.size(), start + CHUNK); i++) {
            producer.send(new ProducerRecord<>(topic, i % 2, TASK, TrainerFixture.labeled(examples.get(i), TASK)),
                (md, e) -> {
                  if (e != null) {
                    failure.compareAndSet(null, e);
                  }
                });
          }
          producer.flush();
          produced.addAndGet(Math.min(examples.size(), start + CHUNK) - start);
        }
      } catch (Throwable t) {
        failure.compareAndSet(null, t);
      }
    }
  }
}
