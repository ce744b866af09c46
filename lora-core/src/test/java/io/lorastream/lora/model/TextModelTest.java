package io.lorastream.lora.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.train.FullFineTuner;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.OnlineLearner;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Specs, layout, file round trip, PAD handling and input validation of the text model kinds. */
class TextModelTest {

  @TempDir Path dir;

  static Stream<ModelSpec> allKinds() {
    return Stream.of(ModelSpec.mlp(6, List.of(8, 5), 3, 4), Fixtures.tinyEmbeddingBag(5), Fixtures.tinyTransformer(6));
  }

  static Stream<ModelSpec> textKinds() {
    return Stream.of(Fixtures.tinyEmbeddingBag(5), Fixtures.tinyTransformer(6));
  }

  @Test
  void transformerLayersAndParametersAreNamedInForwardOrder() {
    ModelSpec spec = ModelSpec.transformer(50, 8, 8, 2, 2, 16, 3, 1);
    assertThat(spec.tokenInput()).isTrue();
    assertThat(spec.seqLen()).isEqualTo(8).isEqualTo(spec.inputSize());
    assertThat(spec.linearLayers()).extracting(LayerInfo::name).containsExactly(
        "l0.q", "l0.k", "l0.v", "l0.o", "l0.ff1", "l0.ff2", "l1.q", "l1.k", "l1.v", "l1.o", "l1.ff1", "l1.ff2", "head");
    assertThat(spec.linearLayers()).contains(new LayerInfo("l1.ff1", 8, 16), new LayerInfo("l1.ff2", 16, 8),
        new LayerInfo("head", 8, 3), new LayerInfo("l0.q", 8, 8));
    try (BaseModel base = BaseModel.create(spec, Device.cpu())) {
      assertThat(base.parameterNames()).startsWith("tok_emb", "pos_emb", "l0.q.weight", "l0.q.bias", "l0.k.weight")
          .containsSubsequence("l0.o.bias", "l0.ln1.gamma", "l0.ln1.beta", "l0.ff1.weight", "l0.ff1.bias",
              "l0.ff2.weight", "l0.ff2.bias", "l0.ln2.gamma", "l0.ln2.beta", "l1.q.weight")
          .endsWith("l1.ln2.beta", "head.weight", "head.bias");
      long expected = 50 * 8 + 8 * 8 + 2 * (4 * (8 * 8 + 8) + (8 * 16 + 16) + (16 * 8 + 8) + 4 * 8) + 8 * 3 + 3;
      assertThat(base.parameterCount()).isEqualTo(expected);
      assertThat(base.vocabSize()).isEqualTo(50);
      assertThat(base.tokenInput()).isTrue();
      assertThat(base.parameter("l0.ln1.gamma")).containsOnly(1f);
      assertThat(base.parameter("l1.ln2.beta")).containsOnly(0f);
      assertThat(base.parameter("l0.q.bias")).containsOnly(0f);
      assertThat(base.id()).startsWith("transformer-v50-s8-d8-h2-l2-f16-3-");
    }
  }

  @Test
  void embeddingBagAndMlpLayout() {
    ModelSpec eb = ModelSpec.embeddingBag(50, 8, 6, List.of(12, 7), 3, 1);
    assertThat(eb.linearLayers()).containsExactly(new LayerInfo("fc0", 6, 12), new LayerInfo("fc1", 12, 7), new LayerInfo("head", 7, 3));
    try (BaseModel base = BaseModel.create(eb, Device.cpu());
        BaseModel mlp = BaseModel.create(ModelSpec.mlp(6, List.of(4), 2, 1), Device.cpu())) {
      assertThat(base.parameterNames()).containsExactly("emb", "fc0.weight", "fc0.bias", "fc1.weight", "fc1.bias", "head.weight", "head.bias");
      assertThat(base.parameterCount()).isEqualTo(50 * 6 + 6 * 12 + 12 + 12 * 7 + 7 + 7 * 3 + 3);
      assertThat(mlp.tokenInput()).isFalse();
      assertThat(mlp.vocabSize()).isZero();
      assertThat(mlp.parameterCount()).isEqualTo(6 * 4 + 4 + 4 * 2 + 2);
    }
  }

