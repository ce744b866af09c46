package io.lorastream.lora.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Activation;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import java.util.List;

/**
 * The one DJL forward pass of every model kind, shared by the frozen base, the LoRA model, full
 * fine-tuning and pretraining, so they cannot drift apart. It reads the parameters as an array in
 * {@link ModelSpec#tensors()} order (device layout: linear weights (in, out)) and optional LoRA
 * factors per linear layer, so the same code runs on stored tensors, on float64 copies and on
 * autograd leaves. Every result lands in the input's (per-batch) manager.
 *
 * <p>Transformer (post-LN, like the original Transformer and BERT: residual then LayerNorm):
 * {@code h = tok_emb[ids] + pos_emb}; per layer
 * {@code h = LN1(h + O(attn(Q h, K h, V h)))}, {@code h = LN2(h + ff2(relu(ff1 h)))}; then the
 * mean of h over non-PAD positions and {@code head}. Attention is built from matMul, softmax and
 * reshape/transpose so Q/K/V/O are ordinary linear layers LoRA can wrap; PAD keys get an additive
 * {@code -1e9} (finite: an all-PAD row gives a uniform softmax, not NaN) and pooling divides by
 * {@code max(1, #tokens)}, so an empty row yields the head's bias. The ReLU FFN and LayerNorm
 * (eps {@value #LN_EPS}, biased variance) are mirrored exactly by {@link MergedModel}.
 *
 * <p>Bert (BERT, MiniLM): the same blocks, with {@code h = LN_emb(tok_emb[ids] + pos_emb +
 * type_emb[0])} first, a GELU (erf) feed-forward, LayerNorm eps {@value #BERT_LN_EPS}, and mean or
 * [CLS] pooling; PAD is id 0, as in BERT's vocabulary, so the key mask is the attention mask.
 */
public final class Forward {

  /** LayerNorm epsilon (PyTorch's default), shared with the pure-Java serving forward. */
  static final float LN_EPS = 1e-5f;
  /** LayerNorm epsilon of BERT-family models ({@code layer_norm_eps} of their configs). */
  static final float BERT_LN_EPS = 1e-12f;
  /** Additive attention bias of a PAD key: large enough that exp underflows to exactly 0. */
  static final double MASK_BIAS = 1e9;

  private final ModelSpec spec;
  private final int[] weightIdx; // [linear layer] tensor index of its weight
  private final int[] biasIdx;
  private final int tokEmb; // -1 when absent
  private final int embLayer; // adaptable-layer index of the embedding table, -1 for mlp
  private final int posEmb;
  private final int typeEmb; // bert only, else -1
  private final int embLnG;
  private final int embLnB;
  private final boolean bert;
  private final float lnEps;
  private final int[] ln1g;
  private final int[] ln1b;
  private final int[] ln2g;
  private final int[] ln2b;

  /** 0-d constants of one dtype, owned by a long-lived model manager. */
  public record Consts(NDArray zero, NDArray one, NDArray maskBias, NDArray attnScale) {
    public static Consts create(NDManager m, DataType dtype, ModelSpec spec) {
      double scale = spec.heads() > 0 ? 1.0 / Math.sqrt((double) spec.dModel() / spec.heads()) : 1.0;
      return dtype == DataType.FLOAT64
          ? new Consts(m.create(0.0), m.create(1.0), m.create(MASK_BIAS), m.create(scale))
          : new Consts(m.create(0f), m.create(1f), m.create((float) MASK_BIAS), m.create((float) scale));
    }
  }

