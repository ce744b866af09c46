package io.lorastream.stream.eval;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.OffsetRange;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.localstack.registry.EmbeddedSchemaRegistry;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.stream.serving.BoundedModelHistory;
import io.lorastream.stream.serving.ModelHistory;
import io.lorastream.stream.serving.ScoringModel;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.ToIntFunction;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation topology on TopologyTestDriver with scripted models: test-then-train picks the
 * right version per offset, tallies and windows add up, provisional and final emissions, skipped
 * and late examples are counted, and holdout uses the serving model.
 */
class EvalTopologyTest {
  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
  private static final String TASK = "mlp";

  private static EmbeddedSchemaRegistry registry;
  private static LorastreamSerdes serdes;

  @TempDir Path stateDir;
  private final TopicCatalog topics = TopicCatalog.defaults(2);
  private TopologyTestDriver driver;
  private TestInputTopic<String, LabeledExample> train;
  private TestInputTopic<String, LabeledExample> holdout;
  private TestOutputTopic<String, PipelineMetric> metrics;
  private StreamAppConfig config;

  /** A scripted model. */
  record Scripted(long version, ToIntFunction<LabeledExample> rule) implements ScoringModel {
    @Override
    public int predict(LabeledExample example) {
      return rule.applyAsInt(example);
    }
  }

  @BeforeAll
  static void startRegistry() {
    registry = EmbeddedSchemaRegistry.inMemory();
    serdes = LorastreamSerdes.create(Map.of("schema.registry.url", registry.url()));
  }

  @AfterAll
  static void stopRegistry() {
    registry.close();
  }

  @AfterEach
  void stop() {
    if (driver != null) {
      driver.close();
    }
  }

  private final EvalCounters counters = new EvalCounters();

