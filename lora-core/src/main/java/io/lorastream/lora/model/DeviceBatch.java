package io.lorastream.lora.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

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
    int n = check(features, labels, weights, inputSize);
    double[] p = new double[n * inputSize + n * numClasses];
    for (int i = 0; i < features.length; i++) {
      p[i] = features[i];
    }
    int off = n * inputSize;
    for (int i = 0; i < n; i++) {
      p[off + i * numClasses + label(labels, i, numClasses)] = weight(weights, i) / n;
    }
    return p;
  }

  /**
   * Packs micro-batches straight into one reused direct buffer in the learner's dtype, so a batch
   * crosses to the device in one copy, from the buffer itself: DJL takes a direct native-order
   * buffer as it is, while a heap array costs a fresh direct buffer and a copy per call (and the
   * {@code double[]} of {@link #pack} one more conversion). The buffer is overwritten by the next
   * {@link #pack}: the array made from it must be closed before then, as a micro-batch's are.
   * One packer per training thread.
   */
  public static final class Packer {
    private ByteBuffer buffer = ByteBuffer.allocateDirect(0).order(ByteOrder.nativeOrder());

    /**
     * The packed batch (features, then targets), positioned for reading, in {@code dtype}
     * (float32 or float64); same checks as {@link DeviceBatch#pack}.
     */
    public ByteBuffer pack(float[] features, int[] labels, float[] weights, int inputSize, int numClasses,
        DataType dtype) {
      int n = check(features, labels, weights, inputSize);
      boolean f64 = dtype == DataType.FLOAT64;
      if (!f64 && dtype != DataType.FLOAT32) {
        throw new IllegalArgumentException("micro-batches are packed as float32 or float64, not " + dtype);
      }
      int elements = n * inputSize + n * numClasses;
      int bytes = elements * (f64 ? 8 : 4);
      if (buffer.capacity() < bytes) {
        buffer = ByteBuffer.allocateDirect(Math.max(bytes, buffer.capacity() * 2)).order(ByteOrder.nativeOrder());
      }
      ByteBuffer b = buffer;
      b.clear();
      if (f64) {
        for (float f : features) {
          b.putDouble(f);
        }
      } else {
        b.asFloatBuffer().put(features);
        b.position(4 * features.length);
      }
      int tStart = b.position();
      for (int i = 0; i < n * numClasses; i++) {
        if (f64) {
          b.putDouble(0.0);
        } else {
          b.putFloat(0f);
        }
      }
      int width = f64 ? 8 : 4;
      for (int i = 0; i < n; i++) {
        int at = tStart + (i * numClasses + label(labels, i, numClasses)) * width;
        double w = weight(weights, i) / n;
        if (f64) {
          b.putDouble(at, w);
        } else {
          b.putFloat(at, (float) w);
        }
      }
      b.flip();
      return b;
    }
  }

  private static int check(float[] features, int[] labels, float[] weights, int inputSize) {
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
    return n;
  }

  private static int label(int[] labels, int i, int numClasses) {
    int y = labels[i];
    if (y < 0 || y >= numClasses) {
      throw new IllegalArgumentException("label " + y + " of example " + i + " is outside [0, " + numClasses + ")");
    }
    return y;
  }

  private static double weight(float[] weights, int i) {
    double w = weights == null ? 1.0 : weights[i];
    if (w < 0) {
      throw new IllegalArgumentException("weight " + w + " of example " + i + " is negative");
    }
    return w;
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
