package io.lorastream.lora.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Host-side packing of a micro-batch into ONE buffer, so it crosses host->device in one copy:
 * features (n x in) followed by a target matrix (n x C) holding {@code w_i / n} at each example's
 * label. With that target matrix the mean weighted cross-entropy is a single
 * {@code -sum(targets * logSoftmax(logits))}, with no label gather on the device.
 */
public record DeviceBatch(NDArray x, NDArray targets) {

  /**
   * Packs and validates a micro-batch.
   *
   * @throws IllegalArgumentException on length mismatch, label out of range, or a negative weight
   */
  public static double[] pack(float[] features, int[] labels, float[] weights, int inputSize, int numClasses) {
    int n = labels == null ? 0 : labels.length;
    if (n == 0) {
      throw new IllegalArgumentException("micro-batch is empty");
    }
    if (features == null || features.length != n * inputSize) {
      throw new IllegalArgumentException("micro-batch of " + n + " examples needs " + n * inputSize
          + " features (" + inputSize + " each), got " + (features == null ? "null" : features.length));
    }
    if (weights != null && weights.length != n) {
      throw new IllegalArgumentException("micro-batch of " + n + " examples needs " + n + " weights, got " + weights.length);
    }
    double[] p = new double[n * inputSize + n * numClasses];
    for (int i = 0; i < features.length; i++) {
      p[i] = features[i];
    }
    int off = n * inputSize;
    for (int i = 0; i < n; i++) {
      int y = labels[i];
      if (y < 0 || y >= numClasses) {
        throw new IllegalArgumentException("label " + y + " of example " + i + " is outside [0, " + numClasses + ")");
      }
      double w = weights == null ? 1.0 : weights[i];
      if (w < 0) {
        throw new IllegalArgumentException("weight " + w + " of example " + i + " is negative");
      }
      p[off + i * numClasses + y] = w / n;
    }
    return p;
  }

  /** Views x and targets inside the packed device array (no copy). */
  public static DeviceBatch view(NDArray packed, int n, int inputSize, int numClasses) {
    int split = n * inputSize;
    // Programmatic slices: a string index would be built and parsed on every micro-batch.
    NDArray x = packed.get(new NDIndex().addSliceDim(0, split)).reshape(new Shape(n, inputSize));
    NDArray t = packed.get(new NDIndex().addSliceDim(split, split + (long) n * numClasses)).reshape(new Shape(n, numClasses));
    return new DeviceBatch(x, t);
  }

  /** True when every feature and weight is finite (checked on the host before any device work). */
  public static boolean finite(float[] features, float[] weights) {
    for (float f : features) {
      if (!Float.isFinite(f)) {
        return false;
      }
    }
    if (weights != null) {
      for (float w : weights) {
        if (!Float.isFinite(w)) {
          return false;
        }
      }
    }
    return true;
  }
}
