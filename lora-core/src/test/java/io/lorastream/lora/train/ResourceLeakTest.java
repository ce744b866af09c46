package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A trainer runs for days: per-micro-batch tensors must be freed, not parked in long-lived managers. */
class ResourceLeakTest {

  @Test
  void trainingDoesNotAccumulateNativeArrays() {
    Random rnd = new Random(1);
    try (BaseModel base = BaseModel.create(ModelSpec.demoDefault(70), Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(),
            LearnerConfig.defaults().withAccumulationSteps(2).withSchedule(RankSchedule.parse("steps:2@0,4@20")))) {
      float[] x = Fixtures.gaussianFloats(rnd, 32 * 32, 1.0);
      int[] y = Fixtures.labels(rnd, 32, 4);
      for (int i = 0; i < 60; i++) { // past the growth at step 20
        learner.trainMicroBatch(x, y, null);
      }
      learner.merged();
      NDManager m = learner.model().manager();
      int modelArrays = m.getManagedArrays().size();
      int baseArrays = countBase(base);
      for (int i = 0; i < 200; i++) {
        learner.trainMicroBatch(x, y, null);
        if (i % 50 == 0) {
          learner.model().logits(x, 32);
          learner.model().loss(x, y, null);
          learner.merged();
        }
      }
      x[0] = Float.NaN;
      learner.trainMicroBatch(x, y, null);
      assertThat(m.getManagedArrays()).hasSize(modelArrays);
      assertThat(countBase(base)).isEqualTo(baseArrays);
    }
  }

  private static int countBase(BaseModel base) {
    return base.deviceWeightT(0).getManager().getManagedArrays().size();
  }
}
