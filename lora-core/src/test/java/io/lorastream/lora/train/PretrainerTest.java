package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.lora.PretrainedFixture;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.ExampleSource;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PretrainerTest {

  @Test
  void reachesHighAccuracyOnPhaseZeroOfTheDriftStream() {
    RotatingSubspaceStream gen = PretrainedFixture.GEN;
    Pretrainer.Result r = PretrainedFixture.result();
    BaseModel base = r.model();
    {
      // Independent fresh test data from the same concept.
      List<Example> test = new ArrayList<>();
      ExampleSource src = gen.phaseSource(0, 5_000, 12345);
      while (src.hasNext()) {
        test.add(src.next());
      }
      double testAcc = Pretrainer.accuracy(MergedModel.ofBase(base), test);
      double majority = 0;
      for (double f : gen.classFrequencies(0, 5_000, 12345)) {
        majority = Math.max(majority, f);
      }
      System.out.printf("pretrain: train=%.3f holdout=%.3f test=%.3f (majority class %.3f, last epoch loss %.3f)%n",
          r.trainAccuracy(), r.holdoutAccuracy(), testAcc, majority, r.finalLoss());
      assertThat(r.trainExamples()).isEqualTo(27_000);
      assertThat(r.holdoutExamples()).isEqualTo(3_000);
      assertThat(r.holdoutAccuracy()).isGreaterThan(0.8);
      assertThat(testAcc).isGreaterThan(0.8);
      // The rotated last phase is a different concept: the same base does much worse there.
      List<Example> drifted = new ArrayList<>();
      ExampleSource d = gen.phaseSource(3, 5_000, 12345);
      while (d.hasNext()) {
        drifted.add(d.next());
      }
      assertThat(Pretrainer.accuracy(MergedModel.ofBase(base), drifted)).isLessThan(testAcc - 0.2);
    }
  }

  @Test
  void reportsOneProgressLinePerEpochWithTheLossItReturns() {
    List<Example> data = new ArrayList<>();
    ExampleSource src = PretrainedFixture.GEN.phaseSource(0, 600, 99);
    while (src.hasNext()) {
      data.add(src.next());
    }
    List<String> lines = new ArrayList<>();
    Pretrainer.Result r = new Pretrainer(new Pretrainer.Config(3, 64, 5e-3, 0.1, 1L), lines::add)
        .train(ModelSpec.mlp(PretrainedFixture.GEN.inputSize(), List.of(16), PretrainedFixture.GEN.numClasses(), 1L),
            data, ai.djl.Device.cpu());
    try (BaseModel ignored = r.model()) {
      assertThat(lines).hasSize(3);
      assertThat(lines.get(0)).startsWith("epoch 1/3: mean loss ");
      assertThat(lines.get(2)).startsWith("epoch 3/3: mean loss " + String.format(java.util.Locale.ROOT, "%.4f",
          r.finalLoss()));
    }
  }
}
