package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Fitting only the head of a frozen encoder: the encoder is untouched, and the folded head reads raw pooled outputs. */
class HeadFitterTest {

  /** Label 1 iff the row contains token 7: learnable from the mean-pooled output of a random encoder. */
  private static List<Example> examples(Random rnd, int n, ModelSpec spec) {
    List<Example> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      float[] row = Fixtures.tokenRows(rnd, 1, spec.inputSize(), spec.vocabSize(), false);
      int label = i % 2;
      for (int j = 0; j < row.length; j++) {
        if (row[j] == 7) {
          row[j] = 8;
        }
      }
      if (label == 1) {
        java.util.Arrays.fill(row, 0, 6, 7f);
      }
      out.add(new Example("e" + i, row, label, 0));
    }
    return out;
  }

  @Test
  void fitsTheHeadAloneAndTheFoldedHeadScoresAsTheFitSaid() {
    ModelSpec spec = ModelSpec.bert(50, 8, 8, 2, 2, 16, 2, ModelSpec.POOL_MEAN, 3);
    List<Example> data = examples(new Random(1), 400, spec);
    try (BaseModel encoder = BaseModel.create(spec, Device.cpu())) {
      double before = Pretrainer.accuracy(MergedModel.ofBase(encoder), data);
      List<String> log = new ArrayList<>();
      Pretrainer.Result r = new HeadFitter(HeadFitter.Config.defaults(5), log::add).fit(encoder, data, "enc+head",
          Device.cpu());
      try (BaseModel fitted = r.model()) {
        assertThat(fitted.id()).isEqualTo("enc+head");
        for (String name : encoder.parameterNames()) {
          if (!name.startsWith("head.")) {
            assertThat(fitted.parameter(name)).as(name).containsExactly(encoder.parameter(name));
          }
        }
        assertThat(fitted.parameter("head.weight")).isNotEqualTo(encoder.parameter("head.weight"));
        assertThat(r.trainExamples()).isEqualTo(360);
        assertThat(r.holdoutExamples()).isEqualTo(40);
        assertThat(r.trainAccuracy()).as("train accuracy (random head: %.3f)", before).isGreaterThan(0.8);
        assertThat(r.holdoutAccuracy()).isGreaterThan(0.75);
        // the fit ran on standardized features; the saved head must give the same answers on raw ones
        double all = Pretrainer.accuracy(MergedModel.ofBase(fitted), data);
        double expected = (r.trainAccuracy() * 360 + r.holdoutAccuracy() * 40) / 400;
        assertThat(all).isCloseTo(expected, org.assertj.core.data.Offset.offset(1.5 / 400));
      }
      assertThat(log).anyMatch(l -> l.startsWith("frozen encoder over 400/400 examples"))
          .anyMatch(l -> l.startsWith("head fitted on 360 pooled outputs"));
    }
  }

  @Test
  void refusesModelsWithoutAnEncoderAndExamplesThatDoNotFit() {
    try (BaseModel mlp = BaseModel.create(ModelSpec.mlp(4, List.of(3), 2, 1), Device.cpu())) {
      assertThatThrownBy(() -> new HeadFitter(HeadFitter.Config.defaults(1), l -> { })
          .fit(mlp, List.of(new Example("a", new float[4], 0, 0), new Example("b", new float[4], 1, 0)), "x",
              Device.cpu())).hasMessageContaining("not on a mlp");
    }
    ModelSpec spec = ModelSpec.bert(50, 8, 8, 2, 1, 16, 2, ModelSpec.POOL_MEAN, 3);
    try (BaseModel encoder = BaseModel.create(spec, Device.cpu())) {
      List<Example> bad = List.of(new Example("a", new float[8], 0, 0), new Example("b", new float[8], 2, 0));
      assertThatThrownBy(() -> new HeadFitter(HeadFitter.Config.defaults(1), l -> { }).fit(encoder, bad, "x",
          Device.cpu())).hasMessageContaining("example b does not fit");
    }
  }
}
