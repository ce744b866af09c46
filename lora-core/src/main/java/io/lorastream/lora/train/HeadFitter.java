package io.lorastream.lora.train;

import ai.djl.Device;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Makes a pretrained encoder (an imported {@code bert} base) a classifier for one task without
 * touching the encoder: runs the frozen encoder once over the examples, then fits only the linear
 * head on its pooled outputs by softmax regression. This is the frozen base that adapters then
 * correct; it is what "MiniLM plus a head fitted on the earliest data" means. A seeded holdout split
 * gives an honest accuracy beside the training one, as {@link Pretrainer} does for the models
 * lorastream trains from scratch.
 *
 * <p>The fit standardizes each pooled feature (mean and standard deviation of the training split),
 * runs full-batch Adam on the mean cross-entropy plus {@code l2 * |W|^2}, and folds the
 * standardization back into the head, so the saved head reads the raw pooled output. Everything
 * after the encoder pass is plain double arithmetic on the host, so for a given seed the head is
 * the same on every machine.
 */
public final class HeadFitter {

  /**
   * @param epochs full-batch Adam steps
   * @param lr Adam learning rate
   * @param l2 penalty on the head weights (not the bias)
   * @param holdoutFraction share of examples kept out of the fit for the holdout accuracy
   * @param batchSize rows per encoder call
   * @param seed seeds the split
   */
  public record Config(int epochs, double lr, double l2, double holdoutFraction, int batchSize, long seed) {
    public Config {
      if (epochs < 1 || !(lr > 0) || !(l2 >= 0) || !(holdoutFraction >= 0 && holdoutFraction < 1) || batchSize < 1) {
        throw new IllegalArgumentException("head fit: epochs >= 1, lr > 0, l2 >= 0, holdout in [0, 1), batch >= 1; got "
            + epochs + ", " + lr + ", " + l2 + ", " + holdoutFraction + ", " + batchSize);
      }
    }

    /** 300 steps at lr 0.05, l2 1e-3, 10 % holdout, 16 rows per encoder call. */
    public static Config defaults(long seed) {
      return new Config(300, 0.05, 1e-3, 0.1, 16, seed);
    }

    /** The same with {@code fraction} held out (0: fit on every example). */
    public Config withHoldout(double fraction) {
      return new Config(epochs, lr, l2, fraction, batchSize, seed);
    }
  }

  private final Config config;
  private final Consumer<String> progress;

  public HeadFitter(Config config, Consumer<String> progress) {
    this.config = config;
    this.progress = progress;
  }

