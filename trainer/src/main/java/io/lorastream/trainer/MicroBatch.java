package io.lorastream.trainer;

/**
 * One micro-batch ready for the learner, in the host layout the learner copies to the device in a
 * single transfer: {@code features} is row-major {@code (size, featureSize)}, {@code labels} has
 * {@code size} entries and {@code weights} is null when every example has weight 1.
 */
public record MicroBatch(float[] features, int[] labels, float[] weights, int size, int featureSize) {
  public MicroBatch {
    if (features.length != size * featureSize || labels.length != size || (weights != null && weights.length != size)) {
      throw new IllegalArgumentException("inconsistent micro-batch: " + size + " rows of " + featureSize
          + " features, got " + features.length + " floats, " + labels.length + " labels");
    }
  }
}
