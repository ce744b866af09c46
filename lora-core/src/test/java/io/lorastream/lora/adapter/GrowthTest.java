package io.lorastream.lora.adapter;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.ExampleSource;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.lora.train.RankSchedule;
import io.lorastream.lora.train.StepResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class GrowthTest {

  /**
   * Float32 at realistic magnitudes: a trained adapter moves logits by O(1); the tolerance 1e-5 is
   * absolute on logits of that size. Float64 shows the math itself is exact to rounding.
   */
  @ParameterizedTest
  @EnumSource(Scaling.class)
  void growthPreservesTheFunctionInFloat32(Scaling mode) {
    assertGrowthPreserves(mode, ai.djl.ndarray.types.DataType.FLOAT32, 1e-5);
  }

  @ParameterizedTest
  @EnumSource(Scaling.class)
  void growthPreservesTheFunctionInFloat64(Scaling mode) {
    assertGrowthPreserves(mode, ai.djl.ndarray.types.DataType.FLOAT64, 1e-12);
  }

  private static void assertGrowthPreserves(Scaling mode, ai.djl.ndarray.types.DataType dtype, double tol) {
    Random rnd = new Random(21);
    ModelSpec spec = ModelSpec.demoDefault(3);
    int n = 64;
    float[] x = Fixtures.gaussianFloats(rnd, n * spec.inputSize(), 1.0);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        LoraModel m = LoraModel.create(base, AdapterConfig.defaults().withRank(2).withScaling(mode), dtype)) {
      Fixtures.randomizeB(m, rnd, 0.05);
      double[] before = m.logits(x, n);
      double[] frozen = LoraModel.toDouble(base.logits(x, n));
      assertThat(Fixtures.maxAbsDiff(before, frozen)).as("the adapter must matter for this test").isGreaterThan(0.1);
      assertThat(java.util.Arrays.stream(before).map(Math::abs).max().orElse(0)).as("logit scale").isLessThan(20);
      double[] a0 = m.a("fc0");
      double[] b0 = m.b("fc0");
      double s0 = m.scale("fc0");

      m.grow("fc0", 4);
      m.grow("fc1", 16);
      m.grow("head", 8);
      m.grow("fc0", 16);

      assertThat(m.ranks()).isEqualTo(Map.of("fc0", 16, "fc1", 16, "head", 8));
      double[] after = m.logits(x, n);
      assertThat(Fixtures.maxAbsDiff(before, after)).isLessThanOrEqualTo(tol);
      // Old rows of A are kept, new rows are small and random, new columns of B are zero, old
      // columns of B absorb the scale change.
      double[] a1 = m.a("fc0");
      double[] b1 = m.b("fc0");
      int in = 32;
      for (int i = 0; i < 2 * in; i++) {
        assertThat(a1[i]).isEqualTo(a0[i]);
      }
      assertThat(java.util.Arrays.stream(a1, 2 * in, 16 * in).filter(v -> v != 0).count()).isEqualTo(14L * in);
      double c = s0 / m.scale("fc0");
      for (int o = 0; o < 64; o++) {
        for (int k = 0; k < 16; k++) {
          double want = k < 2 ? b0[o * 2 + k] * c : 0.0;
          assertThat(b1[o * 16 + k]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6 * Math.max(1, Math.abs(want))));
        }
      }
    }
  }

  /** Scale-keeping growth: alpha follows the rank, B is untouched, the function is kept. */
  @ParameterizedTest
  @EnumSource(Scaling.class)
  void scaleKeepingGrowthRaisesAlphaAndLeavesBAlone(Scaling mode) {
    Random rnd = new Random(22);
    ModelSpec spec = ModelSpec.demoDefault(3);
    int n = 64;
    float[] x = Fixtures.gaussianFloats(rnd, n * spec.inputSize(), 1.0);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        LoraModel m = LoraModel.create(base, AdapterConfig.defaults().withRank(2).withScaling(mode),
            ai.djl.ndarray.types.DataType.FLOAT64)) {
      Fixtures.randomizeB(m, rnd, 0.05);
      double[] before = m.logits(x, n);
      double s0 = m.scale("fc0");
      double[] b0 = m.b("fc0");
      m.grow("fc0", 8, true);
      assertThat(m.scale("fc0")).isCloseTo(s0, org.assertj.core.data.Offset.offset(1e-6 * s0));
      assertThat(m.alpha("fc0")).isCloseTo((float) (s0 * (mode == Scaling.RSLORA ? Math.sqrt(8) : 8)),
          org.assertj.core.data.Offset.offset(1e-4f));
      double[] b1 = m.b("fc0");
      for (int o = 0; o < 64; o++) {
        for (int k = 0; k < 2; k++) {
          assertThat(b1[o * 8 + k]).isCloseTo(b0[o * 2 + k], org.assertj.core.data.Offset.offset(1e-6 * Math.abs(b0[o * 2 + k])));
        }
      }
      assertThat(Fixtures.maxAbsDiff(before, m.logits(x, n))).isLessThanOrEqualTo(1e-6);
    }
  }

  @Test
  void growthBeyondTheCeilingOrShrinkingIsRejected() {
    try (BaseModel base = BaseModel.create(ModelSpec.mlp(4, List.of(5), 2, 1), Device.cpu());
        LoraModel m = LoraModel.create(base, AdapterConfig.defaults().withRank(4).withMaxRank(8))) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> m.grow("fc0", 16))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxRank 8");
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> m.grow("fc0", 2))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shrink");
    }
  }

  @ParameterizedTest
  @EnumSource(Scaling.class)
  void trainingKeepsReducingTheLossAfterEachGrowth(Scaling mode) {
    // A base pretrained-free (random) model and a concept it does not know: the learner must fit it.
    ModelSpec spec = ModelSpec.demoDefault(5);
    RotatingSubspaceStream gen = RotatingSubspaceStream.withDefaults(9);
    List<Example> data = new ArrayList<>();
    ExampleSource src = gen.phaseSource(3, 2048, 17);
    while (src.hasNext()) {
      data.add(src.next());
    }
    float[] allX = new float[data.size() * 32];
    int[] allY = new int[data.size()];
    for (int i = 0; i < data.size(); i++) {
      System.arraycopy(data.get(i).features(), 0, allX, i * 32, 32);
      allY[i] = data.get(i).label();
    }
    LearnerConfig tc = LearnerConfig.defaults().withLr(0.01)
        .withSchedule(RankSchedule.parse("steps:2@0,4@30,8@60,16@90"));
    AdapterConfig ac = AdapterConfig.defaults().withScaling(mode).withAlpha(mode == Scaling.RSLORA ? 4f : 16f);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, ac, tc)) {
      List<Double> lossAtGrowth = new ArrayList<>();
      List<Map<String, Integer>> ranksAtGrowth = new ArrayList<>();
      int b = 32;
      while (learner.optimizerStep() < 150) {
        for (int start = 0; start < data.size() && learner.optimizerStep() < 150; start += b) {
          float[] f = java.util.Arrays.copyOfRange(allX, start * 32, (start + b) * 32);
          int[] y = java.util.Arrays.copyOfRange(allY, start, start + b);
          StepResult r = learner.trainMicroBatch(f, y, null);
          assertThat(r.stepped()).isTrue();
          if (r.ranksChanged()) {
            lossAtGrowth.add(learner.model().loss(allX, allY, null));
            ranksAtGrowth.add(learner.ranks());
          }
        }
      }
      double end = learner.model().loss(allX, allY, null);
      System.out.printf("%s: loss at growths %s, end %.4f%n", mode, lossAtGrowth, end);
      assertThat(ranksAtGrowth).extracting(r -> r.get("fc0")).containsExactly(4, 8, 16);
      assertThat(lossAtGrowth).hasSize(3);
      // Strictly decreasing across growths and after the last one: growth never stalls learning.
      assertThat(lossAtGrowth.get(1)).isLessThan(lossAtGrowth.get(0));
      assertThat(lossAtGrowth.get(2)).isLessThan(lossAtGrowth.get(1));
      assertThat(end).isLessThan(lossAtGrowth.get(2));
    }
  }
}
