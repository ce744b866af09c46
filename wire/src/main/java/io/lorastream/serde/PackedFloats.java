package io.lorastream.serde;

import java.util.AbstractList;
import java.util.RandomAccess;

/**
 * A read-only {@code List<Float>} over a primitive array: what the fast {@code LabeledExample}
 * reader puts in {@code features}, so that a 1024-float example costs one array instead of 1024
 * boxed values, and the trainer's assembler can copy its row with one {@code arraycopy}.
 */
public final class PackedFloats extends AbstractList<Float> implements RandomAccess {
  private final float[] values;

  PackedFloats(float[] values) {
    this.values = values;
  }

  /** The backing array itself (not a copy); callers must not modify it. */
  public float[] array() {
    return values;
  }

  public float getFloat(int i) {
    return values[i];
  }

  @Override
  public Float get(int i) {
    return values[i];
  }

  @Override
  public int size() {
    return values.length;
  }
}
