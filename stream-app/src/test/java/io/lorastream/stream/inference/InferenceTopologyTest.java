package io.lorastream.stream.inference;

import static io.lorastream.stream.serving.VersionedAdapters.mismatch;
import static io.lorastream.stream.serving.VersionedAdapters.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.Prediction;
import io.lorastream.kafka.DlqHeaders;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.stream.serving.AdapterSwapper;
import io.lorastream.stream.serving.VersionedAdapters;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The inference topology on TopologyTestDriver: predictions name the serving version; bad requests are counted and skipped. */
class InferenceTopologyTest {
  private static final String ID = "task-a";
  private BaseModel base;
  private AdapterSwapper swapper;
  private InferenceCounters counters;
  private InferenceDriver fixture;
  private TestInputTopic<String, byte[]> requests;
  private TestOutputTopic<String, Prediction> predictions;

  @BeforeEach
  void setUp() {
    base = VersionedAdapters.zeroBase();
    swapper = new AdapterSwapper(base, ID, null);
    fixture = new InferenceDriver("consumer-7", swapper, 42_000L);
    counters = fixture.counters;
    requests = fixture.requests;
    predictions = fixture.predictions;
  }

  @AfterEach
  void tearDown() {
    fixture.close();
    base.close();
  }

  @Test
  void eachPredictionNamesTheVersionThatProducedItAndCarriesTheRequestFields() {
    send("r0", request("r0", ID, List.of(1f, 0f), 0));
    swapper.offer(snapshot(ID, 1, base));
    swapper.offer(snapshot(ID, 2, base));
    send("r1", request("r1", ID, List.of(1f, 0f), null));
    send("r2", request("r2", "", List.of(1f, 0f), 2));

    Map<String, Prediction> out = predictions.readKeyValuesToMap();
    assertThat(out).containsOnlyKeys("r0", "r1", "r2");
    assertThat(out.get("r0").getAdapterVersion()).isZero();
    assertThat(out.get("r1").getAdapterVersion()).isEqualTo(2);
    assertThat(out.get("r2").getAdapterVersion()).isEqualTo(2);
    for (Prediction p : out.values()) {
      float[] probs = new float[p.getProbabilities().size()];
      for (int i = 0; i < probs.length; i++) {
        probs[i] = p.getProbabilities().get(i);
      }
      assertThat(mismatch(p.getAdapterVersion(), probs)).isNull();
      assertThat(p.getAdapterId()).isEqualTo(ID);
      assertThat(p.getConsumerId()).isEqualTo("consumer-7");
      assertThat(p.getPredictedAt()).isEqualTo(Instant.ofEpochMilli(42_000));
      assertThat(p.getLatencyMicros()).isNotNegative();
    }
    assertThat(out.get("r1").getPredictedClass()).isEqualTo(VersionedAdapters.targetClass(2));
    assertThat(out.get("r0").getLabel()).isZero();
    assertThat(out.get("r1").getLabel()).isNull();
    assertThat(out.get("r2").getLabel()).isEqualTo(2);
    assertThat(out.get("r2").getTask()).isEmpty();
    assertThat(counters.predictions()).isEqualTo(3);
    assertThat(counters.skippedTotal()).isZero();
  }