  /**
   * A new base: {@code encoder}'s weights with the head fitted on {@code examples} (token rows of
   * the encoder's window). The caller owns both models.
   *
   * @throws IllegalArgumentException when the encoder is not an encoder kind or an example does not fit it
   */
  public Pretrainer.Result fit(BaseModel encoder, List<Example> examples, String id, Device device) {
    ModelSpec spec = encoder.spec();
    if (!spec.encoder()) {
      throw new IllegalArgumentException("a head is fitted on an encoder's pooled output, not on a " + spec.kind());
    }
    if (examples.size() < 2) {
      throw new IllegalArgumentException("fitting a head needs at least 2 examples, got " + examples.size());
    }
    int n = examples.size();
    int c = spec.numClasses();
    int d = spec.dModel();
    for (Example e : examples) {
      if (e.features().length != spec.inputSize() || e.label() < 0 || e.label() >= c) {
        throw new IllegalArgumentException("example " + e.id() + " does not fit the encoder (" + spec.inputSize()
            + " tokens, " + c + " classes)");
      }
    }
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      order.add(i);
    }
    Collections.shuffle(order, new Random(config.seed()));
    int holdout = (int) Math.floor(n * config.holdoutFraction());
    double[][] x = pooled(encoder, examples);
    int train = n - holdout;
    double[] mu = new double[d];
    double[] sigma = new double[d];
    for (int k = holdout; k < n; k++) {
      double[] xi = x[order.get(k)];
      for (int j = 0; j < d; j++) {
        mu[j] += xi[j] / train;
      }
    }
    for (int k = holdout; k < n; k++) {
      double[] xi = x[order.get(k)];
      for (int j = 0; j < d; j++) {
        sigma[j] += (xi[j] - mu[j]) * (xi[j] - mu[j]) / train;
      }
    }
    for (int j = 0; j < d; j++) {
      sigma[j] = Math.sqrt(sigma[j]) + 1e-6;
    }
    double[][] z = new double[n][d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        z[i][j] = (x[i][j] - mu[j]) / sigma[j];
      }
    }
    double[] w = new double[c * d]; // (C, d) on standardized features
    double[] b = new double[c];
    double[] mw = new double[w.length];
    double[] vw = new double[w.length];
    double[] mb = new double[c];
    double[] vb = new double[c];
    double loss = 0;
    for (int step = 1; step <= config.epochs(); step++) {
      double[] gw = new double[w.length];
      double[] gb = new double[c];
      loss = 0;
      for (int k = holdout; k < n; k++) {
        int i = order.get(k);
        double[] p = MergedModel.softmax(logits(w, b, z[i], c, d));
        int y = examples.get(i).label();
        loss -= Math.log(Math.max(p[y], 1e-300)) / train;
        for (int o = 0; o < c; o++) {
          double g = (p[o] - (o == y ? 1 : 0)) / train;
          gb[o] += g;
          for (int j = 0; j < d; j++) {
            gw[o * d + j] += g * z[i][j];
          }
        }
      }
      for (int q = 0; q < w.length; q++) {
        loss += config.l2() * w[q] * w[q];
        gw[q] += 2 * config.l2() * w[q];
      }
      adam(w, gw, mw, vw, step);
      adam(b, gb, mb, vb, step);
    }
    int[] hits = new int[2];
    for (int k = 0; k < n; k++) {
      int i = order.get(k);
      double[] zl = logits(w, b, z[i], c, d);
      int best = 0;
      for (int o = 1; o < c; o++) {
        best = zl[o] > zl[best] ? o : best;
      }
      hits[k < holdout ? 0 : 1] += best == examples.get(i).label() ? 1 : 0;
    }
    double trainAcc = (double) hits[1] / train;
    double holdoutAcc = holdout == 0 ? Double.NaN : (double) hits[0] / holdout;
    progress.accept(String.format(Locale.ROOT, "head fitted on %,d pooled outputs (d=%d): loss %.4f, train accuracy "
        + "%.3f, holdout %.3f (%,d)", train, d, loss, trainAcc, holdoutAcc, holdout));
    // fold the standardization in: W' = W / sigma, b' = b - W' mu
    float[] headW = new float[c * d];
    float[] headB = new float[c];
    for (int o = 0; o < c; o++) {
      double shift = 0;
      for (int j = 0; j < d; j++) {
        double wj = w[o * d + j] / sigma[j];
        headW[o * d + j] = (float) wj;
        shift += wj * mu[j];
      }
      headB[o] = (float) (b[o] - shift);
    }
    Map<String, float[]> tensors = new LinkedHashMap<>();
    for (String name : encoder.parameterNames()) {
      tensors.put(name, encoder.parameter(name));
    }
    tensors.put("head.weight", headW);
    tensors.put("head.bias", headB);
    BaseModel fitted = BaseModel.fromTensors(spec, tensors, id, encoder.tokenizerJson().orElse(null), device);
    return new Pretrainer.Result(fitted, trainAcc, holdoutAcc, train, holdout, loss);
  }

  /** The frozen encoder's pooled output of every example, in example order: (n, d). */
  private double[][] pooled(BaseModel encoder, List<Example> examples) {
    int n = examples.size();
    int len = encoder.inputSize();
    int d = encoder.spec().dModel();
    double[][] out = new double[n][];
    long t0 = System.nanoTime();
    long lastReport = t0;
    for (int from = 0; from < n; from += config.batchSize()) {
      int m = Math.min(config.batchSize(), n - from);
      float[] rows = new float[m * len];
      for (int i = 0; i < m; i++) {
        System.arraycopy(examples.get(from + i).features(), 0, rows, i * len, len);
      }
      float[] p = encoder.pooled(rows, m);
      for (int i = 0; i < m; i++) {
        double[] v = new double[d];
        for (int j = 0; j < d; j++) {
          v[j] = p[i * d + j];
        }
        out[from + i] = v;
      }
      long now = System.nanoTime();
      if (now - lastReport > 10_000_000_000L || from + m == n) {
        lastReport = now;
        double s = (now - t0) / 1e9;
        progress.accept(String.format(Locale.ROOT, "frozen encoder over %,d/%,d examples (%.1f examples/s, %.0f s)",
            from + m, n, (from + m) / s, s));
      }
    }
    return out;
  }

  private static double[] logits(double[] w, double[] b, double[] z, int c, int d) {
    double[] out = new double[c];
    for (int o = 0; o < c; o++) {
      double s = b[o];
      for (int j = 0; j < d; j++) {
        s += w[o * d + j] * z[j];
      }
      out[o] = s;
    }
    return out;
  }



  private void adam(double[] p, double[] g, double[] m, double[] v, int t) {
    double b1 = 0.9;
    double b2 = 0.999;
    double c1 = 1 - Math.pow(b1, t);
    double c2 = 1 - Math.pow(b2, t);
    for (int i = 0; i < p.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      p[i] -= config.lr() * (m[i] / c1) / (Math.sqrt(v[i] / c2) + 1e-8);
    }
  }
}
