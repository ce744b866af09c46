package io.lorastream.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Analytic FLOP count of one LoRA training micro-batch of the spam transformer encoder
 * (post-LN, ReLU FFN, masked mean pooling, LoRA on Q and V of every layer), as lora-core's
 * {@code Forward} computes it on dense (n, L) token rows: every position is computed, PAD or not.
 * Matrix products are listed one by one (forward and backward) so the bench can time DJL at the
 * same shapes; batched attention products are listed as one 2-D product of the same FLOPs.
 * Autograd differentiates only with respect to the adapters, so the frozen weights get no
 * weight-gradient products, and nothing below layer 0's Q/V projections is differentiated.
 */
final class TransformerFlops {

  static final String FORMULA = String.join("\n",
      "For n examples of L tokens, width d, h heads (dh = d/h), FFN width F, N layers, C classes, LoRA rank r on",
      "Q and V of every layer; a product (m x k)(k x n) counts 2mkn:",
      "",
      "* forward per layer: Q,K,V,O `4 x 2 n L d d`; scores and context `2 x 2 n h L L dh`; FFN `2 x 2 n L d F`;",
      "  LoRA on Q,V `2 x (2 n L d r + 2 n L r d)`; element-wise (biases, mask, scale, softmax ~5/elem, residuals,",
      "  2 LayerNorms ~8/elem, ReLU, LoRA scale+add) counted per element",
      "* forward once: embedding + position add `n L d`, pooling `2 n L d`, head `2 n d C`, loss `7 n C`",
      "* backward per layer (top to bottom): input grads through FFN and O `2 n L d F x 2 + 2 n L d d`; attention",
      "  `2 n h L L dh` for each of dP, dV, dQ (and dK above layer 0); LoRA parameter grads `3 x 2 n L d r` per adapted",
      "  projection; input grads through Q, K, V and A only above layer 0 (nothing below layer 0 needs a gradient)",
      "* backward element-wise: 2x the forward element-wise count (an estimate; it is a small share)",
      "* per micro-batch bookkeeping `3 P`, optimizer `16 P / k`, P = adapter parameters = 2 N r (d + d)");

  record Count(long forwardMatmul, long backwardMatmul, long elementwise, long adapterParams) {
    long total(int k) {
      return forwardMatmul + backwardMatmul + elementwise + 3 * adapterParams + 16 * adapterParams / k;
    }
  }

  final int n;
  final int seqLen;
  final int d;
  final int heads;
  final int ffn;
  final int layers;
  final int classes;
  final int rank;

  TransformerFlops(int n, int seqLen, int d, int heads, int ffn, int layers, int classes, int rank) {
    this.n = n;
    this.seqLen = seqLen;
    this.d = d;
    this.heads = heads;
    this.ffn = ffn;
    this.layers = layers;
    this.classes = classes;
    this.rank = rank;
  }

  /** Every matrix product of one micro-batch, forward then backward. */
  List<FlopModel.Matmul> matmuls(boolean backward) {
    int rows = n * seqLen;
    int dh = d / heads;
    int attnRows = n * heads * seqLen;
    List<FlopModel.Matmul> p = new ArrayList<>();
    if (!backward) {
      for (int l = 0; l < layers; l++) {
        for (String w : new String[] {"q", "k", "v", "o"}) {
          p.add(new FlopModel.Matmul("l" + l + "." + w, rows, d, d));
        }
        p.add(new FlopModel.Matmul("l" + l + " scores", attnRows, dh, seqLen));
        p.add(new FlopModel.Matmul("l" + l + " context", attnRows, seqLen, dh));
        p.add(new FlopModel.Matmul("l" + l + ".ff1", rows, d, ffn));
        p.add(new FlopModel.Matmul("l" + l + ".ff2", rows, ffn, d));
        for (String w : new String[] {"q", "v"}) {
          p.add(new FlopModel.Matmul("l" + l + "." + w + " x At", rows, d, rank));
          p.add(new FlopModel.Matmul("l" + l + "." + w + " (x At) Bt", rows, rank, d));
        }
      }
      p.add(new FlopModel.Matmul("head", n, d, classes));
      return p;
    }
    p.add(new FlopModel.Matmul("head dX", n, classes, d));
    for (int l = layers - 1; l >= 0; l--) {
      boolean above = l > 0;
      p.add(new FlopModel.Matmul("l" + l + ".ff2 dX", rows, d, ffn));
      p.add(new FlopModel.Matmul("l" + l + ".ff1 dX", rows, ffn, d));
      p.add(new FlopModel.Matmul("l" + l + ".o dX", rows, d, d));
      p.add(new FlopModel.Matmul("l" + l + " dP", attnRows, dh, seqLen));
      p.add(new FlopModel.Matmul("l" + l + " dV", attnRows, seqLen, dh));
      p.add(new FlopModel.Matmul("l" + l + " dQ", attnRows, seqLen, dh));
      if (above) {
        p.add(new FlopModel.Matmul("l" + l + " dK", attnRows, seqLen, dh));
        for (String w : new String[] {"q", "k", "v"}) {
          p.add(new FlopModel.Matmul("l" + l + "." + w + " dX", rows, d, d));
        }
      }
      for (String w : new String[] {"q", "v"}) {
        p.add(new FlopModel.Matmul("l" + l + "." + w + " dBt", rank, rows, d));
        p.add(new FlopModel.Matmul("l" + l + "." + w + " d(x At)", rows, d, rank));
        p.add(new FlopModel.Matmul("l" + l + "." + w + " dAt", d, rows, rank));
        if (above) {
          p.add(new FlopModel.Matmul("l" + l + "." + w + " dX via A", rows, rank, d));
        }
      }
    }
    return p;
  }

  Count count() {
    long fwd = sum(matmuls(false));
    long bwd = sum(matmuls(true));
    long rows = (long) n * seqLen;
    long attn = (long) n * heads * seqLen * seqLen;
    long perLayer = 4 * rows * d + rows * ffn + rows * d // biases
        + 7 * attn // mask, scale, softmax
        + 2 * rows * d + 2 * 8 * rows * d // residuals, LayerNorms
        + rows * ffn // ReLU
        + 2 * 2 * rows * d; // LoRA scale + add on Q, V
    long fwdElem = layers * perLayer + rows * d + 2 * rows * d + 7L * n * classes;
    long params = 2L * layers * rank * (d + d);
    return new Count(fwd, bwd, 3 * fwdElem, params);
  }

  private static long sum(List<FlopModel.Matmul> ps) {
    long s = 0;
    for (FlopModel.Matmul p : ps) {
      s += p.flops();
    }
    return s;
  }
}
