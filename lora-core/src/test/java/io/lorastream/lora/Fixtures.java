package io.lorastream.lora;

import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.ModelSpec;
import java.util.Random;

/** Small deterministic data for lora-core tests. */
public final class Fixtures {
  private Fixtures() {}

  public static float[] gaussianFloats(Random rnd, int n, double std) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (rnd.nextGaussian() * std);
    }
    return v;
  }

  public static double[] gaussian(Random rnd, int n, double std) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rnd.nextGaussian() * std;
    }
    return v;
  }

  public static int[] labels(Random rnd, int n, int classes) {
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = rnd.nextInt(classes);
    }
    return y;
  }

  /** Gives every adapter a random non-zero B so that A's gradient and the adapter's output are non-trivial. */
  public static void randomizeB(LoraModel m, Random rnd, double std) {
    for (LayerInfo l : m.targets()) {
      int r = m.ranks().get(l.name());
      m.setAdapter(l.name(), r, m.a(l.name()), gaussian(rnd, l.out() * r, std));
    }
  }

  public static double maxAbsDiff(double[] a, double[] b) {
    if (a.length != b.length) {
      throw new AssertionError("length " + a.length + " != " + b.length);
    }
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  /** Tiny transformer for fast tests: V=50, seqLen=8, d=8, 2 heads, 2 layers, ffn 16, 3 classes. */
  public static ModelSpec tinyTransformer(long seed) {
    return ModelSpec.transformer(50, 8, 8, 2, 2, 16, 3, seed);
  }

  /** Tiny BERT-family encoder: V=50, seqLen=8, d=8, 2 heads, 2 layers, ffn 16, 3 classes. */
  public static ModelSpec tinyBert(String pooling, long seed) {
    return ModelSpec.bert(50, 8, 8, 2, 2, 16, 3, pooling, seed);
  }

  /** Tiny embedding bag: V=50, seqLen=8, d=8, hidden [12], 3 classes. */
  public static ModelSpec tinyEmbeddingBag(long seed) {
    return ModelSpec.embeddingBag(50, 8, 8, java.util.List.of(12), 3, seed);
  }

  /**
   * n token rows (row-major n x seqLen): each row has a random length in [1, seqLen] of ids in
   * [1, vocab) followed by PAD, so most rows are padded; row {@code n-1} is entirely PAD when
   * {@code lastEmpty}.
   */
  public static float[] tokenRows(Random rnd, int n, int seqLen, int vocab, boolean lastEmpty) {
    float[] x = new float[n * seqLen];
    for (int i = 0; i < n; i++) {
      if (lastEmpty && i == n - 1) {
        break;
      }
      int len = 1 + rnd.nextInt(seqLen);
      for (int p = 0; p < len; p++) {
        x[i * seqLen + p] = 1 + rnd.nextInt(vocab - 1);
      }
    }
    return x;
  }

  public static float[] row(float[] rows, int i, int width) {
    return java.util.Arrays.copyOfRange(rows, i * width, (i + 1) * width);
  }

  public static int argMax(double[] logits, int row, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++) {
      if (logits[row * classes + c] > logits[row * classes + best]) {
        best = c;
      }
    }
    return best;
  }

  /**
   * Central-difference gradient check that is honest about ReLU kinks. The FFN's ReLU makes the
   * loss piecewise smooth; when a pre-activation lies within the difference step of zero, the
   * quotient straddles the kink and measures neither one-sided slope, however right autograd is.
   * Each entry is therefore differenced at h and h/10: if the two estimates disagree (beyond
   * float64 noise) a kink lies within reach and the entry is counted in {@link #kinks} instead of
   * compared; otherwise the h estimate is compared with autograd. A wrong gradient still fails:
   * the two estimates then agree with each other and not with autograd.
   */
  public static final class GradCheck {
    static final double H = 1e-5;
    public double worst;
    public int checked;
    public int kinks;

    public void check(java.util.function.DoubleUnaryOperator lossAt, double x0, double auto) {
      double fd = (lossAt.applyAsDouble(x0 + H) - lossAt.applyAsDouble(x0 - H)) / (2 * H);
      double h2 = H / 10;
      double fd2 = (lossAt.applyAsDouble(x0 + h2) - lossAt.applyAsDouble(x0 - h2)) / (2 * h2);
      lossAt.applyAsDouble(x0); // leave the parameter as it was
      if (rel(fd, fd2) > 1e-5) {
        kinks++;
        return;
      }
      worst = Math.max(worst, rel(fd, auto));
      checked++;
    }

    static double rel(double a, double b) {
      return Math.abs(a - b) / Math.max(1e-3, Math.abs(a) + Math.abs(b));
    }
  }

  public static boolean allFinite(double[] v) {
    for (double x : v) {
      if (!Double.isFinite(x)) {
        return false;
      }
    }
    return true;
  }
}