  private void start(Map<String, String> overrides, ModelHistory history) {
    config = StreamAppConfig.of(overrides);
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "eval-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    driver = new TopologyTestDriver(
        EvalTopology.build(config, topics, serdes.labeledExample(), serdes.pipelineMetric(), history, counters), p, T0);
    train = driver.createInputTopic(topics.examplesTrain.name(), new StringSerializer(), serdes.labeledExample().serializer());
    holdout = driver.createInputTopic(topics.examplesEval.name(), new StringSerializer(), serdes.labeledExample().serializer());
    metrics = driver.createOutputTopic(topics.metrics.name(), new StringDeserializer(), serdes.pipelineMetric().deserializer());
  }

  private static LabeledExample ex(String id, int label, String phase, long eventMillis) {
    return LabeledExample.newBuilder().setId(id).setTask(TASK).setFeatures(Collections.nCopies(4, 0.5f)).setLabel(label)
        .setEventTime(Instant.ofEpochMilli(eventMillis)).setAttributes(Map.of("phase", phase)).build();
  }

  private static OffsetRange range(long from, long until) {
    return OffsetRange.newBuilder().setTopic("examples.train").setPartition(0).setFromOffset(from).setUntilOffset(until)
        .build();
  }

  private static BoundedModelHistory history(int capacity) {
    return new BoundedModelHistory("examples.train", capacity, new Scripted(0, e -> 0));
  }

  private static List<PipelineMetric> select(List<PipelineMetric> all, String name, String phase, String version,
      String model) {
    List<PipelineMetric> out = new ArrayList<>();
    for (PipelineMetric m : all) {
      Map<String, String> t = m.getTags();
      if (m.getName().equals(name) && phase.equals(t.get(EvalMetrics.TAG_PHASE)) && version.equals(t.get(EvalMetrics.TAG_VERSION))
          && (model == null || model.equals(t.get(EvalMetrics.TAG_MODEL)))) {
        out.add(m);
      }
    }
    return out;
  }

  private static PipelineMetric only(List<PipelineMetric> ms) {
    assertThat(ms).hasSize(1);
    return ms.get(0);
  }

  @Test
  void countWindowsTallyAdaptedAndFrozenPerPhaseAndServingVersion() {
    BoundedModelHistory h = history(8);
    // v1 was trained on offsets 0 and 1 and always answers 1; the base always answers 0.
    h.record(TASK, 1, List.of(range(0, 2)), new Scripted(1, e -> 1));
    start(Map.of("eval.window.kind", "count", "eval.window.examples", "4"), h);
    int[] labels = {0, 1, 1, 0, 1, 1, 1, 0};
    for (int i = 0; i < labels.length; i++) {
      train.pipeInput(TASK, ex("e" + i, labels[i], i < 4 ? "a" : "b", T0.toEpochMilli() + i * 10L));
    }
    List<PipelineMetric> all = metrics.readValuesToList();
    assertThat(all).allSatisfy(m -> assertThat(m.getTags()).containsEntry(EvalMetrics.TAG_FINAL, "true"));
    // Window 0, phase a: offsets 0-1 served by the base (labels 0,1), offsets 2-3 by v1 (labels 1,0).
    PipelineMetric a0 = only(select(all, EvalMetrics.PREQUENTIAL_ACCURACY, "a", "0", EvalMetrics.MODEL_ADAPTED));
    assertThat(a0.getTags()).containsEntry(EvalMetrics.TAG_COUNT, "2").containsEntry(EvalMetrics.TAG_CORRECT, "1")
        .containsEntry(EvalMetrics.TAG_WINDOW, "0");
    assertThat(a0.getValue()).isEqualTo(0.5);
    assertThat(a0.getAdapterVersion()).isEqualTo(0L);
    PipelineMetric a1 = only(select(all, EvalMetrics.PREQUENTIAL_ACCURACY, "a", "1", EvalMetrics.MODEL_ADAPTED));
    assertThat(a1.getTags()).containsEntry(EvalMetrics.TAG_COUNT, "2").containsEntry(EvalMetrics.TAG_CORRECT, "1");
    assertThat(a1.getWindowStart()).isEqualTo(T0.plusMillis(20));
    assertThat(a1.getWindowEnd()).isEqualTo(T0.plusMillis(30));
    // Window 1, phase b: all v1, labels 1,1,1,0: adapted 3/4, frozen 1/4, on the same examples.
    PipelineMetric b1 = only(select(all, EvalMetrics.PREQUENTIAL_ACCURACY, "b", "1", EvalMetrics.MODEL_ADAPTED));
    PipelineMetric b1f = only(select(all, EvalMetrics.PREQUENTIAL_ACCURACY, "b", "1", EvalMetrics.MODEL_FROZEN));
    assertThat(b1.getValue()).isEqualTo(0.75);
    assertThat(b1f.getValue()).isEqualTo(0.25);
    assertThat(b1.getTags()).containsEntry(EvalMetrics.TAG_WINDOW, "1").containsEntry(EvalMetrics.TAG_COUNT, "4");
    assertThat(b1f.getTags()).containsEntry(EvalMetrics.TAG_CORRECT, "1").containsEntry(EvalMetrics.TAG_COUNT, "4");
    assertThat(b1.getTask()).isEqualTo(TASK);
    // Counts over every final adapted row add up to every example exactly once.
    long total = all.stream().filter(m -> EvalMetrics.MODEL_ADAPTED.equals(m.getTags().get(EvalMetrics.TAG_MODEL)))
        .mapToLong(m -> Long.parseLong(m.getTags().get(EvalMetrics.TAG_COUNT))).sum();
    assertThat(total).isEqualTo(labels.length);
    assertThat(all).hasSize(6);
    // The process-local counters behind the Prometheus meters saw the same examples: adapted 1+1+3, frozen 3.
    var adapted = new EvalCounters.Key(TASK, EvalCounters.PREQUENTIAL, EvalMetrics.MODEL_ADAPTED);
    var frozen = new EvalCounters.Key(TASK, EvalCounters.PREQUENTIAL, EvalMetrics.MODEL_FROZEN);
    assertThat(counters.keys()).containsExactlyInAnyOrder(adapted, frozen);
    assertThat(counters.examples(adapted)).isEqualTo(8);
    assertThat(counters.correct(adapted)).isEqualTo(5);
    assertThat(counters.examples(frozen)).isEqualTo(8);
    assertThat(counters.correct(frozen)).isEqualTo(3);
  }

  @Test
  void anExampleIsNeverScoredByAVersionTrainedOnIt() {
    // v1 "memorized" offsets 0-4: perfect on them, always wrong elsewhere. If the evaluator ever
    // used v1 on an example it was trained on, its adapted accuracy would be above zero.
    Set<String> memorized = Set.of("m0", "m1", "m2", "m3", "m4");
    BoundedModelHistory h = history(8);
    h.record(TASK, 1, List.of(range(0, 5)), new Scripted(1, e -> memorized.contains(e.getId()) ? e.getLabel() : 3));
    start(Map.of("eval.window.examples", "10"), h);
    for (int i = 0; i < 10; i++) {
      train.pipeInput(TASK, ex("m" + i, 1, "p", T0.toEpochMilli()));
    }
    List<PipelineMetric> all = metrics.readValuesToList();
    PipelineMetric v1 = only(select(all, EvalMetrics.PREQUENTIAL_ACCURACY, "p", "1", EvalMetrics.MODEL_ADAPTED));
    assertThat(v1.getTags()).containsEntry(EvalMetrics.TAG_COUNT, "5").containsEntry(EvalMetrics.TAG_CORRECT, "0");
    PipelineMetric base = only(select(all, EvalMetrics.PREQUENTIAL_ACCURACY, "p", "0", EvalMetrics.MODEL_ADAPTED));
    assertThat(base.getTags()).containsEntry(EvalMetrics.TAG_COUNT, "5");
  }

  @Test
  void openWindowsArePublishedProvisionallyAndUnknownVersionsAreSkippedNotGuessed() {
    BoundedModelHistory h = history(1);
    h.record(TASK, 1, List.of(range(0, 2)), new Scripted(1, e -> 1));
    h.record(TASK, 2, List.of(range(2, 4)), new Scripted(2, e -> 1));
    start(Map.of("eval.window.examples", "100"), h);
    for (int i = 0; i < 6; i++) {
      train.pipeInput(TASK, ex("s" + i, 1, "x", T0.toEpochMilli()));
    }
    assertThat(metrics.isEmpty()).as("window still open, no punctuation yet").isTrue();
    driver.advanceWallClockTime(config.eval().emitInterval());
    List<PipelineMetric> all = metrics.readValuesToList();
    assertThat(all).allSatisfy(m -> assertThat(m.getTags()).containsEntry(EvalMetrics.TAG_FINAL, "false"));
    PipelineMetric skipped = only(select(all, EvalMetrics.PREQUENTIAL_SKIPPED, "x", EvalMetrics.VERSION_UNKNOWN, null));
    assertThat(skipped.getValue()).as("offsets 0-3: v1 qualified but was evicted").isEqualTo(4.0);
    assertThat(skipped.getAdapterVersion()).isNull();
    PipelineMetric frozenOnSkipped = only(select(all, EvalMetrics.PREQUENTIAL_ACCURACY, "x", EvalMetrics.VERSION_UNKNOWN,
        EvalMetrics.MODEL_FROZEN));
    assertThat(frozenOnSkipped.getTags()).containsEntry(EvalMetrics.TAG_COUNT, "4").containsEntry(EvalMetrics.TAG_CORRECT, "0");
    assertThat(select(all, EvalMetrics.PREQUENTIAL_ACCURACY, "x", EvalMetrics.VERSION_UNKNOWN, EvalMetrics.MODEL_ADAPTED))
        .isEmpty();
    PipelineMetric v2 = only(select(all, EvalMetrics.PREQUENTIAL_ACCURACY, "x", "2", EvalMetrics.MODEL_ADAPTED));
    assertThat(v2.getValue()).isEqualTo(1.0);
    assertThat(v2.getTags()).containsEntry(EvalMetrics.TAG_COUNT, "2");

    // Nothing new: nothing re-published. A new example: only its group is.
    driver.advanceWallClockTime(config.eval().emitInterval());
    assertThat(metrics.isEmpty()).isTrue();
    train.pipeInput(TASK, ex("s6", 0, "x", T0.toEpochMilli()));
    driver.advanceWallClockTime(config.eval().emitInterval());
    List<PipelineMetric> next = metrics.readValuesToList();
    assertThat(next).hasSize(2);
    assertThat(next).allSatisfy(m -> assertThat(m.getTags()).containsEntry(EvalMetrics.TAG_VERSION, "2")
        .containsEntry(EvalMetrics.TAG_COUNT, "3"));
  }

  @Test
  void timeWindowsCloseOnEventTimeAndCountLateExamples() {
    BoundedModelHistory h = history(4);
    start(Map.of("eval.window.kind", "time", "eval.window.ms", "1000"), h);
    long base = 1_000_000L;
    train.pipeInput(TASK, ex("t0", 0, "p", base + 100));
    train.pipeInput(TASK, ex("t1", 1, "p", base + 500));
    assertThat(metrics.isEmpty()).isTrue();
    train.pipeInput(TASK, ex("t2", 0, "p", base + 1200));
    List<PipelineMetric> closed = metrics.readValuesToList();
    PipelineMetric w0 = only(select(closed, EvalMetrics.PREQUENTIAL_ACCURACY, "p", "0", EvalMetrics.MODEL_FROZEN));
    assertThat(w0.getTags()).containsEntry(EvalMetrics.TAG_FINAL, "true").containsEntry(EvalMetrics.TAG_COUNT, "2")
        .containsEntry(EvalMetrics.TAG_CORRECT, "1").containsEntry(EvalMetrics.TAG_WINDOW_KIND, "time")
        .containsEntry(EvalMetrics.TAG_WINDOW, String.valueOf(base / 1000));
    assertThat(w0.getWindowStart()).isEqualTo(Instant.ofEpochMilli(base));
    assertThat(w0.getWindowEnd()).isEqualTo(Instant.ofEpochMilli(base + 1000));

    train.pipeInput(TASK, ex("late", 0, "p", base + 900));
    driver.advanceWallClockTime(config.eval().emitInterval());
    List<PipelineMetric> after = metrics.readValuesToList();
    PipelineMetric late = after.stream().filter(m -> m.getName().equals(EvalMetrics.PREQUENTIAL_LATE)).findFirst().orElseThrow();
    assertThat(late.getValue()).isEqualTo(1.0);
    PipelineMetric w1 = only(select(after, EvalMetrics.PREQUENTIAL_ACCURACY, "p", "0", EvalMetrics.MODEL_FROZEN));
    assertThat(w1.getTags()).containsEntry(EvalMetrics.TAG_FINAL, "false").containsEntry(EvalMetrics.TAG_COUNT, "1")
        .containsEntry(EvalMetrics.TAG_WINDOW, String.valueOf(base / 1000 + 1));
  }

  @Test
  void holdoutIsScoredWithTheModelServingNow() {
    BoundedModelHistory h = history(4);
    start(Map.of("eval.window.examples", "3"), h);
    holdout.pipeInput(TASK, ex("h0", 1, "p", T0.toEpochMilli()));
    // v5 arrives: it has trained on offsets far beyond, but holdout examples are never trained on.
    h.record(TASK, 5, List.of(range(0, 1000)), new Scripted(5, e -> 1));
    holdout.pipeInput(TASK, ex("h1", 1, "p", T0.toEpochMilli()));
    holdout.pipeInput(TASK, ex("h2", 0, "p", T0.toEpochMilli()));
    List<PipelineMetric> all = metrics.readValuesToList();
    PipelineMetric v5 = only(select(all, EvalMetrics.HOLDOUT_ACCURACY, "p", "5", EvalMetrics.MODEL_ADAPTED));
    assertThat(v5.getTags()).containsEntry(EvalMetrics.TAG_COUNT, "2").containsEntry(EvalMetrics.TAG_CORRECT, "1");
    PipelineMetric v0 = only(select(all, EvalMetrics.HOLDOUT_ACCURACY, "p", "0", EvalMetrics.MODEL_ADAPTED));
    assertThat(v0.getTags()).containsEntry(EvalMetrics.TAG_COUNT, "1").containsEntry(EvalMetrics.TAG_CORRECT, "0");
    assertThat(all).noneMatch(m -> m.getName().startsWith("eval.prequential"));
  }

  @Test
  void tallySerdesRoundTrip() {
    EvalGroup g = new EvalGroup("task|with|bars", "phase 2", 7, 42);
    assertThat(EvalGroup.serde().deserializer().deserialize("t", EvalGroup.serde().serializer().serialize("t", g)))
        .isEqualTo(g);
    EvalTally t = EvalTally.EMPTY.plus(true, false, 5).plus(false, false, 3);
    assertThat(EvalTally.serde().deserializer().deserialize("t", EvalTally.serde().serializer().serialize("t", t)))
        .isEqualTo(new EvalTally(2, 1, 0, 3, 5));
    assertThat(t.adaptedAccuracy()).isEqualTo(0.5);
    assertThat(Duration.ofMillis(t.maxEventTime() - t.minEventTime())).isEqualTo(Duration.ofMillis(2));
  }
}
