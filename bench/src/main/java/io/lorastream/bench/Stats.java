package io.lorastream.bench;

import java.util.Arrays;
import java.util.Collection;

/**
 * Order statistics of measured samples. Percentiles use the nearest-rank definition (the smallest
 * sample such that at least q of all samples are at or below it), so every reported percentile is
 * a value that was actually measured, never an interpolation between two runs.
 */
public final class Stats {
  private Stats() {
  }

  /** Nearest-rank percentile, q in (0, 1]; NaN for no samples. The input is not modified. */
  public static double percentile(double[] samples, double q) {
    if (!(q > 0 && q <= 1)) {
      throw new IllegalArgumentException("percentile q must be in (0, 1], got " + q);
    }
    if (samples.length == 0) {
      return Double.NaN;
    }
    double[] s = samples.clone();
    Arrays.sort(s);
    int rank = (int) Math.ceil(q * s.length); // 1-based
    return s[Math.max(1, Math.min(s.length, rank)) - 1];
  }

  /** As {@link #percentile(double[], double)} for boxed samples. */
  public static double percentile(Collection<? extends Number> samples, double q) {
    return percentile(toArray(samples), q);
  }

  public static double median(double[] samples) {
    return percentile(samples, 0.5);
  }

  public static double min(double[] samples) {
    return samples.length == 0 ? Double.NaN : Arrays.stream(samples).min().getAsDouble();
  }

  public static double max(double[] samples) {
    return samples.length == 0 ? Double.NaN : Arrays.stream(samples).max().getAsDouble();
  }

  public static double mean(double[] samples) {
    return samples.length == 0 ? Double.NaN : Arrays.stream(samples).average().getAsDouble();
  }

  public static double[] toArray(Collection<? extends Number> samples) {
    return samples.stream().mapToDouble(Number::doubleValue).toArray();
  }

  /** {@code measured / reference}, NaN when either is not a positive finite number. */
  public static double ratio(double measured, double reference) {
    if (!(reference > 0) || !Double.isFinite(reference) || !Double.isFinite(measured)) {
      return Double.NaN;
    }
    return measured / reference;
  }
}