  @Test
  void invalidTextSpecsNameTheField() {
    assertThatThrownBy(() -> ModelSpec.transformer(50, 8, 10, 3, 2, 16, 3, 1)).hasMessageContaining("heads").hasMessageContaining("divide");
    assertThatThrownBy(() -> ModelSpec.transformer(1, 8, 8, 2, 2, 16, 3, 1)).hasMessageContaining("vocabSize");
    assertThatThrownBy(() -> ModelSpec.transformer(50, 0, 8, 2, 2, 16, 3, 1)).hasMessageContaining("seqLen");
    assertThatThrownBy(() -> ModelSpec.transformer(50, 8, 8, 2, 0, 16, 3, 1)).hasMessageContaining("layers");
    assertThatThrownBy(() -> ModelSpec.transformer(50, 8, 8, 2, 2, 0, 3, 1)).hasMessageContaining("ffnSize");
    assertThatThrownBy(() -> ModelSpec.embeddingBag(50, 8, 0, List.of(), 3, 1)).hasMessageContaining("dModel");
    assertThatThrownBy(() -> new ModelSpec("mlp", 4, List.of(), 2, 1, 50, 0, 0, 0, 0)).hasMessageContaining("vocabSize");
    assertThatThrownBy(() -> new ModelSpec("transformer", 8, List.of(4), 2, 1, 50, 8, 2, 1, 8)).hasMessageContaining("hiddenSizes");
  }

  @ParameterizedTest
  @MethodSource("allKinds")
  void saveAndLoadRoundTripBitExactly(ModelSpec spec) throws IOException {
    Path f = dir.resolve(spec.kind() + ".lsb");
    Path f2 = dir.resolve(spec.kind() + "-again.lsb");
    float[] x = spec.tokenInput() ? Fixtures.tokenRows(new Random(1), 5, spec.inputSize(), spec.vocabSize(), true)
        : Fixtures.gaussianFloats(new Random(1), 5 * spec.inputSize(), 1.0);
    try (BaseModel a = BaseModel.create(spec, Device.cpu())) {
      a.save(f);
      try (BaseModel b = BaseModel.load(f, Device.cpu())) {
        assertThat(b.spec()).isEqualTo(spec);
        assertThat(b.fingerprint()).isEqualTo(a.fingerprint()).isEqualTo(b.deviceFingerprint());
        assertThat(b.id()).isEqualTo(a.id());
        assertThat(b.deviceParameterBytes()).isEqualTo(a.deviceParameterBytes());
        for (String name : a.parameterNames()) {
          assertThat(b.parameter(name)).as(name).containsExactly(a.parameter(name));
        }
        assertThat(b.logits(x, 5)).containsExactly(a.logits(x, 5));
        b.save(f2);
      }
    }
    assertThat(Files.readAllBytes(f2)).isEqualTo(Files.readAllBytes(f));
  }

  @Test
  void mlpHeaderJsonIsUnchangedByTheTextFields() throws IOException {
    Path f = dir.resolve("mlp.lsb");
    try (BaseModel a = BaseModel.create(ModelSpec.mlp(4, List.of(3), 2, 9), Device.cpu())) {
      a.save(f);
    }
    byte[] all = Files.readAllBytes(f);
    int len = ByteBuffer.wrap(all, 8, 4).getInt();
    JsonNode h = new ObjectMapper().readTree(new String(all, 12, len, StandardCharsets.UTF_8));
    List<String> fields = new ArrayList<>();
    h.get("spec").fieldNames().forEachRemaining(fields::add);
    assertThat(fields).containsExactly("kind", "inputSize", "hiddenSizes", "numClasses", "seed");
    // and an old header without the text fields still loads as the same spec
    ModelSpec back = new ObjectMapper().treeToValue(h.get("spec"), ModelSpec.class);
    assertThat(back).isEqualTo(ModelSpec.mlp(4, List.of(3), 2, 9));
  }

  @Test
  void fingerprintCoversEmbeddingsAndLayerNorm() {
    ModelSpec spec = Fixtures.tinyTransformer(2);
    try (BaseModel a = BaseModel.create(spec, Device.cpu())) {
      for (String name : List.of("tok_emb", "pos_emb", "l1.ln2.gamma", "l0.ln1.beta")) {
        Map<String, float[]> t = tensors(a);
        t.get(name)[3] = Math.nextUp(t.get(name)[3]);
        try (BaseModel b = BaseModel.fromTensors(spec, t, Device.cpu())) {
          assertThat(b.fingerprint()).as(name).isNotEqualTo(a.fingerprint());
        }
      }
      try (BaseModel same = BaseModel.fromTensors(spec, tensors(a), Device.cpu())) {
        assertThat(same.fingerprint()).isEqualTo(a.fingerprint());
      }
      assertThatThrownBy(() -> BaseModel.fromParameters(spec, List.of(), List.of(), Device.cpu()))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fromTensors");
      Map<String, float[]> missing = tensors(a);
      missing.remove("pos_emb");
      assertThatThrownBy(() -> BaseModel.fromTensors(spec, missing, Device.cpu())).hasMessageContaining("pos_emb");
    }
  }

  static Map<String, float[]> tensors(BaseModel b) {
    Map<String, float[]> m = new LinkedHashMap<>();
    for (String n : b.parameterNames()) {
      m.put(n, b.parameter(n));
    }
    return m;
  }

