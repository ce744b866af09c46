package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.config.CommonConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.testing.LocalStackExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario 1 of the reliability issue: the trainer is killed again and again at the points where
 * a crash is most dangerous for exactly-once recovery (between poll and commit, inside an open
 * transaction, after the snapshot is sent but before the commit, right after the commit), and
 * hit by abortable transaction errors; a new trainer instance is started after every kill, the
 * last one runs to the end of the input and stops cleanly. The input is written transactionally
 * (like the ingest topology's exactly-once output) with aborted input transactions, bad records
 * and other tasks' examples mixed in, so the offset ranges must also tile transaction markers and
 * skipped records. Afterwards the published state is audited as a read_committed consumer sees it:
 * every input offset is claimed by exactly one committed snapshot, versions are contiguous, the
 * final examples-seen equals N, every aborted snapshot exists in the log but is invisible to
 * read_committed readers, and the published counters count each bad record once. The fault plan
 * comes from a fixed seed; the figures are printed and written to
 * {@code target/reliability/chaos.json} for the README.
 */
class TrainerChaosIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(2);

  @TempDir
  static Path tmp;

  private static final String TASK = "chaos";
  private static final String OTHER_TASK = "chaos-other";
  /** The fault plan's seed; {@code -Dchaos.seed=N} replays another plan. */
  private static final long PLAN_SEED = Long.getLong("chaos.seed", 6L);
  private static final int INPUT_TXN = 1000;
  private static final Duration RUN_LIMIT = Duration.ofSeconds(90);

  private static RotatingSubspaceStream.Config streamConfig;
  private static Path baseFile;
  private static List<Example> examples;

  @BeforeAll
  static void baseAndStream() throws Exception {
    streamConfig = RotatingSubspaceStream.Config.defaults(17L); // d=32, C=4, 4 phases x 5000 = 20,000
    baseFile = TrainerFixture.pretrainBase(streamConfig, tmp.resolve("base.lsbase"), 1500);
    examples = TrainerFixture.stream(streamConfig);
  }

  @Test
  void everyInputOffsetIsClaimedExactlyOnceAfterRepeatedKills() throws Exception {
    long t0 = System.nanoTime();
    Input input = produceInput();
    long n = input.validExamples();
    CommonConfig common = TrainerFixture.common(stack, Map.of());

    ChaosMonkey monkey = new ChaosMonkey(plan(new Random(PLAN_SEED)));
    List<String> planned = monkey.remaining();
    int runs = 0;
    int cleanRestarts = 0;
    long abortedBeforeKills = 0;
    while (!monkey.done()) {
      runs++;
      // Every other instance reads through fetcher threads: a restart switches between the two input paths.
      AdapterTrainer t = AdapterTrainer.create(config("chaos-" + runs, runs % 2 == 0), common, TrainerListener.NONE, monkey);
      int injectedBefore = monkey.injected().size();
      Thread th = TrainerFixture.start(t);
      await().atMost(RUN_LIMIT)
          .failFast("the input ran out before the fault plan finished; left: " + monkey.remaining(),
              () -> readEverything(t, n))
          .until(() -> t.status().state() == TrainerStatus.State.STOPPED || monkey.done()
              || (monkey.next(FaultInjector.BEFORE_RESTORE) && t.status().state() == TrainerStatus.State.RUNNING));
      List<Fault> thisRun = monkey.injected().subList(injectedBefore, monkey.injected().size());
      if (!thisRun.isEmpty() && thisRun.get(thisRun.size() - 1).kill()) {
        // The plan's last fault can be a kill that has fired but not yet stopped the instance:
        // it dies of it by itself (closing it now would race the kill).
        await().atMost(RUN_LIMIT).until(() -> t.status().state() == TrainerStatus.State.STOPPED);
      }
      boolean closedByTest = t.status().state() != TrainerStatus.State.STOPPED;
      if (closedByTest) {
        // After an abortable fault the plan is over, or its next fault strikes at a start: stop
        // this instance cleanly (final snapshot), as a deployment would.
        t.close();
        cleanRestarts++;
      }
      th.join(RUN_LIMIT.toMillis());
      abortedBeforeKills += t.status().transactionsAborted();
      Fault last = monkey.injected().get(monkey.injected().size() - 1);
      if (closedByTest) {
        assertThat(t.failure()).as("run %d, closed after %s", runs, last).isEmpty();
      } else {
        assertThat(last.kill()).as("run %d stopped by itself after %s", runs, last).isTrue();
        assertThat(t.failure()).as("run %d must die of the injected kill %s and nothing else", runs, last)
            .get().isInstanceOf(ChaosKill.class);
      }
    }
    assertThat(monkey.injected()).extracting(Fault::toString).containsExactlyElementsOf(planned);

    // The survivor: no faults, runs to the end of the input and stops cleanly (final snapshot).
    runs++;
    AdapterTrainer last = AdapterTrainer.create(config("chaos-final", true), common, TrainerListener.NONE);
    Thread th = TrainerFixture.start(last);
    await().atMost(RUN_LIMIT).failFast("final trainer failed", () -> last.failure().isPresent())
        .until(() -> readEverything(last, n));
    last.close();
    th.join(RUN_LIMIT.toMillis());
    assertThat(last.failure()).isEmpty();
    double seconds = (System.nanoTime() - t0) / 1e9;

    // ---- Audit what was published -------------------------------------------------------------
    SnapshotLedger ledger = new SnapshotLedger(stack);
    List<SnapshotLedger.Entry<AdapterSnapshot>> committed = ledger.committedSnapshots(TASK);
    List<SnapshotLedger.Entry<AdapterSnapshot>> everything = ledger.allSnapshotRecords(TASK);
    List<AdapterSnapshot> snapshots = committed.stream().map(SnapshotLedger.Entry::value).toList();

    List<Long> versions = snapshots.stream().map(AdapterSnapshot::getVersion).toList();
    List<Long> contiguous = new ArrayList<>();
    for (long v = 1; v <= versions.size(); v++) {
      contiguous.add(v);
    }
    assertThat(versions).as("committed versions strictly increase, without holes").isEqualTo(contiguous);

    Set<Long> committedOffsets = committed.stream().map(SnapshotLedger.Entry::offset).collect(Collectors.toSet());
    List<SnapshotLedger.Entry<AdapterSnapshot>> aborted = everything.stream()
        .filter(e -> !committedOffsets.contains(e.offset())).toList();
    assertThat(everything.stream().map(SnapshotLedger.Entry::offset).toList()).containsAll(committedOffsets);
    long sentThenAborted = monkey.injected().stream()
        .filter(f -> f.point().equals(FaultInjector.AFTER_SEND_BEFORE_COMMIT)).count();
    // Snapshot transactions run on a publisher thread while training goes on, so a kill at any
    // point can also catch one in flight with its records sent: such a snapshot is aborted too.
    // Every fault leaves at most one transaction open, and each after-send fault leaves one.
    assertThat(aborted).as("every snapshot sent before a fault is in the log but aborted: invisible to "
        + "read_committed consumers").hasSizeBetween((int) sentThenAborted, monkey.injected().size());
    assertThat(aborted).extracting(e -> e.value().getVersion())
        .as("an aborted snapshot's version is taken again by a committed one, never skipped")
        .allSatisfy(v -> assertThat(v).isLessThanOrEqualTo(snapshots.get(snapshots.size() - 1).getVersion()));

    SnapshotLedger.Coverage coverage = ledger.coverage(snapshots, stack.catalog().examplesTrain.name());
    assertThat(coverage.problems()).as("input offsets claimed other than exactly once").isEmpty();
    assertThat(coverage.exact()).isTrue();

    AdapterSnapshot fin = snapshots.get(snapshots.size() - 1);
    assertThat(fin.getExamplesSeen()).as("examples seen in the final snapshot").isEqualTo(n);
    assertThat(fin.getMetrics().get("bad_records")).as("bad records, each counted once across kills and rollbacks")
        .isEqualTo((double) input.badRecords());
    try (BaseModel base = BaseModel.load(baseFile, Device.cpu())) {
      for (AdapterSnapshot s : snapshots) {
        SnapshotCodec.decode(s, base, null); // checksum, shapes, finite A/B
      }
    }
    List<PipelineMetric> metrics = ledger.committedMetrics(TASK).stream().map(SnapshotLedger.Entry::value).toList();
    assertThat(metrics.stream().filter(m -> m.getName().equals(SnapshotMetrics.SNAPSHOT_VERSION))
        .map(m -> (long) (double) m.getValue()).toList()).as("metrics of aborted snapshots are invisible too")
        .isEqualTo(versions);
    try (Admin admin = Admin.create(new HashMap<String, Object>(stack.clientProperties()))) {
      Map<TopicPartition, Long> group = new TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
      admin.listConsumerGroupOffsets(config("x").groupId()).partitionsToOffsetAndMetadata().get()
          .forEach((tp, om) -> group.put(tp, om.offset()));
      assertThat(group).as("input offsets committed with the final snapshot").isEqualTo(coverage.ends());
    }

    // ---- Figures for the README -----------------------------------------------------------------
    Map<String, Long> byKind = new TreeMap<>();
    monkey.injected().forEach(f -> byKind.merge((f.kill() ? "kill " : "abortable ") + f.point(), 1L, Long::sum));
    long kills = monkey.injected().stream().filter(Fault::kill).count();
    long lost = coverage.gaps() + Math.max(0, n - fin.getExamplesSeen());
    String line = String.format(Locale.ROOT, "RELIABILITY chaos: %d faults injected (%d kills, %d abortable; %s) over %d "
        + "trainer runs (%d clean restarts); %d examples (%d input offsets incl. %d bad, %d other-task, %d aborted-input "
        + "records, transaction markers); %d snapshots committed, %d aborted and invisible to read_committed; records "
        + "lost = %d, counted twice = %d; %.1f s", monkey.injected().size(), kills, monkey.injected().size() - kills,
        byKind, runs, cleanRestarts, n, coverage.offsets(), input.badRecords(), input.otherTask(),
        input.abortedRecords(), snapshots.size(),
        aborted.size(), lost, coverage.overlaps(), seconds);
    System.out.println(line);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("scenario", "trainer crash recovery (chaos)");
    json.put("command", "mvn -B -pl trainer verify -Dit.test=TrainerChaosIT");
    json.put("planSeed", PLAN_SEED);
    json.put("faultsInjected", monkey.injected().size());
    json.put("kills", kills);
    json.put("abortableErrors", monkey.injected().size() - kills);
    json.put("faultsByKind", byKind);
    json.put("trainerRuns", runs);
    json.put("cleanRestarts", cleanRestarts);
    json.put("examples", n);
    json.put("inputOffsets", coverage.offsets());
    json.put("badRecords", input.badRecords());
    json.put("otherTaskRecords", input.otherTask());
    json.put("abortedInputRecords", input.abortedRecords());
    json.put("snapshotsCommitted", snapshots.size());
    json.put("snapshotsAborted", aborted.size());
    json.put("transactionsAbortedAndRolledBack", abortedBeforeKills);
    json.put("finalExamplesSeen", fin.getExamplesSeen());
    json.put("recordsLost", lost);
    json.put("recordsCountedTwice", coverage.overlaps());
    json.put("seconds", Math.round(seconds * 10) / 10.0);
    ReliabilityReport.write("chaos.json", json);
    assertThat(lost).isZero();
  }

  private static boolean readEverything(AdapterTrainer t, long n) {
    TrainerStatus s = t.status();
    return s.examplesSeen() + s.examplesBuffered() == n && s.inputLag() == 0;
  }

  private static TrainerConfig config(String id) {
    return config(id, false);
  }

  /**
   * Steps queued to the step thread, and the records read either by two fetcher threads that also
   * decode them ({@code fetchers}) or by the trainer's consumer with decoding on a second thread,
   * so that exactly-once under crashes is checked on those paths (the CPU defaults run all inline).
   */
  private static TrainerConfig config(String id, boolean fetchers) {
    return TrainerFixture.config(TASK, id, baseFile, fetchers
        ? Map.of(TrainerConfig.FETCH_THREADS, "2", TrainerConfig.STEPS_AHEAD, "2")
        : Map.of(TrainerConfig.DECODE_AHEAD, "true", TrainerConfig.STEPS_AHEAD, "2"));
  }

  /**
   * The fault plan: 12 kills and 3 abortable errors, shuffled by the seed. The n-th occurrence
   * of the fault's point (counted from when the previous fault fired) triggers it; n is drawn so
   * that every trainer makes some progress but the plan finishes well within the stream.
   */
  private static List<Fault> plan(Random rnd) {
    List<Fault> faults = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      faults.add(new Fault(FaultInjector.AFTER_POLL, true, 1 + rnd.nextInt(6)));
    }
    for (int i = 0; i < 3; i++) {
      faults.add(new Fault(FaultInjector.AFTER_TRAIN, true, 10 + rnd.nextInt(100)));
    }
    for (int i = 0; i < 2; i++) {
      faults.add(new Fault(FaultInjector.BEFORE_SEND, true, 1 + rnd.nextInt(3)));
    }
    for (int i = 0; i < 3; i++) {
      faults.add(new Fault(FaultInjector.AFTER_SEND_BEFORE_COMMIT, true, 1 + rnd.nextInt(3)));
    }
    faults.add(new Fault(FaultInjector.AFTER_COMMIT, true, 1 + rnd.nextInt(3)));
    faults.add(new Fault(FaultInjector.BEFORE_RESTORE, true, 1));
    faults.add(new Fault(FaultInjector.BEFORE_SEND, false, 1 + rnd.nextInt(3)));
    for (int i = 0; i < 2; i++) {
      faults.add(new Fault(FaultInjector.AFTER_SEND_BEFORE_COMMIT, false, 1 + rnd.nextInt(3)));
    }
    Collections.shuffle(faults, rnd);
    return faults;
  }

  /** What the input holds: N valid examples of the task plus everything that must be skipped. */
  private record Input(long validExamples, long badRecords, long otherTask, long abortedRecords) {
  }

  /**
   * Writes the stream in input transactions of {@value #INPUT_TXN} task examples (alternating
   * partitions), with one other-task example every 40 and one undecodable record per transaction;
   * after every fifth transaction an aborted one whose records must never be trained.
   */
  private static Input produceInput() throws Exception {
    String topic = stack.catalog().examplesTrain.name();
    Map<String, Object> p = new HashMap<>(stack.clientProperties());
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "chaos-input");
    Serializer<io.lorastream.avro.LabeledExample> ser = stack.serdes().labeledExample().serializer();
    long valid = 0;
    long bad = 0;
    long other = 0;
    long abortedRecords = 0;
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
        new ByteArraySerializer())) {
      producer.initTransactions();
      for (int start = 0; start < examples.size(); start += INPUT_TXN) {
        producer.beginTransaction();
        for (int i = start; i < Math.min(examples.size(), start + INPUT_TXN); i++) {
          Example e = examples.get(i);
          producer.send(new ProducerRecord<>(topic, i % 2, TASK, ser.serialize(topic, TrainerFixture.labeled(e, TASK))));
          valid++;
          if (i % 40 == 7) {
            producer.send(new ProducerRecord<>(topic, (i / 40) % 2, OTHER_TASK,
                ser.serialize(topic, TrainerFixture.labeled("other-" + e.id(), OTHER_TASK, e.features(), e.label(), null))));
            other++;
          }
          if (i % INPUT_TXN == 500) {
            producer.send(new ProducerRecord<>(topic, (i / INPUT_TXN) % 2, TASK,
                ("garbage " + i).getBytes(StandardCharsets.UTF_8)));
            bad++;
          }
        }
        producer.commitTransaction();
        if ((start / INPUT_TXN) % 5 == 4) {
          producer.beginTransaction();
          for (int i = 0; i < 100; i++) {
            Example e = examples.get((start + i * 7) % examples.size());
            producer.send(new ProducerRecord<>(topic, i % 2, TASK,
                ser.serialize(topic, TrainerFixture.labeled("aborted-" + start + "-" + i, TASK, e.features(), e.label(),
                    null))));
            abortedRecords++;
          }
          producer.flush();
          producer.abortTransaction();
        }
      }
    }
    return new Input(valid, bad, other, abortedRecords);
  }

  /** One planned fault: at the {@code hit}-th occurrence of {@code point}, a kill or an abortable error. */
  record Fault(String point, boolean kill, int hit) {
    @Override
    public String toString() {
      return (kill ? "kill@" : "abortable@") + point + "#" + hit;
    }
  }

  /** The simulated crash: any non-Kafka exception from a fault point stops the trainer at once. */
  static final class ChaosKill extends RuntimeException {
    ChaosKill(Fault f) {
      super("chaos: " + f);
    }
  }

  /**
   * Fires the planned faults in order, one at a time, across however many trainer instances it is
   * handed to (they run one after another, and fault points are called on the trainer thread).
   */
  static final class ChaosMonkey implements FaultInjector {
    private final Deque<Fault> plan;
    private final List<Fault> injected = new CopyOnWriteArrayList<>();
    private int hits;

    ChaosMonkey(List<Fault> plan) {
      this.plan = new ArrayDeque<>(plan);
    }

    @Override
    public synchronized void at(String point) {
      Fault next = plan.peekFirst();
      if (next == null || !next.point().equals(point) || ++hits < next.hit()) {
        return;
      }
      plan.pollFirst();
      hits = 0;
      injected.add(next);
      if (next.kill()) {
        throw new ChaosKill(next);
      }
      throw new KafkaException("chaos: abortable transaction error " + next);
    }

    synchronized boolean next(String point) {
      Fault f = plan.peekFirst();
      return f != null && f.point().equals(point);
    }

    synchronized boolean done() {
      return plan.isEmpty();
    }

    synchronized List<String> remaining() {
      return plan.stream().map(Fault::toString).toList();
    }

    List<Fault> injected() {
      return injected;
    }
  }
}
