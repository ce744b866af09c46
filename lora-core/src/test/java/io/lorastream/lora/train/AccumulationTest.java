package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.ModelSpec;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AccumulationTest {

  /**
   * k micro-batches of b must update A/B exactly like one batch of k*b. AdamW's first step is
   * nearly sign-like and would hide a wrong gradient scale, so the test also compares the
   * step's gradient norm (which a missing 1/k would multiply by k) and runs several steps,
   * after which the moments make the updates magnitude-sensitive. Clipping is off so it cannot
   * mask a scale error.
   */
  @Test
  void kMicroBatchesOfBEqualOneBatchOfKTimesB() {
    int k = 4;
    int b = 8;
    ModelSpec spec = ModelSpec.demoDefault(12);
    LearnerConfig tc = LearnerConfig.defaults().withClipNorm(0).withLr(0.01).withSchedule(RankSchedule.fixed(4));
    AdapterConfig ac = AdapterConfig.defaults().withInitStd(0.1);
    Random rnd = new Random(3);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        OnlineLearner accumulated = OnlineLearner.create(base, ac, tc.withAccumulationSteps(k), DataType.FLOAT64);
        OnlineLearner whole = OnlineLearner.create(base, ac, tc.withAccumulationSteps(1), DataType.FLOAT64)) {
      for (int step = 1; step <= 4; step++) {
        float[] x = Fixtures.gaussianFloats(rnd, k * b * 32, 1.0);
        int[] y = Fixtures.labels(rnd, k * b, 4);
        float[] w = new float[k * b];
        for (int i = 0; i < w.length; i++) {
          w[i] = 0.25f + rnd.nextFloat();
        }
        StepResult last = null;
        for (int j = 0; j < k; j++) {
          last = accumulated.trainMicroBatch(Arrays.copyOfRange(x, j * b * 32, (j + 1) * b * 32),
              Arrays.copyOfRange(y, j * b, (j + 1) * b), Arrays.copyOfRange(w, j * b, (j + 1) * b));
          assertThat(last.stepped()).isEqualTo(j == k - 1);
        }
        StepResult one = whole.trainMicroBatch(x, y, w);
        assertThat(one.stepped()).isTrue();
        assertThat(last.optimizerStep()).isEqualTo(one.optimizerStep()).isEqualTo(step);
        assertThat(last.gradNorm()).isCloseTo(one.gradNorm(), org.assertj.core.data.Offset.offset(1e-9 * one.gradNorm()));
        for (LayerInfo l : accumulated.model().targets()) {
          assertThat(Fixtures.maxAbsDiff(accumulated.model().a(l.name()), whole.model().a(l.name()))).isLessThan(1e-9);
          assertThat(Fixtures.maxAbsDiff(accumulated.model().b(l.name()), whole.model().b(l.name()))).isLessThan(1e-9);
        }
      }
      assertThat(accumulated.examplesSeen()).isEqualTo(whole.examplesSeen()).isEqualTo(4L * k * b);
      // And the comparison is not vacuous: training moved B away from zero.
      assertThat(Arrays.stream(whole.model().b("fc0")).map(Math::abs).max().orElse(0)).isGreaterThan(0.01);
    }
  }

  @Test
  void flushAppliesAPartialStepAsAMean() {
    ModelSpec spec = ModelSpec.demoDefault(12);
    LearnerConfig tc = LearnerConfig.defaults().withClipNorm(0).withSchedule(RankSchedule.fixed(2));
    Random rnd = new Random(4);
    float[] x = Fixtures.gaussianFloats(rnd, 16 * 32, 1.0);
    int[] y = Fixtures.labels(rnd, 16, 4);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        OnlineLearner partial = OnlineLearner.create(base, AdapterConfig.defaults(), tc.withAccumulationSteps(4), DataType.FLOAT64);
        OnlineLearner whole = OnlineLearner.create(base, AdapterConfig.defaults(), tc, DataType.FLOAT64)) {
      partial.trainMicroBatch(Arrays.copyOfRange(x, 0, 8 * 32), Arrays.copyOfRange(y, 0, 8), null);
      partial.trainMicroBatch(Arrays.copyOfRange(x, 8 * 32, 16 * 32), Arrays.copyOfRange(y, 8, 16), null);
      assertThat(partial.pendingMicroBatches()).isEqualTo(2);
      StepResult flushed = partial.flush();
      StepResult one = whole.trainMicroBatch(x, y, null);
      assertThat(flushed.stepped()).isTrue();
      assertThat(partial.pendingMicroBatches()).isZero();
      assertThat(flushed.gradNorm()).isCloseTo(one.gradNorm(), org.assertj.core.data.Offset.offset(1e-9));
      assertThat(Fixtures.maxAbsDiff(partial.model().b("head"), whole.model().b("head"))).isLessThan(1e-12);
      assertThat(partial.flush().stepped()).as("nothing pending").isFalse();
    }
  }
}
