package io.lorastream.lora.adapter;

/**
 * The trained low-rank update of one layer, as published and restored: {@code W' = W + s * B * A}.
 * Immutable (the arrays are copied in and out).
 *
 * @param a A, row-major (rank x in)
 * @param b B, row-major (out x rank)
 */
public record LayerWeights(String name, int rank, int in, int out, float alpha, Scaling scaling, float[] a, float[] b) {
  public LayerWeights {
    a = a.clone();
    b = b.clone();
  }

  /** The layer's LoRA scale s. */
  public double scale() {
    return AdapterConfig.scale(alpha, scaling, rank);
  }

  @Override
  public float[] a() {
    return a.clone();
  }

  @Override
  public float[] b() {
    return b.clone();
  }
}
