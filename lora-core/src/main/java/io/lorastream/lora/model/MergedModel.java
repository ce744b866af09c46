package io.lorastream.lora.model;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An immutable serving model with every adapter folded into its layer: {@code W' = W + s*B*A}.
 * It is plain Java over final float arrays, so any number of request threads can call it
 * concurrently with no locking and no native resources to close, and swapping versions is just
 * replacing one reference. Building one (the merge) costs one (out x r x in) product per adapted
 * layer and happens off the request path. Unadapted tensors (embeddings, LayerNorm, untouched
 * layers) are shared with the base's host copy, which is never modified.
 *
 * <p>Every model kind is served. The transformer forward mirrors {@link Forward} (post-LN, ReLU
 * FFN, LayerNorm eps 1e-5, masked mean pooling) but runs only over the row's real tokens: PAD
 * positions are dropped up front, which is exactly equivalent to the device's additive PAD mask
 * (those keys get weight exp(-1e9) = 0) and makes short rows cheap. Every inner loop is an
 * {@code y[j] += a * x[j]} over two distinct arrays from index 0 (weights stored transposed as
 * one array per input row, activations one array per token, K transposed per head): C2 vectorizes
 * exactly that shape and not loops with two different offsets into arrays that might alias
 * (measured 7x faster on this CPU). Scratch buffers are allocated once per call and reused across
 * layers.
 */
public final class MergedModel implements MergedClassifier {

  private final ModelSpec spec;
  private final String baseFingerprint;
  private final String baseModelId;
  private final int inputSize;
  private final int numClasses;
  private final int[] ins;
  private final int[] outs;
  private final float[][] weights; // [layer] row-major (out, in), merged; mlp/embbag only
  private final float[][][] weightsT; // [layer][in][out] merged, one array per input row; transformer only
  private final float[][] biases; // [layer]
  private final float[] emb; // (V, d) tok_emb or emb; null for mlp
  private final float[] pos; // (L, d) transformer only
  private final float[] typeEmb; // (1, d) bert only
  private final float[] embLnGamma; // (d) bert only
  private final float[] embLnBeta;
  private final boolean bert;
  private final float lnEps;
  private final float[][] ln; // [4*block + {0: ln1.gamma, 1: ln1.beta, 2: ln2.gamma, 3: ln2.beta}]
  private final Map<String, Integer> ranks;

  /**
   * @param tensors every parameter in canonical order, contract layout (shared, never modified)
   * @param merged per linear layer a merged (out, in) weight replacing the tensor's, or null
   */
  private MergedModel(ModelSpec spec, String baseModelId, String baseFingerprint, float[][] tensors, float[][] merged,
      Map<String, Integer> ranks) {
    this.spec = spec;
    this.baseFingerprint = baseFingerprint;
    this.baseModelId = baseModelId;
    this.inputSize = spec.inputSize();
    this.numClasses = spec.numClasses();
    List<LayerInfo> ls = spec.linearLayers();
    this.ins = ls.stream().mapToInt(LayerInfo::in).toArray();
    this.outs = ls.stream().mapToInt(LayerInfo::out).toArray();
    boolean transformer = spec.encoder();
    this.weights = transformer ? null : new float[ls.size()][];
    this.weightsT = transformer ? new float[ls.size()][][] : null;
    this.biases = new float[ls.size()][];
    this.ln = new float[4 * spec.layers()][];
    float[] e = null;
    float[] p = null;
    float[] ty = null;
    float[] eg = null;
    float[] eb = null;
    List<TensorSpec> ts = spec.tensors();
    for (int i = 0; i < ts.size(); i++) {
      TensorSpec t = ts.get(i);
      int l = t.linearLayer();
      if (l >= 0 && !t.isWeight()) {
        biases[l] = tensors[i];
      } else if (l >= 0) {
        float[] w = merged != null && merged[l] != null ? merged[l] : tensors[i];
        if (transformer) {
          weightsT[l] = rowsOf(BaseModel.transpose(w, outs[l], ins[l]), ins[l], outs[l]);
        } else {
          weights[l] = w;
        }
      } else if (t.tokenTable()) {
        e = tensors[i];
      } else if (t.name().equals("pos_emb")) {
        p = tensors[i];
      } else if (t.name().equals("type_emb")) {
        ty = tensors[i];
      } else if (t.name().equals("emb_ln.gamma")) {
        eg = tensors[i];
      } else if (t.name().equals("emb_ln.beta")) {
        eb = tensors[i];
      } else {
        int block = Integer.parseInt(t.name().substring(1, t.name().indexOf('.')));
        int slot = t.name().endsWith(".ln1.gamma") ? 0 : t.name().endsWith(".ln1.beta") ? 1
            : t.name().endsWith(".ln2.gamma") ? 2 : 3;
        ln[4 * block + slot] = tensors[i];
      }
    }
    this.emb = e;
    this.pos = p;
    this.typeEmb = ty;
    this.embLnGamma = eg;
    this.embLnBeta = eb;
    this.bert = ModelSpec.BERT.equals(spec.kind());
    this.lnEps = bert ? Forward.BERT_LN_EPS : Forward.LN_EPS;
    this.ranks = Map.copyOf(ranks);
  }

  /** The frozen base itself as a serving model (no adapter). */
  public static MergedModel ofBase(BaseModel base) {
    return new MergedModel(base.spec(), base.id(), base.fingerprint(), hostTensors(base), null, Map.of());
  }

  /** A serving model over explicit parameters (canonical order, contract layout; taken, not copied). */
  public static MergedModel of(ModelSpec spec, String id, String fingerprint, float[][] tensors) {
    return new MergedModel(spec, id, fingerprint, tensors, null, Map.of());
  }

  private static float[][] hostTensors(BaseModel base) {
    float[][] t = new float[base.tensors().size()][];
    for (int i = 0; i < t.length; i++) {
      t[i] = base.hostTensor(i);
    }
    return t;
  }

  /** One adapted layer's factors on the host, as a merge input. */
  public record Delta(String layer, int rank, double scale, float[] a, float[] b) {
    /** A must hold rank x in values and B out x rank, for the layer it adapts. */
    void requireShapeOf(LayerInfo l) {
      if (a.length != rank * l.in() || b.length != l.out() * rank) {
        throw new IllegalArgumentException("layer " + layer + ": A/B lengths do not match rank " + rank);
      }
    }
  }

  /**
   * Folds the deltas into copies of the base weights. W'[o][i] = W[o][i] + s * sum_r B[o][r] A[r][i],
   * accumulated in double so the merged weights are as close as float32 allows. The embedding
   * table's delta is folded the same way into E' = E + s (B A)^T.
   */
  public static MergedModel merge(BaseModel base, List<Delta> deltas) {
    float[][] merged = new float[base.linearLayers().size()][];
    float[][] tensors = hostTensors(base);
    Map<String, Integer> ranks = new TreeMap<>();
    for (Delta d : deltas) {
      int ai = base.adaptableIndex(d.layer());
      LayerInfo l = base.adaptableLayers().get(ai);
      int r = d.rank();
      d.requireShapeOf(l);
      ranks.put(d.layer(), r);
      if (ai >= merged.length) {
        int t = base.embeddingTensor();
        tensors[t] = mergedEmbedding(tensors[t], l, d);
        continue;
      }
      int li = ai;
      float[] wl = base.hostWeight(li).clone();
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
      merged[li] = wl;
    }
    return new MergedModel(base.spec(), base.id(), base.fingerprint(), tensors, merged, ranks);
  }

  /** E' (vocab, d) = E + s (B A)^T: row v gains s * sum_k A[k][v] B[:, k]. */
  private static float[] mergedEmbedding(float[] e, LayerInfo l, Delta d) {
    int vocab = l.in();
    int dm = l.out();
    int r = d.rank();
    float[] out = e.clone();
    double[] row = new double[dm];
    for (int v = 0; v < vocab; v++) {
      java.util.Arrays.fill(row, 0.0);
      for (int k = 0; k < r; k++) {
        double a = d.a()[k * vocab + v];
        if (a == 0.0) {
          continue;
        }
        for (int j = 0; j < dm; j++) {
          row[j] += a * d.b()[j * r + k];
        }
      }
      int off = v * dm;
      for (int j = 0; j < dm; j++) {
        out[off + j] = (float) (out[off + j] + d.scale() * row[j]);
      }
    }
    return out;
  }

  /**
   * Raw logits for one input row: dense features (mlp) or token ids as floats (text kinds).
   *
   * @throws IllegalArgumentException on a wrong row length or a token that is not an integer id
   *     in [0, vocabSize)
   */
  public float[] logits(float[] x) {
    if (x == null || x.length != inputSize) {
      throw new IllegalArgumentException("expected " + inputSize + (spec.tokenInput() ? " token ids" : " features")
          + ", got " + (x == null ? "null" : x.length));
    }
    return switch (spec.kind()) {
      case ModelSpec.MLP -> dense(x);
      case ModelSpec.EMBBAG -> dense(embeddingBag(x));
      default -> transformer(x);
    };
  }

  /** fc layers (ReLU) and the head over one vector, with (out, in) weights. */
  private float[] dense(float[] x) {
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

  /** Mean embedding of the row's non-PAD tokens (zeros for an all-PAD row). */
  private float[] embeddingBag(float[] x) {
    int d = spec.dModel();
    float[] sum = new float[d];
    int count = 0;
    for (int p = 0; p < inputSize; p++) {
      int id = tokenId(x, p);
      if (id == 0) {
        continue;
      }
      count++;
      int off = id * d;
      for (int j = 0; j < d; j++) {
        sum[j] += emb[off + j];
      }
    }
    float inv = 1f / Math.max(1, count);
    for (int j = 0; j < d; j++) {
      sum[j] *= inv;
    }
    return sum;
  }

  private int tokenId(float[] x, int p) {
    float v = x[p];
    if (!(v >= 0f && v < spec.vocabSize() && v == (float) (int) v)) {
      throw new IllegalArgumentException("token at position " + p + " is " + v + ", not an integer id in [0, "
          + spec.vocabSize() + ") (0 = PAD)");
    }
    return (int) v;
  }

  private float[] transformer(float[] x) {
    float[][] logits = new float[1][numClasses];
    linear(new float[][] {pooled(x)}, 1, weightsT.length - 1, logits);
    return logits[0];
  }

  /** The pooled encoder output (d) the head reads, for one row of token ids (transformer, bert). */
  public float[] pooled(float[] x) {
    if (!spec.encoder()) {
      throw new IllegalArgumentException("pooled output is defined for encoders, not " + spec.kind());
    }
    if (x.length != inputSize) {
      throw new IllegalArgumentException("expected " + inputSize + " token ids, got " + x.length);
    }
    int d = spec.dModel();
    int heads = spec.heads();
    int dh = d / heads;
    int ffn = spec.ffnSize();
    int[] tok = new int[inputSize];
    int[] at = new int[inputSize];
    int m = 0;
    for (int p = 0; p < inputSize; p++) {
      int id = tokenId(x, p);
      if (id != 0) {
        tok[m] = id;
        at[m++] = p;
      }
    }
    float[] pooled = new float[d];
    if (m > 0) {
      float[][] h = new float[m][d]; // hidden states of the real tokens
      float[][] q = new float[m][d];
      float[][] k = new float[m][d];
      float[][] v = new float[m][d];
      float[][] ctx = new float[m][d];
      float[][] tmp = new float[m][d];
      float[][] ff = new float[m][ffn];
      Attention att = new Attention(m, dh);
      for (int i = 0; i < m; i++) {
        int eo = tok[i] * d;
        int po = at[i] * d;
        for (int j = 0; j < d; j++) {
          h[i][j] = emb[eo + j] + pos[po + j];
        }
        if (bert) {
          for (int j = 0; j < d; j++) {
            h[i][j] += typeEmb[j];
          }
        }
      }
      if (bert) {
        addLayerNorm(h, new float[m][d], m, embLnGamma, embLnBeta, lnEps);
      }
      for (int b = 0; b < spec.layers(); b++) {
        int l0 = b * ModelSpec.LINEARS_PER_BLOCK;
        linear(h, m, l0, q);
        linear(h, m, l0 + 1, k);
        linear(h, m, l0 + 2, v);
        att.apply(q, k, v, ctx, heads);
        linear(ctx, m, l0 + 3, tmp);
        addLayerNorm(h, tmp, m, ln[4 * b], ln[4 * b + 1], lnEps);
        linear(h, m, l0 + 4, ff);
        for (int i = 0; i < m; i++) {
          float[] f = ff[i];
          for (int j = 0; j < ffn; j++) {
            f[j] = bert ? gelu(f[j]) : Math.max(f[j], 0f);
          }
        }
        linear(ff, m, l0 + 5, tmp);
        addLayerNorm(h, tmp, m, ln[4 * b + 2], ln[4 * b + 3], lnEps);
      }
      if (bert && ModelSpec.POOL_CLS.equals(spec.pooling())) {
        // The first token: BERT rows start with [CLS]; a row whose position 0 is PAD has none.
        return at[0] == 0 ? h[0].clone() : pooled;
      }
      for (int i = 0; i < m; i++) {
        float[] hi = h[i];
        for (int j = 0; j < d; j++) {
          pooled[j] += hi[j];
        }
      }
      float inv = 1f / m;
      for (int j = 0; j < d; j++) {
        pooled[j] *= inv;
      }
    }
    return pooled;
  }

  /** GELU with the exact (erf) form BERT uses: x * Phi(x). */
  static float gelu(float x) {
    return (float) (0.5 * x * (1.0 + erf(x / Math.sqrt(2.0))));
  }

  /**
   * erf(x) to about 1e-15 relative error: its Taylor series near 0, the continued fraction of
   * erfc further out (Java has no erf; GELU needs it far below float32's resolution).
   */
  static double erf(double x) {
    double ax = Math.abs(x);
    double r;
    if (ax < 2.5) {
      double term = ax;
      double sum = ax;
      double x2 = ax * ax;
      for (int n = 1; n < 60; n++) {
        term *= -x2 / n;
        double add = term / (2 * n + 1);
        sum += add;
        if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
          break;
        }
      }
      r = 2.0 / Math.sqrt(Math.PI) * sum;
    } else if (ax < 6.0) {
      // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated bottom-up
      double f = ax;
      for (int k = 60; k >= 1; k--) {
        f = ax + (k / 2.0) / f;
      }
      r = 1.0 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
    } else {
      r = 1.0;
    }
    return x < 0 ? -r : r;
  }

  /** y[i] (out) = x[i] (in) W^T + b for the first m rows, over the transposed weight's rows. */
  private void linear(float[][] x, int m, int layer, float[][] y) {
    float[][] wt = weightsT[layer];
    float[] b = biases[layer];
    for (int i = 0; i < m; i++) {
      float[] xi = x[i];
      float[] yi = y[i];
      System.arraycopy(b, 0, yi, 0, b.length);
      for (int c = 0; c < xi.length; c++) {
        float xv = xi[c];
        if (xv == 0f) {
          continue; // ReLU zeros in the FFN
        }
        float[] w = wt[c];
        for (int j = 0; j < yi.length; j++) {
          yi[j] += xv * w[j];
        }
      }
    }
  }

  /** Multi-head softmax(q k^T * scale) v over m tokens, with per-call scratch reused across layers. */
  private static final class Attention {
    private final int m;
    private final int dh;
    private final float scale;
    private final float[][] kt; // (dh, m): one head's keys, transposed
    private final float[][] vh; // (m, dh): one head's values
    private final float[] scores; // (m)
    private final float[] c; // (dh)

    Attention(int m, int dh) {
      this.m = m;
      this.dh = dh;
      this.scale = (float) (1.0 / Math.sqrt(dh));
      this.kt = new float[dh][m];
      this.vh = new float[m][dh];
      this.scores = new float[m];
      this.c = new float[dh];
    }

    void apply(float[][] q, float[][] k, float[][] v, float[][] ctx, int heads) {
      for (int hd = 0; hd < heads; hd++) {
        int off = hd * dh;
        for (int j = 0; j < m; j++) {
          float[] kj = k[j];
          for (int t = 0; t < dh; t++) {
            kt[t][j] = kj[off + t];
          }
          System.arraycopy(v[j], off, vh[j], 0, dh);
        }
        for (int i = 0; i < m; i++) {
          java.util.Arrays.fill(scores, 0f);
          float[] qi = q[i];
          for (int t = 0; t < dh; t++) {
            float qv = qi[off + t];
            float[] row = kt[t];
            for (int j = 0; j < m; j++) {
              scores[j] += qv * row[j];
            }
          }
          float max = Float.NEGATIVE_INFINITY;
          for (int j = 0; j < m; j++) {
            scores[j] *= scale;
            max = Math.max(max, scores[j]);
          }
          double sum = 0;
          for (int j = 0; j < m; j++) {
            float e = (float) Math.exp(scores[j] - max);
            scores[j] = e;
            sum += e;
          }
          float inv = (float) (1.0 / sum);
          java.util.Arrays.fill(c, 0f);
          for (int j = 0; j < m; j++) {
            float pj = scores[j] * inv;
            float[] vr = vh[j];
            for (int t = 0; t < dh; t++) {
              c[t] += pj * vr[t];
            }
          }
          System.arraycopy(c, 0, ctx[i], off, dh);
        }
      }
    }
  }

  private static float[][] rowsOf(float[] m, int rows, int cols) {
    float[][] out = new float[rows][cols];
    for (int r = 0; r < rows; r++) {
      System.arraycopy(m, r * cols, out[r], 0, cols);
    }
    return out;
  }

  /** h = LayerNorm(h + r) for the first m rows (biased variance, eps as the device forward). */
  private static void addLayerNorm(float[][] h, float[][] r, int m, float[] gamma, float[] beta, float eps) {
    for (int i = 0; i < m; i++) {
      float[] hi = h[i];
      float[] ri = r[i];
      int d = hi.length;
      double mean = 0;
      for (int j = 0; j < d; j++) {
        float s = hi[j] + ri[j];
        hi[j] = s;
        mean += s;
      }
      mean /= d;
      double var = 0;
      for (int j = 0; j < d; j++) {
        double c = hi[j] - mean;
        var += c * c;
      }
      var /= d;
      float inv = (float) (1.0 / Math.sqrt(var + eps));
      float mu = (float) mean;
      for (int j = 0; j < d; j++) {
        hi[j] = (hi[j] - mu) * inv * gamma[j] + beta[j];
      }
    }
  }

  /** Class probabilities (softmax of the logits) for one example. */
  public float[] predictProba(float[] x) {
    return softmax(logits(x));
  }

  /** Numerically stable softmax of one logit vector (max subtracted, accumulated in double). */
  public static float[] softmax(float[] z) {
    double[] d = new double[z.length];
    for (int i = 0; i < z.length; i++) {
      d[i] = z[i];
    }
    double[] p = softmax(d);
    float[] out = new float[z.length];
    for (int i = 0; i < z.length; i++) {
      out[i] = (float) p[i];
    }
    return out;
  }


  /** Numerically stable softmax in double (max subtracted); for host-side learners and fits. */
  public static double[] softmax(double[] z) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : z) {
      max = Math.max(max, v);
    }
    double sum = 0;
    double[] p = new double[z.length];
    for (int i = 0; i < z.length; i++) {
      p[i] = Math.exp(z[i] - max);
      sum += p[i];
    }
    for (int i = 0; i < p.length; i++) {
      p[i] /= sum;
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

  /** Most likely class of one example (the first one on ties). */
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

  /** Width of an input row: features (mlp) or seqLen token ids (text kinds). */
  public int inputSize() {
    return inputSize;
  }

  /** Whether input rows are token ids (see {@link TokenRows}). */
  public boolean tokenInput() {
    return spec.tokenInput();
  }

  /** Vocabulary size including PAD (0 for mlp). */
  public int vocabSize() {
    return spec.vocabSize();
  }

  /** Spec of the base this model was merged onto. */
  public ModelSpec spec() {
    return spec;
  }

  /** Fingerprint of the base this model was merged onto. */
  public String baseFingerprint() {
    return baseFingerprint;
  }

  public String baseModelId() {
    return baseModelId;
  }

  /** Rank per adapted layer (empty for the frozen base). */
  @Override
  public Map<String, Integer> ranks() {
    return ranks;
  }

  @Override
  public String engine() {
    return "java";
  }

  /** A copy of a merged linear layer weight, row-major (out, in) (for tests and diagnostics). */
  public float[] weight(int layerIndex) {
    if (weights != null) {
      return weights[layerIndex].clone();
    }
    float[] w = new float[ins[layerIndex] * outs[layerIndex]];
    for (int c = 0; c < ins[layerIndex]; c++) {
      for (int o = 0; o < outs[layerIndex]; o++) {
        w[o * ins[layerIndex] + c] = weightsT[layerIndex][c][o];
      }
    }
    return w;
  }
}