  Forward(ModelSpec spec) {
    this.spec = spec;
    List<TensorSpec> ts = spec.tensors();
    int nl = spec.linearLayers().size();
    this.embLayer = spec.tokenInput() ? nl : -1;
    weightIdx = new int[nl];
    biasIdx = new int[nl];
    int blocks = spec.layers();
    ln1g = new int[blocks];
    ln1b = new int[blocks];
    ln2g = new int[blocks];
    ln2b = new int[blocks];
    int tok = -1;
    int pos = -1;
    int type = -1;
    int elg = -1;
    int elb = -1;
    for (int i = 0; i < ts.size(); i++) {
      TensorSpec t = ts.get(i);
      if (t.linearLayer() >= 0) {
        (t.isWeight() ? weightIdx : biasIdx)[t.linearLayer()] = i;
        continue;
      }
      String n = t.name();
      if (t.tokenTable()) {
        tok = i;
      } else if (n.equals("pos_emb")) {
        pos = i;
      } else if (n.equals("type_emb")) {
        type = i;
      } else if (n.equals("emb_ln.gamma")) {
        elg = i;
      } else if (n.equals("emb_ln.beta")) {
        elb = i;
      } else {
        int layer = Integer.parseInt(n.substring(1, n.indexOf('.')));
        int[] target = n.endsWith(".ln1.gamma") ? ln1g : n.endsWith(".ln1.beta") ? ln1b
            : n.endsWith(".ln2.gamma") ? ln2g : ln2b;
        target[layer] = i;
      }
    }
    this.tokEmb = tok;
    this.posEmb = pos;
    this.typeEmb = type;
    this.embLnG = elg;
    this.embLnB = elb;
    this.bert = ModelSpec.BERT.equals(spec.kind());
    this.lnEps = bert ? BERT_LN_EPS : LN_EPS;
  }

  /**
   * Logits (n, C) for x (n, inputSize) of the parameters' dtype.
   *
   * @param p parameters in tensor order, device layout
   * @param at per adaptable layer ({@link ModelSpec#adaptableLayers()}) A^T (in, r), or null
   *     entries / null array for no adapter
   * @param bt per adaptable layer B^T (r, out)
   * @param scale per adaptable layer 0-d LoRA scale s
   */
  public NDArray logits(NDArray x, NDArray[] p, NDArray[] at, NDArray[] bt, NDArray[] scale, Consts c) {
    Shape s = x.getShape();
    if (s.dimension() != 2 || s.get(1) != spec.inputSize()) {
      throw new IllegalArgumentException("expected x of shape (n, " + spec.inputSize() + "), got " + s);
    }
    int n = (int) s.get(0);
    Lin lin = new Lin(p, at, bt, scale);
    return switch (spec.kind()) {
      case ModelSpec.MLP -> mlp(x, lin, 0, c);
      case ModelSpec.EMBBAG -> mlp(embeddingBag(x, lin, n, c), lin, 0, c);
      default -> lin.apply(weightIdx.length - 1, encode(x, p, lin, n, c));
    };
  }

  /**
   * The pooled encoder output (n, d) that the head reads, for x (n, inputSize) of token ids
   * (transformer and bert only). Same arguments as {@link #logits}.
   */
  public NDArray pooled(NDArray x, NDArray[] p, NDArray[] at, NDArray[] bt, NDArray[] scale, Consts c) {
    if (!spec.encoder()) {
      throw new IllegalArgumentException("pooled output is defined for encoders, not " + spec.kind());
    }
    return encode(x, p, new Lin(p, at, bt, scale), (int) x.getShape().get(0), c);
  }

  /** fc layers from {@code first} (ReLU) and the head. */
  private NDArray mlp(NDArray h, Lin lin, int first, Consts c) {
    int last = weightIdx.length - 1;
    for (int i = first; i <= last; i++) {
      h = lin.apply(i, h);
      if (i < last) {
        h = h.maximum(c.zero());
      }
    }
    return h;
  }

  /** Masked mean of the rows' token embeddings: (n, d). */
  private NDArray embeddingBag(NDArray x, Lin lin, int n, Consts c) {
    return maskedMean(x, embed(x, lin), n, c);
  }

  /** Token embeddings (n, L, d) of x's ids, with the embedding table's LoRA branch when it has one. */
  private NDArray embed(NDArray x, Lin lin) {
    NDArray ids = x.toType(DataType.INT64, false); // (n, L)
    NDArray e = x.getNDArrayInternal().embedding(ids, lin.p[tokEmb], SparseFormat.DENSE).head(); // (n, L, d)
    if (lin.adapted(embLayer)) {
      // A^T is (vocab, r): its rows are looked up like the table's, then (n, L, r) @ B^T (r, d)
      NDArray low = x.getNDArrayInternal().embedding(ids, lin.at[embLayer], SparseFormat.DENSE).head();
      e = e.add(low.matMul(lin.bt[embLayer]).mul(lin.scale[embLayer]));
    }
    return e;
  }

