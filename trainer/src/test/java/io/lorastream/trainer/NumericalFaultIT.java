package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.LayerAdapter;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.config.CommonConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.testing.LocalStackExtension;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario 5 of the reliability issue: exploding inputs mixed into a drifted stream. Three kinds,
 * all finite (so they pass input validation and reach the learner): features scaled by 1e30,
 * normal features with a loss weight of 1e30 (the gradient overflows float32 for certain), and
 * features scaled by 1e8 (huge but finite gradients, which clipping must tame). Each lands in its
 * own micro-batch (one input partition, at least 16 clean examples apart). One abortable
 * transaction error in the middle makes the trainer roll back and re-train, meeting some of the
 * same exploding batches twice.
 *
 * <p>Checks: no committed snapshot holds a non-finite A or B value (the floats are decoded here,
 * independently of the codec) or metric; every huge-weight batch was skipped, and no clean batch
 * was; the skip count the trainer reports (status, the snapshot's metrics and the
 * {@code trainer.skipped_nonfinite_batches} PipelineMetric) counts each skipped batch once, even
 * the re-trained ones; and the adapter keeps learning: on a held-out sample of the drifted phase
 * the final adapter beats the frozen base, and its loss is below that of the first snapshot cut
 * after the first fault, each by more than three standard errors of the paired per-example
 * difference.
 */
class NumericalFaultIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(1);

  @TempDir
  static Path tmp;

  private static final String TASK = "numerics";
  private static final int SPACING = 150;
  private static final Duration LIMIT = Duration.ofSeconds(90);

  private static Path baseFile;
  private static List<Example> drifted;
  private static List<Example> holdout;

  @BeforeAll
  static void baseAndStream() throws Exception {
    // Phase 1 rotates 4 planes of the input: a correction of rank 8 in the first layer.
    RotatingSubspaceStream.Config sc = new RotatingSubspaceStream.Config(32, 4, 31L, List.of(0, 4), Math.PI / 2,
        4000, 32);
    baseFile = TrainerFixture.pretrainBase(sc, tmp.resolve("base.lsbase"), 1500);
    drifted = TrainerFixture.stream(sc).stream().filter(e -> e.phase() == 1).toList();
    holdout = new ArrayList<>();
    try (RotatingSubspaceStream gen = new RotatingSubspaceStream(sc)) {
      gen.phaseSource(1, 2000, 99L).forEachRemaining(holdout::add);
    }
  }

  private enum Kind { HUGE_FEATURES, HUGE_WEIGHT, LARGE_FINITE }

  @Test
  void explodingInputsAreSkippedCountedOnceAndNeverPublished() throws Exception {
    long t0 = System.nanoTime();
    Map<Kind, Integer> injected = produce();
    long n = drifted.size() + injected.values().stream().mapToInt(Integer::intValue).sum();

    List<StepStats> steps = Collections.synchronizedList(new ArrayList<>());
    TrainerListener listener = new TrainerListener() {
      @Override
      public void onStep(StepStats stats) {
        steps.add(stats);
      }
    };
    AtomicInteger publishes = new AtomicInteger();
    FaultInjector abortOnce = point -> {
      if (point.equals(FaultInjector.AFTER_SEND_BEFORE_COMMIT) && publishes.incrementAndGet() == 4) {
        throw new KafkaException("numerics: abortable transaction error to force a rollback");
      }
    };
    CommonConfig common = TrainerFixture.common(stack, Map.of());
    AdapterTrainer t = AdapterTrainer.create(TrainerFixture.config(TASK, "numerics-1", baseFile, Map.of()), common,
        listener, abortOnce);
    Thread th = TrainerFixture.start(t);
    await().atMost(LIMIT).failFast("trainer failed", () -> t.failure().isPresent()).until(() -> {
      TrainerStatus s = t.status();
      return s.examplesSeen() + s.examplesBuffered() == n && s.inputLag() == 0;
    });
    t.close();
    th.join(LIMIT.toMillis());
    assertThat(t.failure()).isEmpty();
    assertThat(t.status().transactionsAborted()).as("the rollback happened").isEqualTo(1);
    double seconds = (System.nanoTime() - t0) / 1e9;

    // Skips: the listener sees every skip, including the ones repeated after the rollback; a
    // skipped batch is identified by examples-seen after it (one partition: batches are the same
    // when re-trained).
    List<StepStats> skips;
    synchronized (steps) {
      skips = steps.stream().filter(StepStats::skippedNonFinite).toList();
    }
    Set<Long> distinctSkips = skips.stream().map(StepStats::examplesSeen).collect(Collectors.toCollection(TreeSet::new));
    long exploding = n - drifted.size();
    assertThat(distinctSkips.size()).as("every huge-weight batch is skipped, no clean batch is")
        .isBetween(injected.get(Kind.HUGE_WEIGHT), (int) exploding);
    assertThat(skips.size()).as("the rollback re-trained some skipped batches").isGreaterThan(distinctSkips.size());
    assertThat(t.status().skippedNonFiniteBatches()).as("status counts each skipped batch once")
        .isEqualTo(distinctSkips.size());

    // Everything published is finite, and the counters agree with what happened.
    SnapshotLedger ledger = new SnapshotLedger(stack);
    List<AdapterSnapshot> snapshots = ledger.committedSnapshots(TASK).stream().map(SnapshotLedger.Entry::value)
        .toList();
    long floats = 0;
    for (AdapterSnapshot s : snapshots) {
      for (LayerAdapter l : s.getLayers()) {
        floats += assertFinite(s, l.getName() + ".A", l.getA());
        floats += assertFinite(s, l.getName() + ".B", l.getB());
      }
      assertThat(s.getMetrics().values()).as("metrics of v%d", s.getVersion()).allSatisfy(v -> assertThat(v).isFinite());
    }
    AdapterSnapshot fin = snapshots.get(snapshots.size() - 1);
    assertThat(fin.getExamplesSeen()).isEqualTo(n);
    assertThat(fin.getMetrics().get("skipped_nonfinite_batches")).isEqualTo((double) distinctSkips.size());
    List<PipelineMetric> metrics = ledger.committedMetrics(TASK).stream().map(SnapshotLedger.Entry::value).toList();
    assertThat(metrics).allSatisfy(m -> assertThat(m.getValue()).isFinite());
    PipelineMetric lastSkipped = metrics.stream().filter(m -> m.getName().equals(SnapshotMetrics.SKIPPED_NON_FINITE))
        .reduce((a, b) -> b).orElseThrow();
    assertThat(lastSkipped.getAdapterVersion()).isEqualTo(fin.getVersion());
    assertThat(lastSkipped.getValue()).isEqualTo((double) distinctSkips.size());
    SnapshotLedger.Coverage coverage = ledger.coverage(snapshots, stack.catalog().examplesTrain.name());
    assertThat(coverage.exact()).isTrue();

    // Still learning: the first snapshot cut after the first fault versus the final one, and the
    // frozen base versus the final adapter, on held-out examples of the drifted phase.
    long firstFault = distinctSkips.iterator().next();
    AdapterSnapshot afterFault = snapshots.stream().filter(s -> s.getExamplesSeen() >= firstFault).findFirst()
        .orElseThrow();
    Eval base;
    Eval early;
    Eval last;
    try (BaseModel model = BaseModel.load(baseFile, Device.cpu())) {
      base = Eval.of(MergedModel.ofBase(model), holdout);
      early = Eval.of(SnapshotCodec.decode(afterFault, model, null).merge(model), holdout);
      last = Eval.of(SnapshotCodec.decode(fin, model, null).merge(model), holdout);
    }
    Paired acc = Paired.of(last.correct, base.correct);
    assertThat(acc.mean()).as("accuracy gain of the final adapter over the frozen base (SE %.4f)", acc.se())
        .isGreaterThan(3 * acc.se());
    Paired loss = Paired.of(early.loss, last.loss);
    assertThat(loss.mean()).as("held-out loss drop from v%d (first snapshot after the first fault) to v%d (SE %.4f)",
        afterFault.getVersion(), fin.getVersion(), loss.se()).isGreaterThan(3 * loss.se());

    String line = String.format(Locale.ROOT, "RELIABILITY numerics: %d exploding examples injected %s into %d; %d "
        + "micro-batches skipped as non-finite (%d skip events incl. re-training after a rollback), %d snapshots / %d "
        + "floats published, all finite; held-out accuracy base %.3f -> adapter %.3f, loss v%d %.3f -> v%d %.3f; "
        + "%.1f s", exploding, injected, drifted.size(), distinctSkips.size(), skips.size(), snapshots.size(), floats,
        base.accuracy(), last.accuracy(), afterFault.getVersion(), early.meanLoss(), fin.getVersion(), last.meanLoss(),
        seconds);
    System.out.println(line);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("scenario", "numerical faults");
    json.put("command", "mvn -B -pl trainer verify -Dit.test=NumericalFaultIT");
    json.put("explodingExamples", exploding);
    Map<String, Object> kinds = new LinkedHashMap<>();
    injected.forEach((k, v) -> kinds.put(k.name().toLowerCase(Locale.ROOT), v));
    json.put("explodingByKind", kinds);
    json.put("cleanExamples", drifted.size());
    json.put("skippedNonFiniteBatches", distinctSkips.size());
    json.put("skipEventsInclRetraining", skips.size());
    json.put("snapshotsPublished", snapshots.size());
    json.put("floatsPublished", floats);
    json.put("nonFiniteFloatsPublished", 0);
    json.put("heldOutAccuracyBase", round(base.accuracy()));
    json.put("heldOutAccuracyFinal", round(last.accuracy()));
    json.put("heldOutLossAfterFirstFault", round(early.meanLoss()));
    json.put("heldOutLossFinal", round(last.meanLoss()));
    json.put("seconds", Math.round(seconds * 10) / 10.0);
    ReliabilityReport.write("numerics.json", json);
  }

  /** Decodes a little-endian float32 tensor and fails on the first non-finite value; returns its size. */
  private static long assertFinite(AdapterSnapshot s, String what, ByteBuffer bytes) {
    ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    assertThat(b.remaining() % 4).isZero();
    long count = 0;
    while (b.hasRemaining()) {
      float v = b.getFloat();
      if (!Float.isFinite(v)) {
        throw new AssertionError("snapshot v" + s.getVersion() + " " + what + "[" + count + "] = " + v);
      }
      count++;
    }
    return count;
  }

  /**
   * Writes the drifted phase with one exploding example every {@value #SPACING} clean ones,
   * cycling through the three kinds; returns how many of each were written.
   */
  private static Map<Kind, Integer> produce() throws Exception {
    String topic = stack.catalog().examplesTrain.name();
    Map<String, Object> p = new HashMap<>(stack.clientProperties());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    Map<Kind, Integer> counts = new LinkedHashMap<>();
    for (Kind k : Kind.values()) {
      counts.put(k, 0);
    }
    try (KafkaProducer<String, LabeledExample> producer = new KafkaProducer<>(p, new StringSerializer(),
        stack.serdes().labeledExample().serializer())) {
      int k = 0;
      for (int i = 0; i < drifted.size(); i++) {
        Example e = drifted.get(i);
        producer.send(new ProducerRecord<>(topic, TASK, TrainerFixture.labeled(e, TASK)));
        if (i % SPACING == SPACING / 2) {
          Kind kind = Kind.values()[k++ % Kind.values().length];
          producer.send(new ProducerRecord<>(topic, TASK, exploding(kind, e, i)));
          counts.merge(kind, 1, Integer::sum);
        }
      }
      producer.flush();
    }
    return counts;
  }

  private static LabeledExample exploding(Kind kind, Example e, int i) {
    float[] x = e.features().clone();
    Float weight = null;
    switch (kind) {
      case HUGE_FEATURES -> scale(x, 1e30f);
      case HUGE_WEIGHT -> weight = 1e30f;
      case LARGE_FINITE -> scale(x, 1e8f);
      default -> throw new IllegalArgumentException(kind.name());
    }
    return TrainerFixture.labeled("exploding-" + kind + "-" + i, TASK, x, e.label(), weight);
  }

  private static void scale(float[] x, float by) {
    for (int j = 0; j < x.length; j++) {
      x[j] *= by;
    }
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  /** Per-example correctness and cross-entropy of one model on the held-out sample. */
  private record Eval(double[] correct, double[] loss) {
    static Eval of(MergedModel m, List<Example> data) {
      double[] c = new double[data.size()];
      double[] l = new double[data.size()];
      for (int i = 0; i < data.size(); i++) {
        Example e = data.get(i);
        float[] p = m.predictProba(e.features());
        c[i] = m.predict(e.features()) == e.label() ? 1 : 0;
        l[i] = -Math.log(Math.max(p[e.label()], 1e-12));
      }
      return new Eval(c, l);
    }

    double accuracy() {
      return java.util.Arrays.stream(correct).average().orElseThrow();
    }

    double meanLoss() {
      return java.util.Arrays.stream(loss).average().orElseThrow();
    }
  }

  /** Mean and standard error of the paired differences a[i] - b[i]. */
  private record Paired(double mean, double se) {
    static Paired of(double[] a, double[] b) {
      int k = a.length;
      double mean = 0;
      for (int i = 0; i < k; i++) {
        mean += a[i] - b[i];
      }
      mean /= k;
      double var = 0;
      for (int i = 0; i < k; i++) {
        double d = a[i] - b[i] - mean;
        var += d * d;
      }
      var /= k - 1;
      return new Paired(mean, Math.sqrt(var / k));
    }
  }
}
