package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class FullFineTunerTest {

  static List<ModelSpec> kinds() {
    return List.of(Fixtures.tinyTransformer(21), Fixtures.tinyEmbeddingBag(22), ModelSpec.mlp(5, List.of(7), 3, 23));
  }

  /** Every row's last position is PAD, so pos_emb row 7 (and PAD's embedding) must get exactly zero gradient. */
  private static float[] rowsWithLastPad(Random rnd, int n) {
    float[] x = Fixtures.tokenRows(rnd, n, 8, 50, true);
    for (int i = 0; i < n; i++) {
      x[i * 8 + 7] = 0;
    }
    return x;
  }

  @ParameterizedTest
  @MethodSource("kinds")
  void baseGradientsMatchCentralDifferencesInFloat64(ModelSpec spec) {
    Random rnd = new Random(3);
    int n = 6;
    float[] x = spec.tokenInput() ? rowsWithLastPad(rnd, n) : Fixtures.gaussianFloats(rnd, n * spec.inputSize(), 1.0);
    int[] y = Fixtures.labels(rnd, n, 3);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        FullFineTuner ft = FullFineTuner.create(base, LearnerConfig.defaults(), DataType.FLOAT64)) {
      moveToGenericPoint(ft, base, rnd);
      FullFineTuner.LossAndGradients g = ft.lossAndGradients(x, y, null);
      assertThat(g.grads().keySet()).containsExactlyElementsOf(base.parameterNames());
      Fixtures.GradCheck check = new Fixtures.GradCheck();
      for (String name : base.parameterNames()) {
        double[] p = ft.parameter(name);
        double[] auto = g.grads().get(name);
        assertThat(auto).as(name).hasSize(p.length);
        // Embedding tables: the rows of tokens present in the batch; everything else: a sample.
        int[] idx = name.endsWith("emb") && spec.tokenInput() ? presentEntries(x, name, spec) : sample(rnd, p.length, 12);
        for (int i : idx) {
          int at = i;
          double orig = p[i];
          check.check(value -> {
            p[at] = value;
            ft.setParameter(name, p);
            return ft.loss(x, y, null);
          }, orig, auto[i]);
          p[i] = orig;
        }
        if (!name.endsWith(".bias") || name.startsWith("head")) {
          assertThat(Arrays.stream(auto).map(Math::abs).max().orElse(0)).as(name + " gradient is not trivially zero").isGreaterThan(1e-5);
        }
      }
      assertThat(check.worst).as("worst relative error over %d entries", check.checked).isLessThan(1e-6);
      System.out.printf("gradient check %s: %d entries, worst relative error %.2g, %d next to a ReLU kink%n",
          spec.kind(), check.checked, check.worst, check.kinks);
      assertThat(check.kinks).as("entries next to a ReLU kink (skipped)").isLessThanOrEqualTo(check.checked / 20);
      if (spec.tokenInput()) {
        String emb = spec.kind().equals(ModelSpec.TRANSFORMER) ? "tok_emb" : "emb";
        double[] gEmb = g.grads().get(emb);
        for (int j = 0; j < spec.dModel(); j++) {
          assertThat(gEmb[j]).as("PAD embedding gradient").isZero();
        }
        if (spec.kind().equals(ModelSpec.TRANSFORMER)) {
          double[] gPos = g.grads().get("pos_emb");
          for (int j = 0; j < spec.dModel(); j++) {
            assertThat(gPos[7 * spec.dModel() + j]).as("gradient of a position that is PAD in every row").isZero();
          }
        }
      }
    }
  }

  /**
   * LayerNorm starts at gamma 1 / beta 0, biases at 0 and transformer embeddings at N(0, 0.02^2);
   * perturb them so gradients are checked at a generic point: with 0.02 embeddings attention is
   * almost uniform and the Q/K gradients nearly vanish, and with zero biases an all-PAD row of the
   * embedding bag sits exactly on fc0's ReLU kink, where no finite difference can agree with any
   * subgradient.
   */
  private static void moveToGenericPoint(FullFineTuner ft, BaseModel base, Random rnd) {
    for (String name : base.parameterNames()) {
      if (name.contains(".ln") || name.endsWith(".bias") || name.endsWith("emb")) {
        double[] p = ft.parameter(name);
        for (int i = 0; i < p.length; i++) {
          p[i] += 0.3 * rnd.nextGaussian();
        }
        ft.setParameter(name, p);
      }
    }
  }

  private static int[] presentEntries(float[] x, String name, ModelSpec spec) {
    int d = spec.dModel();
    java.util.TreeSet<Integer> rows = new java.util.TreeSet<>();
    for (int i = 0; i < x.length; i++) {
      if (name.equals("pos_emb")) {
        if (x[i] != 0) {
          rows.add(i % spec.inputSize());
        }
      } else if (x[i] != 0) {
        rows.add((int) x[i]);
      }
    }
    return rows.stream().limit(4).flatMapToInt(r -> java.util.stream.IntStream.range(r * d, r * d + d)).toArray();
  }

  private static int[] sample(Random rnd, int size, int k) {
    return rnd.ints(0, size).distinct().limit(Math.min(k, size)).toArray();
  }

  /** class 1 iff token 7 appears; half of the rows get a 7 at a random position. */
  private static float[] token7Rows(Random rnd, int n, int[] labelsOut) {
    float[] x = new float[n * 8];
    for (int i = 0; i < n; i++) {
      int len = 2 + rnd.nextInt(7);
      boolean has = false;
      for (int p = 0; p < len; p++) {
        int t = 1 + rnd.nextInt(49);
        x[i * 8 + p] = t;
        has |= t == 7;
      }
      if (!has && rnd.nextBoolean()) {
        x[i * 8 + rnd.nextInt(len)] = 7;
        has = true;
      }
      labelsOut[i] = has ? 1 : 0;
    }
    return x;
  }

  @ParameterizedTest
  @MethodSource("textSpecs")
  void learnsWhetherToken7AppearsAndLeavesTheBaseUntouched(ModelSpec spec) {
    Random rnd = new Random(17);
    int[] evalY = new int[200];
    float[] evalX = token7Rows(rnd, 200, evalY);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        FullFineTuner ft = FullFineTuner.create(base, LearnerConfig.defaults().withLr(0.01).withL2Lambda(0))) {
      byte[] before = base.deviceParameterBytes();
      double loss0 = ft.loss(evalX, evalY, null);
      for (int step = 0; step < 150; step++) {
        int[] y = new int[16];
        float[] x = token7Rows(rnd, 16, y);
        StepResult r = ft.trainMicroBatch(x, y, null);
        assertThat(r.stepped()).isTrue();
      }
      double loss1 = ft.loss(evalX, evalY, null);
      MergedModel merged = ft.merged();
      int ok = 0;
      for (int i = 0; i < 200; i++) {
        ok += merged.predict(Fixtures.row(evalX, i, 8)) == evalY[i] ? 1 : 0;
      }
      System.out.printf("%s full FT on token-7 task: eval loss %.4f -> %.4f, accuracy %.3f%n", spec.kind(), loss0, loss1, ok / 200.0);
      assertThat(loss1).isLessThan(0.5 * loss0);
      assertThat(ok / 200.0).isGreaterThan(0.9);
      assertThat(ft.examplesSeen()).isEqualTo(150 * 16);
      assertThat(ft.optimizerStep()).isEqualTo(150);
      assertThat(base.deviceParameterBytes()).isEqualTo(before);
      assertThat(base.deviceFingerprint()).isEqualTo(base.fingerprint());
      try (BaseModel tuned = ft.toBaseModel()) {
        assertThat(tuned.fingerprint()).isNotEqualTo(base.fingerprint()).isEqualTo(merged.baseFingerprint());
        assertThat(tuned.spec()).isEqualTo(spec);
        double[] z = ft.logits(evalX, 200);
        assertThat(Fixtures.maxAbsDiff(z, LoraModel.toDouble(tuned.logits(evalX, 200)))).isLessThan(1e-6);
        for (int i = 0; i < 20; i++) {
          float[] zi = merged.logits(Fixtures.row(evalX, i, 8));
          for (int c = 0; c < spec.numClasses(); c++) {
            assertThat(Math.abs(zi[c] - z[i * spec.numClasses() + c])).isLessThan(1e-4);
          }
        }
      }
    }
  }

  static List<ModelSpec> textSpecs() {
    return List.of(ModelSpec.transformer(50, 8, 8, 2, 2, 16, 2, 31), ModelSpec.embeddingBag(50, 8, 8, List.of(12), 2, 32));
  }

  @ParameterizedTest
  @MethodSource("kinds")
  void predictionsArePreUpdateArgMaxAndAccumulationMatchesOneBigBatch(ModelSpec spec) {
    Random rnd = new Random(5);
    int n = 8;
    float[] x1 = spec.tokenInput() ? Fixtures.tokenRows(rnd, n, 8, 50, true) : Fixtures.gaussianFloats(rnd, n * 5, 1.0);
    float[] x2 = spec.tokenInput() ? Fixtures.tokenRows(rnd, n, 8, 50, false) : Fixtures.gaussianFloats(rnd, n * 5, 1.0);
    int[] y1 = Fixtures.labels(rnd, n, 3);
    int[] y2 = Fixtures.labels(rnd, n, 3);
    float[] both = new float[x1.length + x2.length];
    System.arraycopy(x1, 0, both, 0, x1.length);
    System.arraycopy(x2, 0, both, x1.length, x2.length);
    int[] yBoth = new int[2 * n];
    System.arraycopy(y1, 0, yBoth, 0, n);
    System.arraycopy(y2, 0, yBoth, n, n);
    LearnerConfig tc = LearnerConfig.defaults().withLr(0.05).withL2Lambda(0.01);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        FullFineTuner acc = FullFineTuner.create(base, tc.withAccumulationSteps(2), DataType.FLOAT64);
        FullFineTuner one = FullFineTuner.create(base, tc, DataType.FLOAT64)) {
      double[] before1 = acc.logits(x1, n);
      StepResult r1 = acc.trainMicroBatch(x1, y1, null);
      assertThat(r1.stepped()).isFalse();
      double[] before2 = acc.logits(x2, n);
      StepResult r2 = acc.trainMicroBatch(x2, y2, null);
      assertThat(r2.stepped()).isTrue();
      for (int i = 0; i < n; i++) {
        assertThat(r1.predictions()[i]).isEqualTo(Fixtures.argMax(before1, i, 3));
        assertThat(r2.predictions()[i]).isEqualTo(Fixtures.argMax(before2, i, 3));
      }
      StepResult rb = one.trainMicroBatch(both, yBoth, null);
      assertThat(rb.gradNorm()).isCloseTo(r2.gradNorm(), org.assertj.core.data.Offset.offset(1e-9));
      for (String name : base.parameterNames()) {
        assertThat(Fixtures.maxAbsDiff(acc.parameter(name), one.parameter(name))).as(name).isLessThan(1e-9);
      }
      assertThat(Fixtures.maxAbsDiff(acc.parameter(base.parameterNames().get(0)), LoraModel.toDouble(base.parameter(base.parameterNames().get(0)))))
          .as("the step moved the weights").isGreaterThan(1e-4);
    }
  }

  @Test
  void nonFiniteWeightsSkipTheMicroBatchWithoutPredictions() {
    try (BaseModel base = BaseModel.create(Fixtures.tinyTransformer(1), Device.cpu());
        FullFineTuner ft = FullFineTuner.create(base, LearnerConfig.defaults())) {
      float[] x = Fixtures.tokenRows(new Random(1), 2, 8, 50, false);
      StepResult r = ft.trainMicroBatch(x, new int[] {0, 1}, new float[] {1f, Float.POSITIVE_INFINITY});
      assertThat(r.skippedNonFinite()).isTrue();
      assertThat(r.predictions()).isNull();
      assertThat(ft.skippedBatches()).isEqualTo(1);
      assertThat(ft.examplesSeen()).isEqualTo(2);
      assertThat(ft.optimizerStep()).isZero();
      assertThat(ft.trainableParameters()).isEqualTo(base.parameterCount());
      assertThat(ft.metrics()).isEqualTo(Map.of("skipped_batches", 1.0, "skipped_examples", 2.0));
    }
  }
}
