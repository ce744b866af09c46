package io.lorastream.lora.model;

/**
 * One named parameter tensor of a base model, in the canonical order of {@link
 * ModelSpec#tensors()}: its contract shape (linear weights (out, in), everything else as used),
 * whether it belongs to a linear layer, and how {@link BaseModel#create} initializes it. The
 * device copy of a linear weight is stored transposed, (in, out), so a batch flows as
 * {@code x @ W^T} without a transpose per call; every other tensor has the same layout on host and
 * device.
 *
 * @param name parameter name, e.g. {@code l0.q.weight}, {@code tok_emb}, {@code l1.ln2.gamma}
 * @param shape contract shape
 * @param linearLayer index into {@link ModelSpec#linearLayers()}, or -1 for a non-linear tensor
 * @param isWeight for a linear layer: weight (true) or bias (false)
 * @param init initialization rule
 */
public record TensorSpec(String name, int[] shape, int linearLayer, boolean isWeight, Init init) {

  /** Initialization rules; each Gaussian one draws {@code size()} values in row-major order. */
  enum Init {
    /** N(0, 2/in): layers followed by a ReLU. */
    HE,
    /** N(0, 1/in): the output layer. */
    HEAD,
    /** N(0, 2/(in+out)): attention projections and the second FFN layer (no ReLU after them). */
    XAVIER,
    /** N(0, 0.02^2): transformer token and position embeddings (LayerNorm rescales them). */
    EMBEDDING,
    /** N(0, 1): embedding-bag rows (PyTorch's EmbeddingBag default; mean pooling shrinks them). */
    EMBEDDING_BAG,
    /** LayerNorm gamma. */
    ONES,
    /** Biases and LayerNorm beta. */
    ZEROS
  }

  static TensorSpec other(String name, Init init, int... shape) {
    return new TensorSpec(name, shape, -1, false, init);
  }

  /** Number of values. */
  public int size() {
    int n = 1;
    for (int d : shape) {
      n *= d;
    }
    return n;
  }

  /**
   * Whether this is the token-embedding table ({@code emb} of an embedding bag, {@code tok_emb} of
   * a transformer): the tensor whose rows a step touches only for the tokens in its examples.
   */
  public boolean tokenTable() {
    return name.equals("emb") || name.equals("tok_emb");
  }

  public boolean isLinearWeight() {
    return linearLayer >= 0 && isWeight;
  }

  /** Standard deviation of a Gaussian init, or NaN for a constant one. */
  double std() {
    return switch (init) {
      case HE -> Math.sqrt(2.0 / shape[1]);
      case HEAD -> Math.sqrt(1.0 / shape[1]);
      case XAVIER -> Math.sqrt(2.0 / (shape[0] + shape[1]));
      case EMBEDDING -> 0.02;
      case EMBEDDING_BAG -> 1.0;
      case ONES, ZEROS -> Double.NaN;
    };
  }

  /** Device shape: a linear weight is stored transposed, (in, out). */
  public long[] deviceShape() {
    if (isLinearWeight()) {
      return new long[] {shape[1], shape[0]};
    }
    long[] s = new long[shape.length];
    for (int i = 0; i < shape.length; i++) {
      s[i] = shape[i];
    }
    return s;
  }
}