  /**
   * Appending PAD must not change a row's logits: a base with seqLen 12 whose first 8 position
   * embeddings equal the seqLen-8 base (the other 4 random) gives the same logits for the same
   * tokens padded to 12, and changing PAD's own embedding row changes nothing either.
   */
  @ParameterizedTest
  @MethodSource("textKinds")
  void appendingPadDoesNotChangeLogits(ModelSpec spec) {
    ModelSpec longer = new ModelSpec(spec.kind(), 12, spec.hiddenSizes(), spec.numClasses(), spec.seed(), spec.vocabSize(),
        spec.dModel(), spec.heads(), spec.layers(), spec.ffnSize());
    Random rnd = new Random(3);
    int n = 6;
    float[] x8 = Fixtures.tokenRows(rnd, n, 8, spec.vocabSize(), true);
    float[] x12 = new float[n * 12];
    for (int i = 0; i < n; i++) {
      System.arraycopy(x8, i * 8, x12, i * 12, 8);
    }
    try (BaseModel a = BaseModel.create(spec, Device.cpu())) {
      Map<String, float[]> t = tensors(a);
      String emb = spec.kind().equals(ModelSpec.TRANSFORMER) ? "tok_emb" : "emb";
      for (int j = 0; j < spec.dModel(); j++) {
        t.get(emb)[j] = 5f + j; // PAD's row
      }
      if (t.containsKey("pos_emb")) {
        float[] pos = new float[12 * spec.dModel()];
        System.arraycopy(t.get("pos_emb"), 0, pos, 0, 8 * spec.dModel());
        for (int j = 8 * spec.dModel(); j < pos.length; j++) {
          pos[j] = (float) rnd.nextGaussian();
        }
        t.put("pos_emb", pos);
      }
      try (BaseModel b = BaseModel.fromTensors(longer, t, Device.cpu())) {
        float[] za = a.logits(x8, n);
        float[] zb = b.logits(x12, n);
        assertThat(Fixtures.maxAbsDiff(LoraModel.toDouble(za), LoraModel.toDouble(zb))).isLessThan(1e-5);
        MergedModel ma = MergedModel.ofBase(a);
        MergedModel mb = MergedModel.ofBase(b);
        for (int i = 0; i < n; i++) {
          float[] la = ma.logits(Fixtures.row(x8, i, 8));
          float[] lb = mb.logits(Fixtures.row(x12, i, 12));
          assertThat(Fixtures.maxAbsDiff(LoraModel.toDouble(la), LoraModel.toDouble(lb))).isLessThan(1e-5);
        }
        // The rows do differ from each other: the invariance is not a constant output.
        assertThat(Math.abs(za[0] - za[3]) + Math.abs(za[1] - za[4])).isGreaterThan(1e-4f);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("textKinds")
  void anAllPadRowGivesFiniteLogitsOnDeviceAndInJava(ModelSpec spec) {
    try (BaseModel base = BaseModel.create(spec, Device.cpu())) {
      float[] empty = new float[spec.inputSize()];
      float[] z = base.logits(empty, 1);
      assertThat(Fixtures.allFinite(LoraModel.toDouble(z))).isTrue();
      float[] j = MergedModel.ofBase(base).logits(empty);
      assertThat(Fixtures.maxAbsDiff(LoraModel.toDouble(z), LoraModel.toDouble(j))).isLessThan(1e-5);
      if (spec.kind().equals(ModelSpec.TRANSFORMER)) {
        assertThat(j).containsExactly(base.bias("head")); // mean over no tokens = 0
      }
    }
  }

  @Test
  void malformedTokenIdsAreRejectedNamingTheExampleAndValue() {
    ModelSpec spec = Fixtures.tinyTransformer(1);
    LearnerConfig tc = LearnerConfig.defaults();
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(), tc);
        FullFineTuner tuner = FullFineTuner.create(base, tc)) {
      for (float bad : new float[] {3.5f, 50f, -1f, Float.NaN, 1e9f}) {
        float[] x = Fixtures.tokenRows(new Random(2), 3, 8, 50, false);
        x[8 + 2] = bad; // example 1, position 2
        int[] y = {0, 1, 2};
        assertThatThrownBy(() -> learner.trainMicroBatch(x, y, null)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("example 1").hasMessageContaining(String.valueOf(bad));
        assertThatThrownBy(() -> tuner.trainMicroBatch(x, y, null)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("example 1").hasMessageContaining(String.valueOf(bad));
        assertThatThrownBy(() -> MergedModel.ofBase(base).predict(Fixtures.row(x, 1, 8)))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("position 2");
        assertThatThrownBy(() -> base.logits(x, 3)).isInstanceOf(IllegalArgumentException.class);
      }
      assertThat(learner.examplesSeen()).isZero();
      assertThat(tuner.examplesSeen()).isZero();
      assertThat(learner.optimizerStep()).isZero();
    }
  }

  @Test
  void tokenRowsTruncateAndPad() {
    float[] dst = new float[2 * 4];
    java.util.Arrays.fill(dst, 9f);
    TokenRows.fill(new int[] {5, 6}, dst, 0, 4);
    TokenRows.fill(List.of(1, 2, 3, 4, 5, 6), dst, 4, 4);
    assertThat(dst).containsExactly(5f, 6f, 0f, 0f, 1f, 2f, 3f, 4f);
    TokenRows.fill(List.of(), dst, 4, 4);
    assertThat(dst).containsExactly(5f, 6f, 0f, 0f, 0f, 0f, 0f, 0f);
    assertThatThrownBy(() -> TokenRows.fill(new int[] {1}, dst, 6, 4)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void firstInvalidTokenIsTheFirstNullOrOutOfVocabularyId() {
    assertThat(TokenRows.firstInvalid(List.of(0, 1, 9), 10)).isEqualTo(-1);
    assertThat(TokenRows.firstInvalid(List.of(), 10)).isEqualTo(-1);
    assertThat(TokenRows.firstInvalid(List.of(3, 10, -1), 10)).isEqualTo(1);
    assertThat(TokenRows.firstInvalid(List.of(3, -1), 10)).isEqualTo(1);
    assertThat(TokenRows.firstInvalid(java.util.Arrays.asList(3, null), 10)).isEqualTo(1);
  }

  @Test
  void defaultTargetsDependOnTheKindAndPatternsMatchSuffixes() {
    AdapterConfig ac = AdapterConfig.defaults();
    assertThat(ac.resolveTargets(Fixtures.tinyTransformer(1))).extracting(LayerInfo::name)
        .containsExactly("l0.q", "l0.v", "l1.q", "l1.v");
    assertThat(ac.resolveTargets(Fixtures.tinyEmbeddingBag(1))).extracting(LayerInfo::name).containsExactly("fc0", "head");
    assertThat(ac.resolveTargets(ModelSpec.demoDefault(1))).extracting(LayerInfo::name).containsExactly("fc0", "fc1", "head");
    assertThat(ac.withTargets(List.of("*.ff1", "head", "l1.*")).resolveTargets(Fixtures.tinyTransformer(1)))
        .extracting(LayerInfo::name)
        .containsExactly("l0.ff1", "l1.q", "l1.k", "l1.v", "l1.o", "l1.ff1", "l1.ff2", "head");
    assertThatThrownBy(() -> ac.withTargets(List.of("*.z")).resolveTargets(Fixtures.tinyTransformer(1)))
        .hasMessageContaining("*.z");
    assertThatThrownBy(() -> ac.withTargets(List.of("fc9")).resolveTargets(ModelSpec.demoDefault(1)))
        .hasMessageContaining("unknown layer 'fc9'");
    // the embedding table is adapted only when named: a glob would multiply the parameters by vocab/d
    assertThat(ac.withTargets(List.of("*")).resolveTargets(Fixtures.tinyEmbeddingBag(1))).extracting(LayerInfo::name)
        .containsExactly("fc0", "head");
    assertThat(ac.withTargets(List.of("emb", "*.q")).resolveTargets(Fixtures.tinyTransformer(1)))
        .extracting(LayerInfo::name).containsExactly("l0.q", "l1.q", "emb");
    assertThatThrownBy(() -> ac.withTargets(List.of("e*")).resolveTargets(Fixtures.tinyTransformer(1)))
        .hasMessageContaining("pattern 'e*' matches no layer");
    assertThatThrownBy(() -> ac.withTargets(List.of("emb")).resolveTargets(ModelSpec.demoDefault(1)))
        .hasMessageContaining("unknown layer 'emb'");
    try (BaseModel base = BaseModel.create(Fixtures.tinyEmbeddingBag(1), Device.cpu());
        LoraModel m = LoraModel.create(base, ac.withTargets(List.of("emb")).withRank(3))) {
      LayerInfo emb = base.adaptableLayers().get(base.adaptableLayers().size() - 1);
      assertThat(emb).isEqualTo(new LayerInfo("emb", Fixtures.tinyEmbeddingBag(1).vocabSize(),
          Fixtures.tinyEmbeddingBag(1).dModel()));
      assertThat(m.trainableParameters()).isEqualTo(3L * (emb.in() + emb.out()));
    }
    try (BaseModel base = BaseModel.create(Fixtures.tinyTransformer(1), Device.cpu());
        LoraModel m = LoraModel.create(base, ac.withRank(4))) {
      assertThat(m.ranks().keySet()).containsExactly("l0.q", "l0.v", "l1.q", "l1.v");
      assertThat(m.trainableParameters()).isEqualTo(4L * 4 * (8 + 8)).isEqualTo(m.adapterParameterCount());
    }
  }
}