  /** (n, L, d) -> (n, d): sum over non-PAD positions / max(1, #non-PAD). */
  private NDArray maskedMean(NDArray x, NDArray h, int n, Consts c) {
    NDArray mask = x.gt(c.zero()).toType(h.getDataType(), false); // (n, L) 1 = token, 0 = PAD
    NDArray count = mask.sum(new int[] {1}, true).maximum(c.one()); // (n, 1)
    NDArray sum = mask.expandDims(1).matMul(h).reshape(n, spec.dModel()); // (n,1,L)@(n,L,d) -> (n, d)
    return sum.div(count);
  }

  /** Embeddings, the encoder blocks and pooling: (n, L) token ids -> (n, d). */
  private NDArray encode(NDArray x, NDArray[] p, Lin lin, int n, Consts c) {
    int len = spec.inputSize();
    int d = spec.dModel();
    int heads = spec.heads();
    int dh = d / heads;
    NDArray h = embed(x, lin).add(p[posEmb]); // (n, L, d)
    if (bert) {
      h = layerNorm(h.add(p[typeEmb]), p[embLnG], p[embLnB]); // + type 0 row, then the embeddings' LayerNorm
    }
    NDArray mask = x.gt(c.zero()).toType(h.getDataType(), false); // (n, L)
    NDArray keyBias = mask.sub(c.one()).mul(c.maskBias()).reshape(n, 1, 1, len); // 0 for tokens, -1e9 for PAD
    Shape split = new Shape(n, len, heads, dh);
    for (int i = 0; i < spec.layers(); i++) {
      int l0 = i * ModelSpec.LINEARS_PER_BLOCK;
      NDArray q = lin.apply(l0, h).reshape(split).transpose(0, 2, 1, 3); // (n, H, L, dh)
      NDArray k = lin.apply(l0 + 1, h).reshape(split).transpose(0, 2, 3, 1); // (n, H, dh, L)
      NDArray v = lin.apply(l0 + 2, h).reshape(split).transpose(0, 2, 1, 3); // (n, H, L, dh)
      NDArray att = q.matMul(k).mul(c.attnScale()).add(keyBias).softmax(3); // (n, H, L, L)
      NDArray ctx = att.matMul(v).transpose(0, 2, 1, 3).reshape(n, len, d); // (n, L, d)
      h = layerNorm(h.add(lin.apply(l0 + 3, ctx)), p[ln1g[i]], p[ln1b[i]]);
      NDArray up = lin.apply(l0 + 4, h); // (n, L, ffn)
      NDArray f = lin.apply(l0 + 5, bert ? Activation.gelu(up) : up.maximum(c.zero())); // -> (n, L, d)
      h = layerNorm(h.add(f), p[ln2g[i]], p[ln2b[i]]);
    }
    if (bert && ModelSpec.POOL_CLS.equals(spec.pooling())) {
      // (n, d): the first token; a row that starts with PAD has none and pools to zeros, as in MergedModel
      return h.get(new NDIndex(":, 0, :")).mul(mask.get(new NDIndex(":, 0")).expandDims(1));
    }
    return maskedMean(x, h, n, c);
  }

  private NDArray layerNorm(NDArray h, NDArray gamma, NDArray beta) {
    return h.getNDArrayInternal().layerNorm(h, new Shape(spec.dModel()), gamma, beta, lnEps).head();
  }

  /** Linear layers with their optional LoRA branch: {@code y = h W^T + b + s (h A^T) B^T}. */
  private final class Lin {
    private final NDArray[] p;
    private final NDArray[] at;
    private final NDArray[] bt;
    private final NDArray[] scale;

    Lin(NDArray[] p, NDArray[] at, NDArray[] bt, NDArray[] scale) {
      this.p = p;
      this.at = at;
      this.bt = bt;
      this.scale = scale;
    }

    boolean adapted(int layer) {
      return layer >= 0 && at != null && layer < at.length && at[layer] != null;
    }

    NDArray apply(int layer, NDArray h) {
      NDArray y = h.matMul(p[weightIdx[layer]]).add(p[biasIdx[layer]]); // (..., out)
      if (adapted(layer)) {
        y = y.add(h.matMul(at[layer]).matMul(bt[layer]).mul(scale[layer])); // (...,in)@(in,r)@(r,out)
      }
      return y;
    }
  }
}
