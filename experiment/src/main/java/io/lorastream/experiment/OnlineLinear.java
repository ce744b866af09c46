package io.lorastream.experiment;

import io.lorastream.lora.model.MergedModel;
import java.util.Arrays;

/**
 * The online linear learners a practitioner tries first, as experiment baselines over exactly the
 * rows the models read: for text workloads the set of token ids in the row's window (a binary bag
 * of words, PAD ignored), for dense workloads the feature vector; always with a bias. Two rules:
 *
 * <ul>
 *   <li>{@link Rule#PERCEPTRON}: the multiclass perceptron (on a mistake, add the input to the
 *       true class's weights and subtract it from the predicted one's); it has no learning rate.
 *   <li>{@link Rule#LOGISTIC_ADAGRAD}: multinomial logistic regression by per-example gradient
 *       steps with AdaGrad's per-coordinate rates {@code lr / sqrt(sum of squared gradients)}.
 * </ul>
 *
 * Not thread-safe; one per variant run. Weights are (classes, dim + 1), the bias last.
 */
final class OnlineLinear {

  /** The update rule. */
  enum Rule { PERCEPTRON, LOGISTIC_ADAGRAD }

  private static final double ADAGRAD_EPS = 1e-8;

  private final Rule rule;
  private final boolean tokens;
  private final int dim; // vocabulary (tokens) or feature count (dense)
  private final int classes;
  private final double lr;
  private final double[] w;
  private final double[] g2; // AdaGrad accumulators; null for the perceptron
  private final boolean[] seen;

  /**
   * @param tokens whether rows are token ids (a bag of ids in [1, dim)) rather than dense features
   * @param dim the vocabulary size, or the feature count of dense rows
   * @param lr the AdaGrad base rate (ignored by the perceptron)
   */
  OnlineLinear(Rule rule, boolean tokens, int dim, int classes, double lr) {
    if (dim < 1 || classes < 2 || (rule == Rule.LOGISTIC_ADAGRAD && !(lr > 0))) {
      throw new IllegalArgumentException("dim >= 1, classes >= 2 and a positive rate required");
    }
    this.rule = rule;
    this.tokens = tokens;
    this.dim = dim;
    this.classes = classes;
    this.lr = lr;
    this.w = new double[classes * (dim + 1)];
    this.g2 = rule == Rule.LOGISTIC_ADAGRAD ? new double[w.length] : null;
    this.seen = tokens ? new boolean[dim] : null;
  }

  /** AdaGrad rates tried by {@link #tuned}. */
  static final double[] RATE_GRID = {0.01, 0.03, 0.1, 0.3, 1.0};
  /** Share of the pretraining period a rate is fitted on; the rest scores it prequentially. */
  static final double TUNE_FIT_SHARE = 0.7;

  /**
   * A learner warmed up on the pretraining period, with how its rate was chosen and its
   * prequential accuracy on the tuning slice (after fitting on the part before it).
   */
  record Tuned(OnlineLinear model, double lr, String how, double sliceAccuracy) {}

  /**
   * A learner of {@code rule} that has made {@code passes} in-order passes over the pretraining
   * period, as the neural bases trained on it. AdaGrad's rate is the grid value with the best
   * prequential accuracy on the last {@value #TUNE_FIT_SHARE}-complement of the pretraining period
   * after fitting on the first part; nothing of the stream is looked at.
   */
  static Tuned tuned(Rule rule, java.util.List<io.lorastream.lora.data.Example> pretrain, boolean tokens, int dim,
      int classes, int passes) {
    if (pretrain.isEmpty()) {
      throw new IllegalArgumentException("the linear baselines warm up on the pretraining period, which is empty");
    }
    int width = pretrain.get(0).features().length;
    double lr = 0;
    String how = "no rate";
    int cut = Math.max(1, (int) Math.round(pretrain.size() * TUNE_FIT_SHARE));
    double best = -1;
    if (rule == Rule.PERCEPTRON) {
      best = sliceAccuracy(new OnlineLinear(rule, tokens, dim, classes, 1), pretrain, cut, width, passes);
    } else {
      StringBuilder tried = new StringBuilder();
      for (double r : RATE_GRID) {
        double acc = sliceAccuracy(new OnlineLinear(rule, tokens, dim, classes, r), pretrain, cut, width, passes);
        tried.append(String.format(java.util.Locale.ROOT, "%s%s: %.4f", tried.length() == 0 ? "" : ", ", r, acc));
        if (acc > best) {
          best = acc;
          lr = r;
        }
      }
      how = "rate " + lr + " of {" + tried + "} by prequential accuracy on the last "
          + Math.round(100 * (1 - TUNE_FIT_SHARE)) + " % of the pretraining period";
    }
    OnlineLinear m = new OnlineLinear(rule, tokens, dim, classes, rule == Rule.LOGISTIC_ADAGRAD ? lr : 1);
    m.fit(pretrain, width, passes);
    return new Tuned(m, lr, how, best);
  }

