package io.lorastream.lora;

import java.util.Random;

/** Small deterministic data for lora-core tests. */
final class Fixtures {
  private Fixtures() {}

  static float[] gaussianFloats(Random rnd, int n, double std) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (rnd.nextGaussian() * std);
    }
    return v;
  }

  static double[] gaussian(Random rnd, int n, double std) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rnd.nextGaussian() * std;
    }
    return v;
  }

  static int[] labels(Random rnd, int n, int classes) {
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = rnd.nextInt(classes);
    }
    return y;
  }

  /** Gives every adapter a random non-zero B so that A's gradient and the adapter's output are non-trivial. */
  static void randomizeB(LoraModel m, Random rnd, double std) {
    for (LayerInfo l : m.targets()) {
      int r = m.ranks().get(l.name());
      m.setAdapter(l.name(), r, m.a(l.name()), gaussian(rnd, l.out() * r, std));
    }
  }

  static double maxAbsDiff(double[] a, double[] b) {
    if (a.length != b.length) {
      throw new AssertionError("length " + a.length + " != " + b.length);
    }
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  static boolean allFinite(double[] v) {
    for (double x : v) {
      if (!Double.isFinite(x)) {
        return false;
      }
    }
    return true;
  }
}
