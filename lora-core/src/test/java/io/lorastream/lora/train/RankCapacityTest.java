package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.lora.PretrainedFixture;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.ExampleSource;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The point of growing rank: the last drift phase needs a rank-16 correction of the first layer,
 * so from the same pretrained base and the same data, rank 16 must end clearly ahead of rank 2,
 * and both must beat the frozen base.
 */
class RankCapacityTest {

  @Test
  void rank16AdaptsToTheLastPhaseClearlyBetterThanRank2() {
    RotatingSubspaceStream gen = PretrainedFixture.GEN;
    BaseModel base = PretrainedFixture.result().model();
    int last = gen.phases() - 1;
    List<Example> test = drain(gen.phaseSource(last, 4_000, 5));
    double frozen = Pretrainer.accuracy(MergedModel.ofBase(base), test);
    double r2 = adapt(base, gen, last, "fixed:2", test);
    double r16 = adapt(base, gen, last, "fixed:16", test);
    System.out.printf("last phase after 400 steps: frozen=%.3f r2=%.3f r16=%.3f%n", frozen, r2, r16);
    assertThat(r2).isGreaterThan(frozen + 0.1);
    assertThat(r16).isGreaterThan(r2 + 0.05);
  }

  private static double adapt(BaseModel base, RotatingSubspaceStream gen, int phase, String schedule, List<Example> test) {
    try (OnlineLearner l = OnlineLearner.create(base, AdapterConfig.defaults(),
        LearnerConfig.defaults().withSchedule(RankSchedule.parse(schedule)))) {
      ExampleSource train = gen.phaseSource(phase, 400 * 32, 77);
      int d = base.inputSize();
      float[] f = new float[32 * d];
      int[] y = new int[32];
      for (int step = 0; step < 400; step++) {
        for (int i = 0; i < 32; i++) {
          Example e = train.next();
          System.arraycopy(e.features(), 0, f, i * d, d);
          y[i] = e.label();
        }
        l.trainMicroBatch(f, y, null);
      }
      return Pretrainer.accuracy(l.merged(), test);
    }
  }

  private static List<Example> drain(ExampleSource s) {
    List<Example> out = new ArrayList<>();
    while (s.hasNext()) {
      out.add(s.next());
    }
    return out;
  }
}