  /** Fits {@code m} on the part before {@code cut}, then scores it test-then-train on the rest. */
  private static double sliceAccuracy(OnlineLinear m, java.util.List<io.lorastream.lora.data.Example> pretrain, int cut,
      int width, int passes) {
    m.fit(pretrain.subList(0, cut), width, passes);
    int ok = 0;
    for (io.lorastream.lora.data.Example e : pretrain.subList(cut, pretrain.size())) {
      ok += m.predict(e.features(), 0, width) == e.label() ? 1 : 0;
      m.learn(e.features(), 0, width, e.label());
    }
    return (double) ok / Math.max(1, pretrain.size() - cut);
  }

  private void fit(java.util.List<io.lorastream.lora.data.Example> examples, int width, int passes) {
    for (int p = 0; p < passes; p++) {
      for (io.lorastream.lora.data.Example e : examples) {
        learn(e.features(), 0, width, e.label());
      }
    }
  }

  /** Weights, bias included. */
  long parameters() {
    return w.length;
  }

  /** The predicted class of row {@code i} of {@code rows} (row-major, {@code width} values per row). */
  int predict(float[] rows, int i, int width) {
    return argMax(scores(input(rows, i, width)));
  }

  /** One online update on row {@code i} with label {@code y}. */
  void learn(float[] rows, int i, int width, int y) {
    Input x = input(rows, i, width);
    double[] s = scores(x);
    if (rule == Rule.PERCEPTRON) {
      int p = argMax(s);
      if (p != y) {
        add(x, y, 1.0);
        add(x, p, -1.0);
      }
      return;
    }
    double[] prob = MergedModel.softmax(s);
    for (int k = 0; k < classes; k++) {
      double g = prob[k] - (k == y ? 1 : 0); // d loss / d score_k; times x_j per weight
      if (g == 0) {
        continue;
      }
      int row = k * (dim + 1);
      for (int t = 0; t < x.n; t++) {
        adagrad(row + x.index[t], g * x.value[t]);
      }
      adagrad(row + dim, g);
    }
  }

  private void adagrad(int at, double grad) {
    g2[at] += grad * grad;
    w[at] -= lr * grad / (Math.sqrt(g2[at]) + ADAGRAD_EPS);
  }

  private void add(Input x, int k, double sign) {
    int row = k * (dim + 1);
    for (int t = 0; t < x.n; t++) {
      w[row + x.index[t]] += sign * x.value[t];
    }
    w[row + dim] += sign;
  }

  private double[] scores(Input x) {
    double[] s = new double[classes];
    for (int k = 0; k < classes; k++) {
      int row = k * (dim + 1);
      double v = w[row + dim];
      for (int t = 0; t < x.n; t++) {
        v += w[row + x.index[t]] * x.value[t];
      }
      s[k] = v;
    }
    return s;
  }

  /** A sparse view of one row: the distinct token ids (value 1), or every dense feature. */
  private record Input(int[] index, double[] value, int n) {}

  private Input input(float[] rows, int i, int width) {
    int off = i * width;
    if (!tokens) {
      if (width != dim) {
        throw new IllegalArgumentException("expected " + dim + " features, got " + width);
      }
      int[] idx = new int[width];
      double[] val = new double[width];
      for (int j = 0; j < width; j++) {
        idx[j] = j;
        val[j] = rows[off + j];
      }
      return new Input(idx, val, width);
    }
    int[] idx = new int[width];
    int n = 0;
    for (int j = 0; j < width; j++) {
      int id = (int) rows[off + j];
      if (id <= 0 || id >= dim) {
        continue; // PAD (and nothing else: ingest and the assembler checked the ids)
      }
      if (!seen[id]) {
        seen[id] = true;
        idx[n++] = id;
      }
    }
    for (int t = 0; t < n; t++) {
      seen[idx[t]] = false;
    }
    double[] val = new double[n];
    Arrays.fill(val, 1.0);
    return new Input(idx, val, n);
  }

  private static int argMax(double[] s) {
    int best = 0;
    for (int k = 1; k < s.length; k++) {
      if (s[k] > s[best]) {
        best = k;
      }
    }
    return best;
  }


}
