package io.lorastream.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.lora.data.Example;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class OnlineLinearTest {

  /** Rows of 8 token ids from [1, 50); label 1 iff token 3 occurs, with PAD after a random length. */
  private static List<Example> tokenRows(Random rnd, int n) {
    List<Example> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      float[] row = new float[8];
      int len = 2 + rnd.nextInt(7);
      int label = rnd.nextInt(2);
      for (int j = 0; j < len; j++) {
        int id;
        do {
          id = 1 + rnd.nextInt(49);
        } while (id == 3);
        row[j] = id;
      }
      if (label == 1) {
        row[rnd.nextInt(len)] = 3;
      }
      out.add(new Example("e" + i, row, label, 0));
    }
    return out;
  }

  private static double prequential(OnlineLinear m, List<Example> data) {
    int ok = 0;
    for (Example e : data) {
      ok += m.predict(e.features(), 0, 8) == e.label() ? 1 : 0;
      m.learn(e.features(), 0, 8, e.label());
    }
    return (double) ok / data.size();
  }

  @Test
  void bothRulesLearnATokenThatDecidesTheLabel() {
    List<Example> data = tokenRows(new Random(1), 2000);
    for (OnlineLinear.Rule rule : OnlineLinear.Rule.values()) {
      OnlineLinear m = new OnlineLinear(rule, true, 50, 2, 0.3);
      double acc = prequential(m, data);
      assertThat(acc).as(rule.toString()).isGreaterThan(0.9);
      assertThat(m.parameters()).isEqualTo(2 * 51);
    }
  }

  @Test
  void aRepeatedTokenCountsOnceAndPadIsIgnored() {
    OnlineLinear m = new OnlineLinear(OnlineLinear.Rule.PERCEPTRON, true, 10, 2, 1);
    m.learn(new float[] {4, 4, 4, 0, 0}, 0, 5, 1); // mistake (ties go to class 0): w1 += x, w0 -= x
    // x = {4: 1} plus bias: scores of a row holding only PAD are then bias-only: class 1 (+1) over class 0 (-1)
    assertThat(m.predict(new float[] {0, 0, 0, 0, 0}, 0, 5)).isEqualTo(1);
    OnlineLinear once = new OnlineLinear(OnlineLinear.Rule.LOGISTIC_ADAGRAD, true, 10, 2, 0.5);
    OnlineLinear thrice = new OnlineLinear(OnlineLinear.Rule.LOGISTIC_ADAGRAD, true, 10, 2, 0.5);
    once.learn(new float[] {4, 0, 0}, 0, 3, 1);
    thrice.learn(new float[] {4, 4, 4}, 0, 3, 1);
    float[] probe = {4, 7, 0};
    assertThat(once.predict(probe, 0, 3)).isEqualTo(thrice.predict(probe, 0, 3));
  }

  @Test
  void denseRowsAreReadAsFeatures() {
    Random rnd = new Random(2);
    List<Example> data = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      float[] x = {(float) rnd.nextGaussian(), (float) rnd.nextGaussian(), (float) rnd.nextGaussian()};
      data.add(new Example("d" + i, x, x[0] - 2 * x[2] > 0.5 ? 1 : 0, 0));
    }
    OnlineLinear m = new OnlineLinear(OnlineLinear.Rule.LOGISTIC_ADAGRAD, false, 3, 2, 0.3);
    int ok = 0;
    for (Example e : data) {
      ok += m.predict(e.features(), 0, 3) == e.label() ? 1 : 0;
      m.learn(e.features(), 0, 3, e.label());
    }
    assertThat((double) ok / data.size()).isGreaterThan(0.9);
  }

  @Test
  void theRateIsChosenOnThePretrainingPeriodFromTheGrid() {
    List<Example> pretrain = tokenRows(new Random(4), 600);
    OnlineLinear.Tuned t = OnlineLinear.tuned(OnlineLinear.Rule.LOGISTIC_ADAGRAD, pretrain, true, 50, 2, 1);
    assertThat(OnlineLinear.RATE_GRID).contains(t.lr());
    assertThat(t.how()).startsWith("rate " + t.lr() + " of {0.01: ").contains("last 30 % of the pretraining period");
    assertThat(prequential(t.model(), tokenRows(new Random(5), 300))).as("warm from the pretraining period")
        .isGreaterThan(0.9);
    OnlineLinear.Tuned p = OnlineLinear.tuned(OnlineLinear.Rule.PERCEPTRON, pretrain, true, 50, 2, 1);
    assertThat(p.how()).isEqualTo("no rate");
  }
}
