package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lorastream.lora.Fixtures;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * The shared clip + AdamW step on bare tensors, apart from any learner: it follows the textbook
 * (unfused) AdamW computed on the host; a step whose gradient is not finite changes nothing, not
 * even the bias-correction count; and {@link AdamW#restart()} makes the next step a first step
 * again. Float64 tensors, so the only deviation from the host is the engine taking its scalars as
 * float32.
 */
class AdamWTest {

  private static final Shape[] SHAPES = {new Shape(3, 4), new Shape(5), new Shape(2, 2)};

  private static LearnerConfig config() {
    return LearnerConfig.defaults().withLr(0.02).withWeightDecay(0.1).withClipNorm(0.8).withBetas(0.8, 0.95)
        .withEps(1e-6);
  }

  @Test
  void everyStepMatchesTheHostAdamWReferenceWithClipping() {
    LearnerConfig tc = config();
    Random rnd = new Random(3);
    AdamW adam = new AdamW(tc);
    try (NDManager mgr = NDManager.newBaseManager(Device.cpu())) {
      NDArray[] p = random(mgr, rnd, 1.0);
      NDArray[] m = zeros(mgr);
      NDArray[] v = zeros(mgr);
      double[][] hm = new double[SHAPES.length][];
      double[][] hv = new double[SHAPES.length][];
      for (int i = 0; i < SHAPES.length; i++) {
        hm[i] = new double[(int) SHAPES[i].size()];
        hv[i] = new double[(int) SHAPES[i].size()];
      }
      boolean clipped = false;
      boolean unclipped = false;
      for (int t = 1; t <= 5; t++) {
        // Small gradients on odd steps, large on even ones: both sides of the clip threshold.
        NDArray[] g = random(mgr, rnd, t % 2 == 0 ? 2.0 : 0.05);
        double[][] hp = host(p);
        double[][] hg = host(g);
        double sq = 0;
        for (double[] gi : hg) {
          for (double x : gi) {
            sq += x * x;
          }
        }
        double norm = Math.sqrt(sq);
        double c = norm > tc.clipNorm() ? tc.clipNorm() / norm : 1.0;
        clipped |= c < 1;
        unclipped |= c == 1;
        double bc1 = 1 - Math.pow(tc.beta1(), t);
        double bc2 = 1 - Math.pow(tc.beta2(), t);
        for (int i = 0; i < hp.length; i++) {
          for (int j = 0; j < hp[i].length; j++) {
            hm[i][j] = tc.beta1() * hm[i][j] + (1 - tc.beta1()) * c * hg[i][j];
            hv[i][j] = tc.beta2() * hv[i][j] + (1 - tc.beta2()) * c * c * hg[i][j] * hg[i][j];
            hp[i][j] -= tc.lr() * tc.weightDecay() * hp[i][j];
            hp[i][j] -= tc.lr() * (hm[i][j] / bc1) / (Math.sqrt(hv[i][j] / bc2) + tc.eps());
          }
        }

        double got = adam.step(p, g, m, v);

        assertThat(got).isCloseTo(norm, Offset.offset(1e-12 * norm));
        double[][] dp = host(p);
        for (int i = 0; i < hp.length; i++) {
          // float32 scalars inside the fused op: ~1e-7 per lr-sized step; a wrong term is ~lr.
          assertThat(Fixtures.maxAbsDiff(dp[i], hp[i])).as("step %d tensor %d", t, i).isLessThan(1e-6);
        }
      }
      assertThat(clipped).as("the settings must exercise clipping").isTrue();
      assertThat(unclipped).as("and steps below the threshold").isTrue();
    }
  }

  @Test
  void aNonFiniteGradientChangesNothingAndDoesNotCountAsAStep() {
    LearnerConfig tc = config();
    Random rnd = new Random(4);
    try (NDManager mgr = NDManager.newBaseManager(Device.cpu())) {
      NDArray[] p = random(mgr, rnd, 1.0);
      NDArray[] m = zeros(mgr);
      NDArray[] v = zeros(mgr);
      NDArray[] twin = copy(p);
      NDArray[] twinM = zeros(mgr);
      NDArray[] twinV = zeros(mgr);
      AdamW adam = new AdamW(tc);
      AdamW fresh = new AdamW(tc);
      NDArray[] bad = random(mgr, rnd, 1.0);
      double[] withInf = bad[1].toDoubleArray();
      withInf[2] = Double.POSITIVE_INFINITY;
      bad[1] = mgr.create(withInf, SHAPES[1]);
      double[][] before = host(p);

      double norm = adam.step(p, bad, m, v);

      assertThat(Double.isFinite(norm)).isFalse();
      double[][] after = host(p);
      for (int i = 0; i < p.length; i++) {
        assertThat(after[i]).containsExactly(before[i]);
        assertThat(m[i].toDoubleArray()).containsOnly(0.0);
        assertThat(v[i].toDoubleArray()).containsOnly(0.0);
      }
      // The next good step must be a first step (t = 1): the same as a fresh optimizer's.
      NDArray[] g = random(mgr, rnd, 1.0);
      adam.step(p, g, m, v);
      fresh.step(twin, copy(g), twinM, twinV);
      double[][] a = host(p);
      double[][] b = host(twin);
      for (int i = 0; i < p.length; i++) {
        assertThat(a[i]).containsExactly(b[i]);
      }
    }
  }

  @Test
  void restartMakesTheNextStepAFirstStepAgain() {
    LearnerConfig tc = config();
    Random rnd = new Random(5);
    try (NDManager mgr = NDManager.newBaseManager(Device.cpu())) {
      AdamW restarted = new AdamW(tc);
      AdamW continued = new AdamW(tc);
      for (int t = 0; t < 3; t++) {
        NDArray[] g = random(mgr, rnd, 1.0);
        restarted.step(random(mgr, rnd, 1.0), g, zeros(mgr), zeros(mgr));
        continued.step(random(mgr, rnd, 1.0), copy(g), zeros(mgr), zeros(mgr));
      }
      NDArray[] p = random(mgr, rnd, 1.0);
      NDArray[] g = random(mgr, rnd, 1.0);
      NDArray[] pRestarted = copy(p);
      NDArray[] pContinued = copy(p);
      NDArray[] pFresh = copy(p);

      restarted.restart();
      // A restore zeroes the moments, then restarts: the step must be a fresh optimizer's first.
      restarted.step(pRestarted, copy(g), zeros(mgr), zeros(mgr));
      continued.step(pContinued, copy(g), zeros(mgr), zeros(mgr));
      new AdamW(tc).step(pFresh, copy(g), zeros(mgr), zeros(mgr));

      double[][] fresh = host(pFresh);
      for (int i = 0; i < p.length; i++) {
        assertThat(host(pRestarted)[i]).containsExactly(fresh[i]);
      }
      // Bias correction still at t = 4 gives a visibly different step (so the check above can fail).
      assertThat(Fixtures.maxAbsDiff(host(pContinued)[0], fresh[0])).isGreaterThan(1e-4);
    }
  }

  private static NDArray[] random(NDManager mgr, Random rnd, double std) {
    NDArray[] a = new NDArray[SHAPES.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = mgr.create(Fixtures.gaussian(rnd, (int) SHAPES[i].size(), std), SHAPES[i]);
    }
    return a;
  }

  private static NDArray[] zeros(NDManager mgr) {
    NDArray[] a = new NDArray[SHAPES.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = mgr.zeros(SHAPES[i], DataType.FLOAT64);
    }
    return a;
  }

  private static NDArray[] copy(NDArray[] src) {
    NDArray[] a = new NDArray[src.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = src[i].duplicate();
    }
    return a;
  }

  private static double[][] host(NDArray[] a) {
    double[][] h = new double[a.length][];
    for (int i = 0; i < a.length; i++) {
      h[i] = a[i].toDoubleArray();
    }
    return h;
  }
}
