package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.model.TensorSpec;
import io.lorastream.lora.model.TokenRows;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The L2 penalty leaves the token-embedding table and its adapter alone: a token that a step does
 * not contain keeps its row exactly, while the dense layers are still penalized. Under AdamW a
 * coupled L2 gradient on such a row, however small, becomes a step of about one learning rate, so
 * rows learned for rare tokens used to shrink away while other tokens streamed past. The steps run
 * with beta1 = 0, so that a row's update is zero exactly when its gradient is.
 */
class SparseRowPenaltyTest {

  private static final int VOCAB = 60;
  private static final int SEQ = 6;
  private static final ModelSpec SPEC = ModelSpec.embeddingBag(VOCAB, SEQ, 8, List.of(8), 2, 5);
  private static final LearnerConfig TRAIN = LearnerConfig.defaults().withBetas(0.0, 0.999).withMicroBatchSize(8)
      .withL2Lambda(0.01).withSchedule(RankSchedule.fixed(2));

  /** Rows of tokens from [lo, hi), label = parity of the first token. */
  private static float[] rows(Random rnd, int n, int lo, int hi, int[] labels) {
    float[] out = new float[n * SEQ];
    for (int i = 0; i < n; i++) {
      int[] t = new int[SEQ];
      for (int p = 0; p < SEQ; p++) {
        t[p] = lo + rnd.nextInt(hi - lo);
      }
      labels[i] = t[0] % 2;
      TokenRows.fill(t, out, i * SEQ, SEQ);
    }
    return out;
  }

  /** Trains 30 micro-batches on tokens [lo, hi). */
  private static void train(Learner learner, Random rnd, int lo, int hi) {
    int[] y = new int[8];
    for (int s = 0; s < 30; s++) {
      learner.trainMicroBatch(rows(rnd, 8, lo, hi, y), y, null);
    }
  }

  /** Token t's column of A (r x vocab): the adapter's per-token factor. */
  private static double[] tokenColumn(OnlineLearner learner, int t) {
    double[] a = learner.model().a(ModelSpec.EMBEDDING_LAYER);
    int r = a.length / VOCAB;
    double[] col = new double[r];
    for (int k = 0; k < r; k++) {
      col[k] = a[k * VOCAB + t];
    }
    return col;
  }

  @Test
  void adapterRowsOfAbsentTokensKeepTheirValuesWhileDenseLayersArePenalized() {
    AdapterConfig adapter = AdapterConfig.defaults().withTargets(List.of(ModelSpec.EMBEDDING_LAYER, "fc0", "head"));
    try (BaseModel base = BaseModel.create(SPEC, Device.cpu());
        OnlineLearner withL2 = OnlineLearner.create(base, adapter, TRAIN);
        OnlineLearner without = OnlineLearner.create(base, adapter, TRAIN.withL2Lambda(0))) {
      train(withL2, new Random(1), 1, 20);
      train(without, new Random(1), 1, 20);
      double[][] learned = new double[20][];
      double[][] unseen = new double[VOCAB][];
      for (int t = 1; t < 20; t++) {
        learned[t] = tokenColumn(withL2, t);
      }
      for (int t = 40; t < VOCAB; t++) {
        unseen[t] = tokenColumn(withL2, t);
        assertThat(unseen[t]).as("token %d, never seen: its initial A column, as without L2", t)
            .containsExactly(tokenColumn(without, t));
      }
      assertThat(learned[3]).as("token 3 was trained").isNotEqualTo(tokenColumn(without, 3));

      train(withL2, new Random(2), 20, 40); // tokens 1..19 and 40..59 absent from every step now
      for (int t = 1; t < 20; t++) {
        assertThat(tokenColumn(withL2, t)).as("token %d, absent from the second phase", t).containsExactly(learned[t]);
      }
      for (int t = 40; t < VOCAB; t++) {
        assertThat(tokenColumn(withL2, t)).as("token %d, never seen", t).containsExactly(unseen[t]);
      }
      assertThat(withL2.model().a("fc0")).as("the dense layers are still penalized")
          .isNotEqualTo(without.model().a("fc0"));
    }
  }

  @Test
  void fullFineTuningKeepsTableRowsOfAbsentTokensButPenalizesTheRest() {
    try (BaseModel base = BaseModel.create(SPEC, Device.cpu());
        FullFineTuner withL2 = FullFineTuner.create(base, TRAIN);
        FullFineTuner without = FullFineTuner.create(base, TRAIN.withL2Lambda(0))) {
      train(withL2, new Random(1), 1, 20);
      train(without, new Random(1), 1, 20);
      int table = indexOf(base, TensorSpec::tokenTable, "token table");
      float[] afterFirst = tensor(withL2, table);
      train(withL2, new Random(2), 20, 40);
      train(without, new Random(2), 20, 40);
      float[] afterSecond = tensor(withL2, table);
      int d = SPEC.dModel();
      for (int t = 1; t < 20; t++) {
        assertThat(Arrays.copyOfRange(afterSecond, t * d, (t + 1) * d)).as("table row %d, absent from phase 2", t)
            .containsExactly(Arrays.copyOfRange(afterFirst, t * d, (t + 1) * d));
      }
      assertThat(Arrays.copyOfRange(afterFirst, 3 * d, 4 * d)).as("row 3 was trained")
          .isNotEqualTo(Arrays.copyOfRange(base.hostTensor(table), 3 * d, 4 * d));
      int fc0 = indexOf(base, t -> t.name().equals("fc0.weight"), "fc0.weight");
      assertThat(tensor(withL2, fc0)).as("fc0 is still drawn towards the pretrained weights")
          .isNotEqualTo(tensor(without, fc0));
    }
  }

  private static int indexOf(BaseModel base, Predicate<TensorSpec> which, String what) {
    for (int i = 0; i < base.tensors().size(); i++) {
      if (which.test(base.tensors().get(i))) {
        return i;
      }
    }
    throw new AssertionError("no " + what);
  }

  private static float[] tensor(FullFineTuner tuner, int i) {
    try (BaseModel b = tuner.toBaseModel()) {
      return b.hostTensor(i);
    }
  }
}
