package io.lorastream.lora.adapter;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class MergeTest {

  @ParameterizedTest
  @EnumSource(Scaling.class)
  void mergedWeightsGiveTheSameOutputsAsUnmergedLora(Scaling mode) {
    Random rnd = new Random(4);
    ModelSpec spec = ModelSpec.demoDefault(8);
    int n = 100;
    float[] x = Fixtures.gaussianFloats(rnd, n * spec.inputSize(), 1.0);
    AdapterConfig ac = AdapterConfig.defaults().withRank(8).withScaling(mode)
        .withOverride("fc1", new AdapterConfig.LayerOverride(2, 3f, Scaling.RSLORA));
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        LoraModel m = LoraModel.create(base, ac)) {
      Fixtures.randomizeB(m, rnd, 0.05);
      assertThat(m.ranks()).containsEntry("fc1", 2).containsEntry("fc0", 8);
      double[] lora = m.logits(x, n);
      MergedModel merged = m.merge();
      double worst = 0;
      for (int i = 0; i < n; i++) {
        float[] xi = java.util.Arrays.copyOfRange(x, i * 32, (i + 1) * 32);
        float[] z = merged.logits(xi);
        int classes = spec.numClasses();
        for (int c = 0; c < classes; c++) {
          worst = Math.max(worst, Math.abs(z[c] - lora[i * classes + c]));
        }
        float[] p = merged.predictProba(xi);
        double sum = 0;
        for (float v : p) {
          sum += v;
        }
        assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
      }
      assertThat(worst).isLessThanOrEqualTo(1e-5);
      assertThat(java.util.Arrays.stream(lora).map(Math::abs).max().orElse(0)).as("logit scale").isLessThan(20);
      double[] frozen = LoraModel.toDouble(base.logits(x, n));
      assertThat(Fixtures.maxAbsDiff(lora, frozen)).as("adapter must change the outputs").isGreaterThan(0.1);
      assertThat(merged.ranks()).isEqualTo(m.ranks());
      assertThat(merged.baseFingerprint()).isEqualTo(base.fingerprint());
    }
  }

  @Test
  void aFreshAdapterChangesNothing() {
    Random rnd = new Random(2);
    ModelSpec spec = ModelSpec.mlp(6, List.of(5), 3, 2);
    float[] x = Fixtures.gaussianFloats(rnd, 10 * 6, 1.0);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        LoraModel m = LoraModel.create(base, AdapterConfig.defaults())) {
      assertThat(m.logits(x, 10)).containsExactly(LoraModel.toDouble(base.logits(x, 10)));
      MergedModel frozen = MergedModel.ofBase(base);
      float[] x0 = java.util.Arrays.copyOf(x, 6);
      assertThat(m.merge().logits(x0)).containsExactly(frozen.logits(x0));
    }
  }

  @Test
  void mergedModelRejectsWrongInputWidth() {
    try (BaseModel base = BaseModel.create(ModelSpec.mlp(6, List.of(5), 3, 2), Device.cpu())) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> MergedModel.ofBase(base).predictProba(new float[5]))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected 6 features");
    }
  }
}
