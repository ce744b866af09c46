package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NonFiniteTest {

  @Test
  void nonFiniteMicroBatchesAreSkippedCountedAndLearningContinues() {
    ModelSpec spec = ModelSpec.demoDefault(50);
    Random rnd = new Random(10);
    // A fixed learnable task: labels from another random network.
    float[] evalX = Fixtures.gaussianFloats(rnd, 256 * 32, 1.0);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        BaseModel teacher = BaseModel.create(ModelSpec.demoDefault(51), Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(),
            LearnerConfig.defaults().withLr(0.01).withSchedule(RankSchedule.fixed(8)))) {
      MergedModel t = MergedModel.ofBase(teacher);
      int[] evalY = label(t, evalX);
      for (int i = 0; i < 20; i++) {
        float[] x = Fixtures.gaussianFloats(rnd, 32 * 32, 1.0);
        learner.trainMicroBatch(x, label(t, x), null);
      }
      double lossBefore = learner.model().loss(evalX, evalY, null);
      long stepsBefore = learner.optimizerStep();

      float[] huge = Fixtures.gaussianFloats(rnd, 32 * 32, 1e20); // finite, but the gradients overflow
      float[] withNaN = Fixtures.gaussianFloats(rnd, 32 * 32, 1.0);
      withNaN[77] = Float.NaN;
      float[] withInf = Fixtures.gaussianFloats(rnd, 32 * 32, 1.0);
      withInf[5] = Float.NEGATIVE_INFINITY;
      float[] badWeights = new float[32];
      Arrays.fill(badWeights, 1f);
      badWeights[3] = Float.POSITIVE_INFINITY;
      StepResult r1 = learner.trainMicroBatch(huge, label(t, Fixtures.gaussianFloats(rnd, 32 * 32, 1.0)), null);
      StepResult r2 = learner.trainMicroBatch(withNaN, Fixtures.labels(rnd, 32, 4), null);
      StepResult r3 = learner.trainMicroBatch(withInf, Fixtures.labels(rnd, 32, 4), null);
      StepResult r4 = learner.trainMicroBatch(Fixtures.gaussianFloats(rnd, 32 * 32, 1.0), Fixtures.labels(rnd, 32, 4), badWeights);
      for (StepResult r : new StepResult[] {r1, r2, r3, r4}) {
        assertThat(r.skippedNonFinite()).isTrue();
        assertThat(r.stepped()).isFalse();
      }
      assertThat(learner.skippedBatches()).isEqualTo(4);
      assertThat(learner.skippedExamples()).isEqualTo(128);
      assertThat(learner.examplesSeen()).isEqualTo(24 * 32);
      assertThat(learner.optimizerStep()).isEqualTo(stepsBefore);
      assertThat(Double.isFinite(learner.lossEma())).isTrue();
      assertFinite(learner);
      assertThat(learner.model().loss(evalX, evalY, null)).isEqualTo(lossBefore);

      for (int i = 0; i < 60; i++) {
        float[] x = Fixtures.gaussianFloats(rnd, 32 * 32, 1.0);
        assertThat(learner.trainMicroBatch(x, label(t, x), null).stepped()).isTrue();
      }
      assertFinite(learner);
      assertThat(learner.model().loss(evalX, evalY, null)).isLessThan(lossBefore);
      AdapterSnapshot s = SnapshotCodec.encode(learner, SnapshotMeta.of("t", 1, "x"));
      assertThat(SnapshotCodec.decode(s, base, null).layers()).hasSize(3);
    }
  }

  @Test
  void aBadMicroBatchInsideAnAccumulationWindowDropsOnlyItself() {
    ModelSpec spec = ModelSpec.demoDefault(52);
    Random rnd = new Random(11);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(),
            LearnerConfig.defaults().withAccumulationSteps(2).withSchedule(RankSchedule.fixed(2)))) {
      StepResult good1 = learner.trainMicroBatch(Fixtures.gaussianFloats(rnd, 16 * 32, 1.0), Fixtures.labels(rnd, 16, 4), null);
      StepResult bad = learner.trainMicroBatch(Fixtures.gaussianFloats(rnd, 16 * 32, 1e20), Fixtures.labels(rnd, 16, 4), null);
      assertThat(learner.pendingMicroBatches()).isEqualTo(1);
      StepResult good2 = learner.trainMicroBatch(Fixtures.gaussianFloats(rnd, 16 * 32, 1.0), Fixtures.labels(rnd, 16, 4), null);
      assertThat(good1.stepped()).isFalse();
      assertThat(bad.skippedNonFinite()).isTrue();
      assertThat(good2.stepped()).isTrue();
      assertThat(Double.isFinite(good2.gradNorm())).isTrue();
      assertThat(learner.optimizerStep()).isEqualTo(1);
      assertFinite(learner);
    }
  }

  @Test
  void largeButRepresentableGradientsAreClippedNotSkipped() {
    Random rnd = new Random(12);
    try (BaseModel base = BaseModel.create(ModelSpec.demoDefault(53), Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(),
            LearnerConfig.defaults().withSchedule(RankSchedule.fixed(4)))) {
      learner.trainMicroBatch(Fixtures.gaussianFloats(rnd, 32 * 32, 1.0), Fixtures.labels(rnd, 32, 4), null);
      StepResult r = learner.trainMicroBatch(Fixtures.gaussianFloats(rnd, 32 * 32, 1e4), Fixtures.labels(rnd, 32, 4), null);
      assertThat(r.stepped()).isTrue();
      assertThat(r.gradNorm()).isGreaterThan(learner.learnerConfig().clipNorm());
      assertFinite(learner);
    }
  }

  private static int[] label(MergedModel teacher, float[] x) {
    int n = x.length / 32;
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = teacher.predict(Arrays.copyOfRange(x, i * 32, (i + 1) * 32));
    }
    return y;
  }

  private static void assertFinite(OnlineLearner learner) {
    for (String layer : learner.ranks().keySet()) {
      assertThat(Fixtures.allFinite(learner.model().a(layer))).as("A of %s", layer).isTrue();
      assertThat(Fixtures.allFinite(learner.model().b(layer))).as("B of %s", layer).isTrue();
    }
  }
}
