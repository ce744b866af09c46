package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.model.TokenRows;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Pretraining text bases, and long-running training of text models without native leaks. */
class TextTrainingTest {

  /** class 1 iff token 7 appears in the row (half the rows get one). */
  static List<Example> token7Examples(Random rnd, int n, int seqLen) {
    List<Example> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int len = 1 + rnd.nextInt(seqLen);
      int[] t = new int[len];
      boolean has = false;
      for (int p = 0; p < len; p++) {
        t[p] = 1 + rnd.nextInt(49);
        has |= t[p] == 7;
      }
      if (!has && rnd.nextBoolean()) {
        t[rnd.nextInt(len)] = 7;
        has = true;
      }
      float[] row = new float[seqLen];
      TokenRows.fill(t, row, 0, seqLen);
      out.add(new Example("e" + i, row, has ? 1 : 0, 0));
    }
    return out;
  }

  @Test
  void pretrainerTrainsTextBasesToHighHoldoutAccuracy() {
    List<Example> data = token7Examples(new Random(1), 800, 8);
    for (ModelSpec spec : List.of(ModelSpec.transformer(50, 8, 16, 2, 2, 32, 2, 3), ModelSpec.embeddingBag(50, 8, 16, List.of(16), 2, 4))) {
      Pretrainer.Result r = new Pretrainer(new Pretrainer.Config(8, 32, 0.01, 0.2, 5)).train(spec, data, Device.cpu());
      try (BaseModel base = r.model()) {
        System.out.printf("pretrain %s on token-7: train=%.3f holdout=%.3f loss=%.4f%n", spec.kind(), r.trainAccuracy(),
            r.holdoutAccuracy(), r.finalLoss());
        assertThat(base.spec()).isEqualTo(spec);
        assertThat(r.trainExamples()).isEqualTo(640);
        assertThat(r.holdoutAccuracy()).isGreaterThan(0.9);
      }
    }
  }

  @Test
  void pretrainerRejectsBadTokenRowsNamingTheExample() {
    List<Example> data = new ArrayList<>(token7Examples(new Random(1), 4, 8));
    float[] bad = new float[8];
    bad[2] = 50f;
    data.add(new Example("bad-one", bad, 0, 0));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Pretrainer(Pretrainer.Config.defaults())
            .train(Fixtures.tinyTransformer(1), data, Device.cpu()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad-one").hasMessageContaining("50.0");
  }

  @Test
  void textTrainingDoesNotAccumulateNativeArrays() {
    Random rnd = new Random(2);
    int[] y = Fixtures.labels(rnd, 16, 3);
    float[] x = Fixtures.tokenRows(rnd, 16, 8, 50, true);
    try (BaseModel base = BaseModel.create(Fixtures.tinyTransformer(70), Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(),
            LearnerConfig.defaults().withAccumulationSteps(2).withSchedule(RankSchedule.parse("steps:2@0,4@20")));
        FullFineTuner tuner = FullFineTuner.create(base, LearnerConfig.defaults().withAccumulationSteps(2))) {
      for (int i = 0; i < 60; i++) { // past the growth at step 20
        learner.trainMicroBatch(x, y, null);
        tuner.trainMicroBatch(x, y, null);
      }
      learner.merged();
      tuner.merged();
      tuner.trainMicroBatch(x, y, null);
      tuner.flush(); // caches its 0-d gradient-rescale constant (bounded cache, not a leak)
      NDManager lm = learner.model().manager();
      NDManager tm = tuner.manager();
      int learnerArrays = lm.getManagedArrays().size();
      int tunerArrays = tm.getManagedArrays().size();
      int baseArrays = base.deviceWeightT(0).getManager().getManagedArrays().size();
      for (int i = 0; i < 100; i++) {
        learner.trainMicroBatch(x, y, null);
        tuner.trainMicroBatch(x, y, null);
        if (i % 25 == 0) {
          learner.model().logits(x, 16);
          tuner.logits(x, 16);
          base.logits(x, 16);
          tuner.flush();
          learner.merged();
        }
      }
      assertThat(lm.getManagedArrays()).hasSize(learnerArrays);
      assertThat(tm.getManagedArrays()).hasSize(tunerArrays);
      assertThat(base.deviceWeightT(0).getManager().getManagedArrays()).hasSize(baseArrays);
    }
  }
}
