package io.lorastream.lora.data;

import java.util.NoSuchElementException;
import java.util.Random;

/**
 * The rotating-hyperplane drift generator as MOA's {@code HyperplaneGenerator} and River's
 * {@code synth.Hyperplane} define it, so results on it can be set beside those libraries' learners.
 * Each example has {@code d} features drawn uniformly from [0, 1); its class is 1 when
 * {@code sum_i w_i x_i >= 0.5 * sum_i w_i} and 0 otherwise, so the hyperplane always cuts the unit
 * cube through its centre. Weights start uniform in [0, 1). After every example each of the first
 * {@code driftFeatures} weights moves by {@code magnitude * s_i}, and its direction {@code s_i} (+1
 * at first) flips with probability {@code sigma}; a share {@code noise} of labels is flipped. With
 * {@code magnitude = 0} (MOA's default) the concept never moves.
 *
 * <p>Deterministic for a seed: one {@link Random} draws weights, then per example the features, the
 * noise decision and the direction flips, in that order. Phases are 0 for every example (the drift
 * is continuous, not phased).
 */
public final class RotatingHyperplaneStream implements ExampleSource {

  /**
   * @param features d, the number of features (MOA numAtts, River n_features)
   * @param driftFeatures how many of the first weights drift (MOA numDriftAtts, River n_drift_features)
   * @param magnitude weight change per example (MOA magChange, River mag_change)
   * @param noise share of labels flipped (MOA noisePercentage / 100, River noise_percentage)
   * @param sigma chance per example that a drifting weight reverses direction (MOA sigmaPercentage / 100, River sigma)
   * @param examples how many examples the source yields
   */
  public record Config(int features, int driftFeatures, double magnitude, double noise, double sigma, long examples,
      long seed) {
    public Config {
      if (features < 1 || driftFeatures < 0 || driftFeatures > features || !(magnitude >= 0)
          || !(noise >= 0 && noise <= 1) || !(sigma >= 0 && sigma <= 1) || examples < 0) {
        throw new IllegalArgumentException("hyperplane: features >= 1, 0 <= driftFeatures <= features, magnitude >= 0, "
            + "noise and sigma in [0, 1], examples >= 0");
      }
    }

    /** MOA's defaults (10 features, 2 drifting, 5 % noise, 10 % direction changes) with drift of 0.001 per example. */
    public static Config drifting(long examples, long seed) {
      return new Config(10, 2, 0.001, 0.05, 0.1, examples, seed);
    }
  }

  private final Config config;
  private final Random rnd;
  private final double[] w;
  private final double[] direction;
  private long produced;

  public RotatingHyperplaneStream(Config config) {
    this.config = config;
    this.rnd = new Random(config.seed());
    this.w = new double[config.features()];
    this.direction = new double[config.features()];
    for (int i = 0; i < w.length; i++) {
      w[i] = rnd.nextDouble();
      direction[i] = 1;
    }
  }

  @Override
  public int inputSize() {
    return config.features();
  }

  @Override
  public String name() {
    return "rotating-hyperplane";
  }

  @Override
  public boolean hasNext() {
    return produced < config.examples();
  }

  @Override
  public Example next() {
    if (!hasNext()) {
      throw new NoSuchElementException("the hyperplane stream yielded its " + config.examples() + " examples");
    }
    float[] x = new float[w.length];
    double sum = 0;
    double total = 0;
    for (int i = 0; i < w.length; i++) {
      x[i] = (float) rnd.nextDouble();
      sum += w[i] * x[i];
      total += w[i];
    }
    int label = sum >= 0.5 * total ? 1 : 0;
    if (rnd.nextDouble() < config.noise()) {
      label = 1 - label;
    }
    for (int i = 0; i < config.driftFeatures(); i++) {
      w[i] += direction[i] * config.magnitude();
      if (rnd.nextDouble() < config.sigma()) {
        direction[i] = -direction[i];
      }
    }
    return new Example("hyperplane-" + produced++, x, label, 0);
  }

  /** The current weights (a copy), for tests and reports. */
  public double[] weights() {
    return w.clone();
  }
}
