package io.lorastream.lora.adapter;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.ModelSpec;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class GradientCheckTest {

  private static final ModelSpec SPEC = ModelSpec.mlp(5, List.of(7, 6), 3, 11);

  @ParameterizedTest
  @EnumSource(Scaling.class)
  void autogradGradientsOfAAndBMatchCentralDifferencesInFloat64(Scaling mode) {
    Random rnd = new Random(5);
    int n = 9;
    float[] x = Fixtures.gaussianFloats(rnd, n * SPEC.inputSize(), 1.0);
    int[] y = Fixtures.labels(rnd, n, SPEC.numClasses());
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = 0.5f + rnd.nextFloat();
    }
    AdapterConfig ac = AdapterConfig.defaults().withRank(3).withAlpha(6f).withScaling(mode).withInitStd(0.5);
    try (BaseModel base = BaseModel.create(SPEC, Device.cpu());
        LoraModel m = LoraModel.create(base, ac, DataType.FLOAT64)) {
      Fixtures.randomizeB(m, rnd, 0.5);
      LoraModel.LossAndGradients g = m.lossAndGradients(x, y, w);
      double h = 1e-6;
      int checked = 0;
      double worst = 0;
      for (LayerInfo l : m.targets()) {
        String name = l.name();
        for (boolean isA : new boolean[] {true, false}) {
          double[] auto = (isA ? g.gradA() : g.gradB()).get(name);
          double[] p = isA ? m.a(name) : m.b(name);
          assertThat(auto).hasSize(p.length);
          for (int i = 0; i < p.length; i++) {
            double orig = p[i];
            p[i] = orig + h;
            set(m, name, isA, p);
            double up = m.loss(x, y, w);
            p[i] = orig - h;
            set(m, name, isA, p);
            double down = m.loss(x, y, w);
            p[i] = orig;
            set(m, name, isA, p);
            double fd = (up - down) / (2 * h);
            double err = Math.abs(fd - auto[i]) / Math.max(1e-3, Math.abs(fd) + Math.abs(auto[i]));
            worst = Math.max(worst, err);
            checked++;
          }
        }
      }
      assertThat(checked).isEqualTo(3 * (5 + 7) + 3 * (7 + 6) + 3 * (6 + 3));
      assertThat(worst).as("worst relative error over %d entries", checked).isLessThan(1e-6);
      // The gradients are not trivially zero (B random makes A's gradient non-zero too).
      for (Map<String, double[]> grads : List.of(g.gradA(), g.gradB())) {
        for (double[] v : grads.values()) {
          assertThat(java.util.Arrays.stream(v).map(Math::abs).max().orElse(0)).isGreaterThan(1e-4);
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Scaling.class)
  void float32AutogradAgreesWithFloat64(Scaling mode) {
    Random rnd = new Random(8);
    int n = 16;
    float[] x = Fixtures.gaussianFloats(rnd, n * SPEC.inputSize(), 1.0);
    int[] y = Fixtures.labels(rnd, n, SPEC.numClasses());
    AdapterConfig ac = AdapterConfig.defaults().withRank(2).withScaling(mode).withInitStd(0.3);
    try (BaseModel base = BaseModel.create(SPEC, Device.cpu());
        LoraModel m64 = LoraModel.create(base, ac, DataType.FLOAT64);
        LoraModel m32 = LoraModel.create(base, ac, DataType.FLOAT32)) {
      Fixtures.randomizeB(m64, new Random(1), 0.3);
      Fixtures.randomizeB(m32, new Random(1), 0.3);
      LoraModel.LossAndGradients g64 = m64.lossAndGradients(x, y, null);
      LoraModel.LossAndGradients g32 = m32.lossAndGradients(x, y, null);
      assertThat(g32.loss()).isCloseTo(g64.loss(), org.assertj.core.data.Offset.offset(1e-5));
      for (String layer : g64.gradA().keySet()) {
        assertThat(Fixtures.maxAbsDiff(g32.gradA().get(layer), g64.gradA().get(layer))).isLessThan(1e-5);
        assertThat(Fixtures.maxAbsDiff(g32.gradB().get(layer), g64.gradB().get(layer))).isLessThan(1e-5);
      }
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
}
