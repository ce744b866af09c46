package io.lorastream.stream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.Prediction;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.stream.serving.AdapterSwapper;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.TestOutputTopic;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Token requests against a transformer base: padded to the model's sequence length, validated against its vocabulary. */
class TextInferenceTopologyTest {
  private static final String ID = "spam";
  private static final int VOCAB = 50;
  private static final int SEQ = 8;
  private BaseModel base;
  private InferenceCounters counters;
  private InferenceDriver fixture;
  private TestOutputTopic<String, Prediction> predictions;

  @BeforeEach
  void setUp() {
    base = BaseModel.create(ModelSpec.transformer(VOCAB, SEQ, 8, 2, 1, 16, 2, 3), Device.cpu());
    fixture = new InferenceDriver("c", new AdapterSwapper(base, ID, null), 1L);
    counters = fixture.counters;
    predictions = fixture.predictions;
  }

  @AfterEach
  void tearDown() {
    fixture.close();
    base.close();
  }

  @Test
  void tokenRequestsArePaddedOrTruncatedToTheSequenceLengthAndScoredByTheTextModel() {
    List<Integer> shortTokens = List.of(5, 9, 13);
    List<Integer> longTokens = List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    send("short", tokens("short", shortTokens));
    send("long", tokens("long", longTokens));
    Map<String, Prediction> out = predictions.readKeyValuesToMap();
    assertThat(out).containsOnlyKeys("short", "long");
    MergedModel reference = MergedModel.ofBase(base);
    float[] shortRow = {5, 9, 13, 0, 0, 0, 0, 0};
    float[] longRow = {1, 2, 3, 4, 5, 6, 7, 8};
    assertProbabilities(out.get("short"), reference.predictProba(shortRow));
    assertProbabilities(out.get("long"), reference.predictProba(longRow));
    assertThat(counters.skippedTotal()).isZero();
  }

  @Test
  void tokenIdsOutsideTheVocabularyAndDenseRequestsAreAnsweredWithAReason() {
    send("big", tokens("big", List.of(1, VOCAB)));
    send("negative", tokens("negative", List.of(-1)));
    send("empty", tokens("empty", List.of()));
    send("dense", InferenceRequest.newBuilder().setRequestId("dense").setTask(ID).setFeatures(List.of(1f, 2f))
        .setSentAt(Instant.ofEpochMilli(1)).build());
    Map<String, Prediction> out = predictions.readKeyValuesToMap();
    assertThat(out).containsOnlyKeys("big", "negative", "empty", "dense");
    assertThat(out.get("big").getError()).isEqualTo("WRONG_FEATURE_SIZE: token 1 is " + VOCAB + ", vocabulary is [0, "
        + VOCAB + ")");
    assertThat(out.get("negative").getError()).startsWith("WRONG_FEATURE_SIZE: token 0 is -1");
    assertThat(out.get("empty").getError()).isEqualTo("NO_FEATURES: no tokens or text for a text model");
    assertThat(out.get("dense").getError()).isEqualTo("NO_FEATURES: no tokens or text for a text model");
    assertThat(out.values()).allSatisfy(p -> assertThat(p.getPredictedClass()).isEqualTo(-1));
    assertThat(counters.skipped(SkipReason.WRONG_FEATURE_SIZE)).isEqualTo(2);
    assertThat(counters.skipped(SkipReason.NO_FEATURES)).isEqualTo(2);
  }

  /** Raw text is tokenized with the tokenizer the bert base carries, and scored on exactly those ids. */
  @Test
  void textRequestsAreTokenizedWithTheBasesTokenizer() throws Exception {
    ModelSpec spec = ModelSpec.bert(30_522, SEQ, 16, 2, 1, 32, 2, ModelSpec.POOL_MEAN, 4);
    try (BaseModel bert = io.lorastream.lora.text.TestTokenizers.withTokenizer(spec, "tiny-bert");
        var tokenizer = io.lorastream.lora.text.TextTokenizer.forBase(bert, 0).orElseThrow();
        InferenceDriver d = new InferenceDriver("c", true, new AdapterSwapper(bert, ID, null), 1L, tokenizer);
        InferenceDriver none = new InferenceDriver("c", true, new AdapterSwapper(bert, ID, null), 1L)) {
      InferenceRequest text = InferenceRequest.newBuilder().setRequestId("t").setTask(ID).setText("Hello world")
          .setSentAt(Instant.ofEpochMilli(1)).build();
      d.send("t", text);
      Prediction p = d.predictions.readValue();
      assertThat(p.getError()).isNull();
      float[] row = {101, 7592, 2088, 102, 0, 0, 0, 0};
      assertProbabilities(p, MergedModel.ofBase(bert).predictProba(row));
      none.send("t", text);
      assertThat(none.predictions.readValue().getError()).startsWith("NO_FEATURES: the request has text but the base "
          + "carries no tokenizer");
    }
  }

  private static void assertProbabilities(Prediction p, float[] expected) {
    assertThat(p.getProbabilities()).hasSize(expected.length);
    for (int i = 0; i < expected.length; i++) {
      assertThat(p.getProbabilities().get(i)).isCloseTo(expected[i], within(1e-6f));
    }
  }

  private void send(String key, InferenceRequest r) {
    fixture.send(key, r);
  }

  private static InferenceRequest tokens(String id, List<Integer> t) {
    return InferenceRequest.newBuilder().setRequestId(id).setTask(ID).setFeatures(List.of()).setTokens(t)
        .setSentAt(Instant.ofEpochMilli(1)).build();
  }
}
