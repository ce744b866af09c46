package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FrozenBaseTest {

  @Test
  void baseParametersAreBitIdenticalAfterTraining() {
    ModelSpec spec = ModelSpec.demoDefault(30);
    Random rnd = new Random(6);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(),
            LearnerConfig.defaults().withLr(0.02).withAccumulationSteps(2).withSchedule(RankSchedule.parse("steps:2@0,8@5,16@10")))) {
      byte[] before = base.deviceParameterBytes();
      String fp = base.fingerprint();
      float[] fc0Before = base.weight("fc0");
      for (int i = 0; i < 40; i++) {
        learner.trainMicroBatch(Fixtures.gaussianFloats(rnd, 32 * 32, 1.0), Fixtures.labels(rnd, 32, 4), null);
      }
      assertThat(learner.optimizerStep()).isEqualTo(20);
      assertThat(learner.ranks().values()).containsOnly(16);
      assertThat(Arrays.stream(learner.model().b("fc0")).map(Math::abs).max().orElse(0))
          .as("the adapters did train").isGreaterThan(0.01);
      assertThat(base.deviceParameterBytes()).isEqualTo(before);
      assertThat(base.deviceFingerprint()).isEqualTo(fp).isEqualTo(base.fingerprint());
      assertThat(base.weight("fc0")).containsExactly(fc0Before);
      // The merged model differs from the base; the base's own serving model does not.
      assertThat(learner.merged().weight(0)).isNotEqualTo(fc0Before);
      assertThat(MergedModel.ofBase(base).weight(0)).containsExactly(fc0Before);
    }
  }
}
