package io.lorastream.experiment;

import java.util.Arrays;
import java.util.Random;

/**
 * Paired statistics for two variants scored on the same examples in the same order, from their
 * outcome strings ({@link PrequentialScore#outcomes()}): McNemar's test on the discordant examples,
 * and a block-bootstrap interval for the difference in accuracy. Blocks are consecutive windows of
 * examples, resampled with replacement, so the interval respects that neighbouring examples of a
 * drifting stream are not independent (an example-level bootstrap would be too narrow).
 */
final class PairedStats {

  private PairedStats() {
  }

  /**
   * McNemar's test.
   *
   * @param onlyA examples A got right and B wrong
   * @param onlyB examples B got right and A wrong
   * @param pValue two-sided: exact binomial for fewer than 50 discordant examples, else the
   *     continuity-corrected chi-square with one degree of freedom
   */
  record McNemar(int onlyA, int onlyB, double pValue) {}

  /** Mean difference in accuracy (A minus B) with its 95 % percentile interval. */
  record Interval(double difference, double low, double high, int blocks) {}

  static McNemar mcNemar(String a, String b) {
    requirePaired(a, b);
    int onlyA = 0;
    int onlyB = 0;
    for (int i = 0; i < a.length(); i++) {
      char x = a.charAt(i);
      char y = b.charAt(i);
      if (x == '1' && y == '0') {
        onlyA++;
      } else if (x == '0' && y == '1') {
        onlyB++;
      }
    }
    int n = onlyA + onlyB;
    double p;
    if (n == 0) {
      p = 1.0;
    } else if (n < 50) {
      p = Math.min(1.0, 2 * binomialTail(Math.min(onlyA, onlyB), n));
    } else {
      double chi = Math.pow(Math.abs(onlyA - onlyB) - 1.0, 2) / n;
      p = erfc(Math.sqrt(chi / 2));
    }
    return new McNemar(onlyA, onlyB, p);
  }

  /** P(X <= k) for X ~ Binomial(n, 1/2). */
  private static double binomialTail(int k, int n) {
    double logHalfN = n * Math.log(0.5);
    double sum = 0;
    double logC = 0; // log C(n, 0)
    for (int i = 0; i <= k; i++) {
      if (i > 0) {
        logC += Math.log(n - i + 1) - Math.log(i);
      }
      sum += Math.exp(logC + logHalfN);
    }
    return sum;
  }

  /**
   * erfc(x) for x >= 0 by the Chebyshev fit of Numerical Recipes (fractional error below 1.2e-7),
   * enough for a p-value.
   */
  static double erfc(double x) {
    double z = Math.abs(x);
    double t = 1 / (1 + 0.5 * z);
    double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
        + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
        + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? r : 2 - r;
  }

  /**
   * Accuracy of A minus B with a 95 % interval from {@code resamples} block-bootstrap draws over
   * blocks of {@code block} consecutive examples (a trailing partial block is its own block).
   */
  static Interval blockBootstrap(String a, String b, int block, int resamples, long seed) {
    requirePaired(a, b);
    if (block < 1 || resamples < 100) {
      throw new IllegalArgumentException("block >= 1 and resamples >= 100 required");
    }
    int n = a.length();
    int blocks = (n + block - 1) / block;
    long[] diff = new long[blocks]; // per block: correct(A) - correct(B)
    int[] size = new int[blocks];
    for (int i = 0; i < n; i++) {
      diff[i / block] += (a.charAt(i) == '1' ? 1 : 0) - (b.charAt(i) == '1' ? 1 : 0);
      size[i / block]++;
    }
    double observed = n == 0 ? Double.NaN : (double) Arrays.stream(diff).sum() / n;
    Random rnd = new Random(seed);
    double[] draws = new double[resamples];
    for (int r = 0; r < resamples; r++) {
      long d = 0;
      long m = 0;
      for (int j = 0; j < blocks; j++) {
        int k = rnd.nextInt(blocks);
        d += diff[k];
        m += size[k];
      }
      draws[r] = (double) d / m;
    }
    Arrays.sort(draws);
    return new Interval(observed, draws[(int) Math.floor(0.025 * (resamples - 1))],
        draws[(int) Math.ceil(0.975 * (resamples - 1))], blocks);
  }

  private static void requirePaired(String a, String b) {
    if (a.length() != b.length() || a.isEmpty()) {
      throw new IllegalArgumentException("paired statistics need the same, non-empty sequence of examples; got "
          + a.length() + " and " + b.length() + " outcomes");
    }
  }
}
