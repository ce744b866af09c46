package io.lorastream.lora.adapter;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.MergedClassifier;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.lora.train.RankSchedule;
import io.lorastream.lora.train.StepResult;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** LoRA on the text kinds: gradients, growth, merge, frozen base, snapshots, predictions. */
class TextLoraTest {

  private static final ModelSpec TRANSFORMER = Fixtures.tinyTransformer(11);
  private static final ModelSpec EMBBAG = Fixtures.tinyEmbeddingBag(12);
  private static final ModelSpec BERT = Fixtures.tinyBert(ModelSpec.POOL_MEAN, 13);
  private static final ModelSpec BERT_CLS = Fixtures.tinyBert(ModelSpec.POOL_CLS, 14);

  private static ModelSpec spec(String kind) {
    return switch (kind) {
      case "transformer" -> TRANSFORMER;
      case "bert" -> BERT;
      case "bert-cls" -> BERT_CLS;
      default -> EMBBAG;
    };
  }

  static AdapterConfig config(String targets) {
    List<String> t = targets.isEmpty() ? List.of() : List.of(targets.split(","));
    return AdapterConfig.defaults().withTargets(t).withRank(3).withAlpha(6f).withInitStd(0.5);
  }

  /**
   * Autograd A/B gradients vs central differences in float64, through attention, LayerNorm, the
   * masked pooling and the embedding bag. Targets: the default Q/V, the FFN and head, all layers.
   */
  @ParameterizedTest
  @ValueSource(strings = {"transformer:", "transformer:*.ff1,head", "transformer:*", "embbag:", "bert:",
      "bert:*.ff1,*.ff2,head", "bert-cls:*", "embbag:emb,head", "transformer:emb,*.q", "bert:emb,*.v"})
  void loraGradientsMatchCentralDifferencesInFloat64(String variant) {
    String[] kv = variant.split(":", -1);
    ModelSpec spec = spec(kv[0]);
    Random rnd = new Random(5);
    int n = 6;
    float[] x = Fixtures.tokenRows(rnd, n, spec.inputSize(), spec.vocabSize(), true);
    int[] y = Fixtures.labels(rnd, n, spec.numClasses());
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = 0.5f + rnd.nextFloat();
    }
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        LoraModel m = LoraModel.create(base, config(kv[1]), DataType.FLOAT64)) {
      Fixtures.randomizeB(m, rnd, 0.5);
      LoraModel.LossAndGradients g = m.lossAndGradients(x, y, w);
      // h = 1e-5 (Fixtures.GradCheck), not the MLP check's 1e-6: through two attention +
      // LayerNorm layers the loss's float64 rounding noise divided by h reaches 1e-9 on gradients
      // of 1e-3 at h = 1e-6 (measured); at 1e-5 noise and O(h^2) truncation stay below 1e-6.
      Fixtures.GradCheck check = new Fixtures.GradCheck();
      for (LayerInfo l : m.targets()) {
        String name = l.name();
        for (boolean isA : new boolean[] {true, false}) {
          double[] auto = (isA ? g.gradA() : g.gradB()).get(name);
          double[] p = isA ? m.a(name) : m.b(name);
          assertThat(auto).hasSize(p.length);
          for (int i = 0; i < p.length; i++) {
            int at = i;
            double orig = p[i];
            check.check(value -> {
              p[at] = value;
              set(m, name, isA, p);
              return m.loss(x, y, w);
            }, orig, auto[i]);
            p[i] = orig;
          }
        }
        assertThat(Arrays.stream(g.gradB().get(name)).map(Math::abs).max().orElse(0)).as(name + " dB").isGreaterThan(1e-4);
        assertThat(Arrays.stream(g.gradA().get(name)).map(Math::abs).max().orElse(0)).as(name + " dA").isGreaterThan(1e-4);
      }
      long expected = m.targets().stream().mapToLong(l -> 3L * (l.in() + l.out())).sum();
      assertThat((long) check.checked + check.kinks).isEqualTo(expected);
      System.out.printf("gradient check %s: %d entries, worst relative error %.2g, %d next to a ReLU kink%n",
          variant, check.checked, check.worst, check.kinks);
      assertThat(check.kinks).as("entries next to a ReLU kink (skipped)").isLessThanOrEqualTo(check.checked / 20);
      assertThat(check.worst).as("worst relative error over %d entries", check.checked).isLessThan(1e-6);
    }
  }

  private static void set(LoraModel m, String layer, boolean isA, double[] p) {
    int r = m.ranks().get(layer);
    if (isA) {
      m.setAdapter(layer, r, p, m.b(layer));
    } else {
      m.setAdapter(layer, r, m.a(layer), p);
    }
  }

  @Test
  void float32AgreesWithFloat64() {
    Random rnd = new Random(8);
    float[] x = Fixtures.tokenRows(rnd, 16, 8, 50, true);
    int[] y = Fixtures.labels(rnd, 16, 3);
    try (BaseModel base = BaseModel.create(TRANSFORMER, Device.cpu());
        LoraModel m64 = LoraModel.create(base, config("*"), DataType.FLOAT64);
        LoraModel m32 = LoraModel.create(base, config("*"), DataType.FLOAT32)) {
      Fixtures.randomizeB(m64, new Random(1), 0.3);
      Fixtures.randomizeB(m32, new Random(1), 0.3);
      LoraModel.LossAndGradients g64 = m64.lossAndGradients(x, y, null);
      LoraModel.LossAndGradients g32 = m32.lossAndGradients(x, y, null);
      assertThat(Math.abs(g32.loss() - g64.loss())).isLessThan(1e-5);
      for (String layer : g64.gradA().keySet()) {
        assertThat(Fixtures.maxAbsDiff(g32.gradA().get(layer), g64.gradA().get(layer))).as(layer).isLessThan(1e-4);
        assertThat(Fixtures.maxAbsDiff(g32.gradB().get(layer), g64.gradB().get(layer))).as(layer).isLessThan(1e-4);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Scaling.class)
  void transformerGrowthPreservesTheFunction(Scaling mode) {
    growthPreservesTheFunction(TRANSFORMER, mode);
  }

  @ParameterizedTest
  @EnumSource(Scaling.class)
  void bertGrowthPreservesTheFunction(Scaling mode) {
    growthPreservesTheFunction(BERT, mode);
  }

  private static void growthPreservesTheFunction(ModelSpec spec, Scaling mode) {
    Random rnd = new Random(21);
    int n = 32;
    float[] x = Fixtures.tokenRows(rnd, n, 8, 50, true);
    for (DataType dtype : new DataType[] {DataType.FLOAT32, DataType.FLOAT64}) {
      try (BaseModel base = BaseModel.create(spec, Device.cpu());
          LoraModel m = LoraModel.create(base, AdapterConfig.defaults().withTargets(List.of("*.q", "*.v", "head", "emb"))
              .withRank(2).withScaling(mode), dtype)) {
        Fixtures.randomizeB(m, new Random(2), 0.3);
        double[] before = m.logits(x, n);
        double[] frozen = LoraModel.toDouble(base.logits(x, n));
        assertThat(Fixtures.maxAbsDiff(before, frozen)).as("the adapter must matter for this test").isGreaterThan(0.05);
        m.grow("l0.q", 4);
        m.grow("l1.v", 16);
        m.grow("head", 8);
        m.grow("l0.q", 16);
        m.grow("emb", 5);
        assertThat(m.ranks()).isEqualTo(Map.of("l0.q", 16, "l0.v", 2, "l1.q", 2, "l1.v", 16, "head", 8, "emb", 5));
        double tol = dtype == DataType.FLOAT32 ? 1e-5 : 1e-12;
        assertThat(Fixtures.maxAbsDiff(before, m.logits(x, n))).as(dtype.toString()).isLessThanOrEqualTo(tol);
      }
    }
  }

  /**
   * Trains real adapters (B far from 0), then compares both serving engines' merged forwards (the
   * pure-Java one and DJL's on the device) with the unmerged device forward.
   */
  @ParameterizedTest
  @ValueSource(strings = {"transformer:", "transformer:*", "embbag:", "bert:", "bert:*", "bert-cls:*", "embbag:emb",
      "transformer:emb,*.v", "bert:emb,*"})
  void mergedForwardOfEitherEngineEqualsUnmergedDeviceForward(String variant) {
    String[] kv = variant.split(":", -1);
    ModelSpec spec = spec(kv[0]);
    Random rnd = new Random(4);
    List<String> targets = kv[1].isEmpty() ? List.of() : List.of(kv[1].split(","));
    LearnerConfig tc = LearnerConfig.defaults().withLr(0.05).withSchedule(RankSchedule.parse("steps:2@0,4@5"));
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults().withTargets(targets), tc)) {
      for (int i = 0; i < 20; i++) {
        float[] x = Fixtures.tokenRows(rnd, 16, 8, 50, false);
        learner.trainMicroBatch(x, Fixtures.labels(rnd, 16, 3), null);
      }
      assertThat(learner.ranks().values()).containsOnly(4);
      for (String layer : learner.ranks().keySet()) {
        assertThat(Arrays.stream(learner.model().b(layer)).map(Math::abs).max().orElse(0)).as(layer).isGreaterThan(1e-3);
      }
      int n = 24;
      float[] x = Fixtures.tokenRows(rnd, n, 8, 50, true);
      x[5 * 8 + 3] = 0; // a PAD in the middle of a row
      double[] device = learner.model().logits(x, n);
      double[] frozen = LoraModel.toDouble(base.logits(x, n));
      assertThat(Fixtures.maxAbsDiff(device, frozen)).as("the adapters must matter for this test").isGreaterThan(0.05);
      for (ServingEngine engine : ServingEngine.values()) {
        MergedClassifier merged = learner.model().merge(engine);
        double worst = 0;
        for (int i = 0; i < n; i++) {
          float[] z = merged.logits(Fixtures.row(x, i, 8));
          for (int c = 0; c < 3; c++) {
            worst = Math.max(worst, Math.abs(z[c] - device[i * 3 + c]));
          }
          assertThat(merged.predict(Fixtures.row(x, i, 8))).isEqualTo(Fixtures.argMax(device, i, 3));
        }
        assertThat(worst).as(engine.toString()).isLessThanOrEqualTo(1e-4);
        assertThat(merged.ranks()).isEqualTo(learner.ranks());
        assertThat(merged.tokenInput()).isTrue();
        assertThat(merged.vocabSize()).isEqualTo(50);
        merged.retire();
      }
    }
  }

  @Test
  void baseStaysBitIdenticalWhileTrainingEveryLayer() {
    Random rnd = new Random(6);
    try (BaseModel base = BaseModel.create(TRANSFORMER, Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults().withTargets(List.of("*")),
            LearnerConfig.defaults().withLr(0.05).withAccumulationSteps(2))) {
      byte[] before = base.deviceParameterBytes();
      String fp = base.fingerprint();
      for (int i = 0; i < 10; i++) {
        learner.trainMicroBatch(Fixtures.tokenRows(rnd, 16, 8, 50, true), Fixtures.labels(rnd, 16, 3), null);
      }
      assertThat(learner.optimizerStep()).isEqualTo(5);
      assertThat(Arrays.stream(learner.model().b("l0.q")).map(Math::abs).max().orElse(0)).isGreaterThan(0.01);
      assertThat(base.deviceParameterBytes()).isEqualTo(before);
      assertThat(base.deviceFingerprint()).isEqualTo(fp);
    }
  }

  @Test
  void transformerSnapshotEncodeDecodeRestoreReproducesTheModel() throws Exception {
    Random rnd = new Random(9);
    AdapterConfig ac = AdapterConfig.defaults().withTargets(List.of("*.q", "*.v", "l1.ff1"));
    LearnerConfig tc = LearnerConfig.defaults().withLr(0.05).withSchedule(RankSchedule.parse("steps:2@0,8@4"));
    float[] probe = Fixtures.tokenRows(rnd, 10, 8, 50, true);
    try (BaseModel base = BaseModel.create(TRANSFORMER, Device.cpu());
        OnlineLearner a = OnlineLearner.create(base, ac, tc);
        OnlineLearner b = OnlineLearner.create(base, ac, tc)) {
      for (int i = 0; i < 7; i++) {
        a.trainMicroBatch(Fixtures.tokenRows(rnd, 16, 8, 50, false), Fixtures.labels(rnd, 16, 3), null);
      }
      a.flush();
      AdapterSnapshot s = SnapshotCodec.encode(a, SnapshotMeta.of("spam", 3, "t1"));
      AdapterSnapshot wire = new org.apache.avro.specific.SpecificDatumReader<>(AdapterSnapshot.class)
          .read(null, org.apache.avro.io.DecoderFactory.get().binaryDecoder(SnapshotCodec.toAvroBinary(s), null));
      DecodedAdapter d = SnapshotCodec.decode(wire, base, null);
      assertThat(d.ranks()).isEqualTo(Map.of("l0.q", 8, "l0.v", 8, "l1.q", 8, "l1.v", 8, "l1.ff1", 8));
      assertThat(SnapshotCodec.payloadBytes(s)).isEqualTo(4L * 8 * (4 * (8 + 8) + (8 + 16)));
      b.restore(d.state());
      assertThat(b.ranks()).isEqualTo(a.ranks());
      assertThat(b.optimizerStep()).isEqualTo(a.optimizerStep());
      assertThat(b.model().logits(probe, 10)).containsExactly(a.model().logits(probe, 10));
      MergedModel fromSnapshot = d.merge(base);
      MergedModel fromLearner = a.merged();
      for (int i = 0; i < 10; i++) {
        assertThat(fromSnapshot.logits(Fixtures.row(probe, i, 8))).containsExactly(fromLearner.logits(Fixtures.row(probe, i, 8)));
      }
    }
  }

  /** Test-then-train: predictions are the arg-max of the forward pass before the micro-batch's update. */
  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void stepResultPredictionsAreThePreUpdateArgMax(int k) {
    Random rnd = new Random(13);
    LearnerConfig tc = LearnerConfig.defaults().withLr(0.1).withAccumulationSteps(k);
    for (ModelSpec spec : List.of(TRANSFORMER, EMBBAG, ModelSpec.mlp(5, List.of(7), 3, 2))) {
      try (BaseModel base = BaseModel.create(spec, Device.cpu());
          OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(), tc)) {
        int changed = 0;
        for (int step = 0; step < 12; step++) {
          int n = 9 + step % 3;
          float[] x = spec.tokenInput() ? Fixtures.tokenRows(rnd, n, 8, 50, true) : Fixtures.gaussianFloats(rnd, n * 5, 1.0);
          int[] y = Fixtures.labels(rnd, n, 3);
          double[] before = learner.model().logits(x, n);
          StepResult r = learner.trainMicroBatch(x, y, null);
          double[] after = learner.model().logits(x, n);
          assertThat(r.predictions()).hasSize(n);
          for (int i = 0; i < n; i++) {
            assertThat(r.predictions()[i]).as("%s step %d example %d", spec.kind(), step, i)
                .isEqualTo(Fixtures.argMax(before, i, 3));
            if (Fixtures.argMax(after, i, 3) != Fixtures.argMax(before, i, 3)) {
              changed++;
            }
          }
        }
        assertThat(changed).as("%s: updates must move some predictions, or this test proves nothing", spec.kind()).isPositive();
      }
    }
  }

  @Test
  void skippedMicroBatchesHaveNoPredictions() {
    try (BaseModel base = BaseModel.create(ModelSpec.mlp(4, List.of(3), 2, 1), Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(), LearnerConfig.defaults())) {
      float[] x = Fixtures.gaussianFloats(new Random(1), 8, 1.0);
      x[3] = Float.NaN;
      StepResult r = learner.trainMicroBatch(x, new int[] {0, 1}, null);
      assertThat(r.skippedNonFinite()).isTrue();
      assertThat(r.predictions()).isNull();
      assertThat(new StepResult(1, 2, true, false, 3, false).predictions()).isNull();
    }
  }
}