  @Test
  void everyBadRequestGetsAnErrorAnswerAndUndecodableOnesAreDeadLetteredWithoutStoppingTheStream() {
    requests.pipeInput("null", null);
    requests.pipeInput("garbage", new byte[] {0, 1, 2, 3, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f});
    send("other-task", request("x", "task-b", List.of(1f, 0f), null));
    send("empty", request("x", ID, List.of(), null));
    InferenceRequest tokens = request("x", ID, List.of(), null);
    tokens.setTokens(List.of(1, 2, 3));
    send("tokens", tokens);
    send("too-long", request("x", ID, List.of(1f, 0f, 0f), null));
    send("nan", request("x", ID, List.of(Float.NaN, 0f), null));
    send("inf", request("x", ID, List.of(1f, Float.POSITIVE_INFINITY), null));
    send("good", request("good", ID, List.of(1f, 0f), null));

    Map<String, Prediction> answers = predictions.readKeyValuesToMap();
    assertThat(answers).containsOnlyKeys("null", "garbage", "other-task", "empty", "tokens", "too-long", "nan", "inf",
        "good");
    assertThat(answers.get("good").getError()).isNull();
    assertThat(answers.get("good").getPredictedClass()).isNotNegative();
    Map<String, String> errors = new java.util.TreeMap<>();
    answers.forEach((k, p) -> {
      if (!k.equals("good")) {
        assertThat(p.getPredictedClass()).as(k).isEqualTo(-1);
        assertThat(p.getProbabilities()).as(k).isEmpty();
        assertThat(p.getConsumerId()).as(k).isEqualTo("consumer-7");
        errors.put(k, p.getError());
      }
    });
    assertThat(errors.get("null")).startsWith("NULL_VALUE: ");
    assertThat(errors.get("garbage")).startsWith("UNDECODABLE: ");
    assertThat(errors.get("other-task")).startsWith("UNKNOWN_TASK: task 'task-b'");
    assertThat(answers.get("other-task").getAdapterVersion()).isEqualTo(-1);
    assertThat(errors.get("empty")).startsWith("NO_FEATURES: ");
    assertThat(errors.get("tokens")).startsWith("NO_FEATURES: ").contains("not tokens");
    assertThat(errors.get("too-long")).isEqualTo("WRONG_FEATURE_SIZE: 3 features, model expects 2");
    assertThat(errors.get("nan")).isEqualTo("NON_FINITE: feature 0 is NaN");
    assertThat(errors.get("inf")).isEqualTo("NON_FINITE: feature 1 is Infinity");
    assertThat(answers.get("nan").getRequestId()).isEqualTo("x");
    assertThat(answers.get("garbage").getRequestId()).isEqualTo("garbage"); // the key stands in for the id

    // Only records that are no request at all are dead-lettered, byte for byte, with the reason.
    var dead = fixture.deadLetters.readRecordsToList();
    assertThat(dead).hasSize(2);
    assertThat(new String(dead.get(0).key(), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("null");
    assertThat(dead.get(0).value()).isNull();
    assertThat(DlqHeaders.text(dead.get(0).headers(), DlqHeaders.REASON)).isEqualTo("NULL_VALUE");
    assertThat(dead.get(1).value()).hasSize(9);
    assertThat(DlqHeaders.text(dead.get(1).headers(), DlqHeaders.REASON)).isEqualTo("UNDECODABLE");
    assertThat(DlqHeaders.text(dead.get(1).headers(), DlqHeaders.SOURCE_TOPIC)).isEqualTo("inference.requests");
    assertThat(DlqHeaders.text(dead.get(1).headers(), DlqHeaders.SOURCE_OFFSET)).isEqualTo("1");

    assertThat(counters.skipped(SkipReason.NULL_VALUE)).isEqualTo(1);
    assertThat(counters.skipped(SkipReason.UNDECODABLE)).isEqualTo(1);
    assertThat(counters.skipped(SkipReason.UNKNOWN_TASK)).isEqualTo(1);
    assertThat(counters.skipped(SkipReason.NO_FEATURES)).isEqualTo(2);
    assertThat(counters.skipped(SkipReason.WRONG_FEATURE_SIZE)).isEqualTo(1);
    assertThat(counters.skipped(SkipReason.NON_FINITE)).isEqualTo(2);
    assertThat(counters.skippedTotal()).isEqualTo(8);
    assertThat(counters.predictions()).isEqualTo(1);
  }

  @Test
  void aConsumerSetToIgnoreUnknownTasksLeavesThemToTheConsumerThatServesThem() {
    try (InferenceDriver other = new InferenceDriver("consumer-8", false, swapper, 1L)) {
      other.send("other-task", request("x", "task-b", List.of(1f, 0f), null));
      other.send("nan", request("x", ID, List.of(Float.NaN, 0f), null));
      assertThat(other.predictions.readKeyValuesToMap()).containsOnlyKeys("nan");
      assertThat(other.counters.skipped(SkipReason.UNKNOWN_TASK)).isEqualTo(1);
    }
  }

  @Test
  void countersBecomeMetricsTaggedWithConsumerAndReason() {
    swapper.offer(snapshot(ID, 4, base));
    swapper.offer(VersionedAdapters.flippedByte(snapshot(ID, 5, base)));
    send("good", request("good", ID, List.of(1f, 0f), null));
    send("nan", request("x", ID, List.of(Float.NaN, 0f), null));
    List<io.lorastream.avro.PipelineMetric> ms = InferenceMetrics.observe("consumer-7", swapper, counters, 5_000L);
    assertThat(ms).allSatisfy(m -> {
      assertThat(m.getTask()).isEqualTo(ID);
      assertThat(m.getService()).isEqualTo("consumer-7");
      assertThat(m.getTags()).containsEntry(InferenceMetrics.TAG_CONSUMER, "consumer-7");
    });
    assertThat(value(ms, InferenceMetrics.PREDICTIONS, null)).isEqualTo(1.0);
    assertThat(value(ms, InferenceMetrics.SKIPPED, "NON_FINITE")).isEqualTo(1.0);
    assertThat(value(ms, InferenceMetrics.ACTIVE_VERSION, null)).isEqualTo(4.0);
    assertThat(value(ms, InferenceMetrics.APPLIED, null)).isEqualTo(1.0);
    assertThat(value(ms, InferenceMetrics.REJECTED, "CHECKSUM")).isEqualTo(1.0);
    assertThat(value(ms, InferenceMetrics.REJECTED, "BAD_SIGNATURE")).isEqualTo(0.0);
  }

  @Test
  void aConsumerOfEveryAdapterReportsTheVersionEachAdapterServes() {
    AdapterSwapper all = new AdapterSwapper(base, AdapterSwapper.ALL_ADAPTERS, null);
    all.offer(snapshot("a", 2, base));
    all.offer(snapshot("b", 5, base));
    List<io.lorastream.avro.PipelineMetric> ms = InferenceMetrics.observe("consumer-8", all, counters, 5_000L);
    Map<String, Double> served = new java.util.TreeMap<>();
    ms.stream().filter(m -> m.getName().equals(InferenceMetrics.ACTIVE_VERSION))
        .forEach(m -> served.put(m.getTask(), m.getValue()));
    assertThat(served).isEqualTo(Map.of("a", 2.0, "b", 5.0));
  }

  private static double value(List<io.lorastream.avro.PipelineMetric> ms, String name, String reason) {
    return ms.stream().filter(m -> m.getName().equals(name))
        .filter(m -> reason == null || reason.equals(m.getTags().get(InferenceMetrics.TAG_REASON)))
        .findFirst().orElseThrow(() -> new AssertionError("no metric " + name + " " + reason)).getValue();
  }

  @Test
  void aCanaryRequestIsAnsweredByTheCandidateAndEveryPredictionNamesItsRole() {
    io.lorastream.stream.rollout.RolloutRules rules = new io.lorastream.stream.rollout.RolloutRules(5);
    var st = io.lorastream.stream.rollout.RolloutRules.initial(ID, io.lorastream.avro.RolloutMode.MANUAL, 0);
    st = rules.published(st, 1, 1).state();
    st = rules.command(st, io.lorastream.avro.RolloutCommand.newBuilder().setCommandId("p").setAdapterId(ID)
        .setAction(io.lorastream.avro.RolloutAction.PROMOTE).setActor("t").setIssuedAt(Instant.EPOCH).build(), 2)
        .state();
    st = rules.published(st, 2, 3).state();
    st = rules.command(st, io.lorastream.avro.RolloutCommand.newBuilder().setCommandId("c").setAdapterId(ID)
        .setAction(io.lorastream.avro.RolloutAction.CANARY).setShare(0.5).setActor("t").setIssuedAt(Instant.EPOCH)
        .build(), 4).state();
    swapper.configureRollout(io.lorastream.avro.RolloutMode.MANUAL, "consumer-7");
    swapper.offer(snapshot(ID, 1, base));
    swapper.offer(snapshot(ID, 2, base));
    assertThat(swapper.activeVersion()).as("manual mode serves nothing unpromoted").isZero();
    assertThat(swapper.applyState(st)).isTrue();
    for (int i = 0; i < 200; i++) {
      send("r" + i, request("r" + i, ID, List.of(1f, 0f), null));
    }
    Map<String, Prediction> out = predictions.readKeyValuesToMap();
    int canary = 0;
    for (Prediction p : out.values()) {
      float[] probs = new float[p.getProbabilities().size()];
      for (int i = 0; i < probs.length; i++) {
        probs[i] = p.getProbabilities().get(i);
      }
      assertThat(mismatch(p.getAdapterVersion(), probs)).isNull();
      assertThat(p.getRole()).isIn("active", "canary");
      assertThat(p.getAdapterVersion()).isEqualTo(p.getRole().equals("canary") ? 2 : 1);
      canary += p.getRole().equals("canary") ? 1 : 0;
    }
    assertThat(out).hasSize(200);
    // Half of 200 by a hash: a binomial sd of 7 requests.
    assertThat(canary).isBetween(65, 135);
  }

  private void send(String key, InferenceRequest r) {
    fixture.send(key, r);
  }

  private static InferenceRequest request(String id, String task, List<Float> features, Integer label) {
    return InferenceRequest.newBuilder().setRequestId(id).setTask(task).setFeatures(features).setLabel(label)
        .setSentAt(Instant.ofEpochMilli(1)).build();
  }
}
