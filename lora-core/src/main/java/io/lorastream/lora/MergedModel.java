package io.lorastream.lora;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An immutable serving model with every adapter folded into its layer: {@code W' = W + s*B*A}.
 * It is plain Java over final float arrays, so any number of request threads can call it
 * concurrently with no locking and no native resources to close, and swapping versions is just
 * replacing one reference. Building one (the merge) costs one (out x r x in) product per adapted
 * layer and happens off the request path.
 */
public final class MergedModel {

  private final String baseFingerprint;
  private final String baseModelId;
  private final int inputSize;
  private final int numClasses;
  private final int[] ins;
  private final int[] outs;
  private final float[][] weights; // [layer] row-major (out, in), merged
  private final float[][] biases;
  private final Map<String, Integer> ranks;

  private MergedModel(BaseModel base, float[][] weights, Map<String, Integer> ranks) {
    List<LayerInfo> ls = base.linearLayers();
    this.baseFingerprint = base.fingerprint();
    this.baseModelId = base.id();
    this.inputSize = base.inputSize();
    this.numClasses = base.numClasses();
    this.ins = ls.stream().mapToInt(LayerInfo::in).toArray();
    this.outs = ls.stream().mapToInt(LayerInfo::out).toArray();
    this.weights = weights;
    this.biases = new float[ls.size()][];
    for (int i = 0; i < ls.size(); i++) {
      biases[i] = base.hostBias(i).clone();
    }
    this.ranks = Map.copyOf(ranks);
  }

  /** The frozen base itself as a serving model (no adapter). */
  public static MergedModel ofBase(BaseModel base) {
    float[][] w = new float[base.linearLayers().size()][];
    for (int i = 0; i < w.length; i++) {
      w[i] = base.hostWeight(i).clone();
    }
    return new MergedModel(base, w, Map.of());
  }

  /** One adapted layer's factors on the host, as a merge input. */
  record Delta(String layer, int rank, double scale, float[] a, float[] b) {}

  /**
   * Folds the deltas into a copy of the base weights. W'[o][i] = W[o][i] + s * sum_r B[o][r] A[r][i],
   * accumulated in double so the merged weights are as close as float32 allows.
   */
  static MergedModel merge(BaseModel base, List<Delta> deltas) {
    float[][] w = new float[base.linearLayers().size()][];
    for (int i = 0; i < w.length; i++) {
      w[i] = base.hostWeight(i).clone();
    }
    Map<String, Integer> ranks = new TreeMap<>();
    for (Delta d : deltas) {
      int li = base.layerIndex(d.layer());
      LayerInfo l = base.linearLayers().get(li);
      int r = d.rank();
      if (d.a().length != r * l.in() || d.b().length != l.out() * r) {
        throw new IllegalArgumentException("layer " + d.layer() + ": A/B lengths do not match rank " + r);
      }
      float[] wl = w[li];
      double[] row = new double[l.in()];
      for (int o = 0; o < l.out(); o++) {
        java.util.Arrays.fill(row, 0.0);
        for (int k = 0; k < r; k++) {
          double bk = d.b()[o * r + k];
          if (bk == 0.0) {
            continue;
          }
          int aOff = k * l.in();
          for (int i = 0; i < l.in(); i++) {
            row[i] += bk * d.a()[aOff + i];
          }
        }
        int wOff = o * l.in();
        for (int i = 0; i < l.in(); i++) {
          wl[wOff + i] = (float) (wl[wOff + i] + d.scale() * row[i]);
        }
      }
      ranks.put(d.layer(), r);
    }
    return new MergedModel(base, w, ranks);
  }

  /** Raw logits for one example. */
  public float[] logits(float[] x) {
    if (x == null || x.length != inputSize) {
      throw new IllegalArgumentException("expected " + inputSize + " features, got " + (x == null ? "null" : x.length));
    }
    float[] h = x;
    int last = weights.length - 1;
    for (int l = 0; l <= last; l++) {
      int in = ins[l];
      int out = outs[l];
      float[] w = weights[l];
      float[] next = new float[out];
      for (int o = 0; o < out; o++) {
        float acc = biases[l][o];
        int off = o * in;
        for (int i = 0; i < in; i++) {
          acc += w[off + i] * h[i];
        }
        next[o] = l < last && acc < 0f ? 0f : acc;
      }
      h = next;
    }
    return h;
  }

  /** Class probabilities (softmax of the logits) for one example. */
  public float[] predictProba(float[] x) {
    return softmax(logits(x));
  }

  /** Numerically stable softmax of one logit vector (max subtracted, accumulated in double). */
  public static float[] softmax(float[] z) {
    float max = Float.NEGATIVE_INFINITY;
    for (float v : z) {
      max = Math.max(max, v);
    }
    double sum = 0;
    double[] e = new double[z.length];
    for (int i = 0; i < z.length; i++) {
      e[i] = Math.exp(z[i] - max);
      sum += e[i];
    }
    float[] p = new float[z.length];
    for (int i = 0; i < z.length; i++) {
      p[i] = (float) (e[i] / sum);
    }
    return p;
  }

  /** Class probabilities for a batch. */
  public float[][] predictProba(float[][] xs) {
    float[][] out = new float[xs.length][];
    for (int i = 0; i < xs.length; i++) {
      out[i] = predictProba(xs[i]);
    }
    return out;
  }

  /** Most likely class of one example. */
  public int predict(float[] x) {
    float[] z = logits(x);
    int best = 0;
    for (int i = 1; i < z.length; i++) {
      if (z[i] > z[best]) {
        best = i;
      }
    }
    return best;
  }

  public int numClasses() {
    return numClasses;
  }

  public int inputSize() {
    return inputSize;
  }

  /** Fingerprint of the base this model was merged onto. */
  public String baseFingerprint() {
    return baseFingerprint;
  }

  public String baseModelId() {
    return baseModelId;
  }

  /** Rank per adapted layer (empty for the frozen base). */
  public Map<String, Integer> ranks() {
    return ranks;
  }

  /** A copy of a merged layer weight, row-major (out, in) (for tests and diagnostics). */
  public float[] weight(int layerIndex) {
    return weights[layerIndex].clone();
  }
}
