package io.lorastream.trainer;

import io.lorastream.avro.LabeledExample;
import java.util.List;

/**
 * Validates examples and packs them, row by row, into the flat arrays of one {@link MicroBatch}.
 * Packing into one row-major {@code float[]} (instead of one tensor per example) is what lets the
 * learner do a single host→device copy per micro-batch. A record the base model cannot consume
 * (wrong feature width, non-finite value, label out of range, negative or non-finite weight) is
 * rejected with a reason before it takes a row, so one bad record never poisons a batch.
 *
 * <p>For a text base ({@link #forTokens}) a row is the example's token ids as floats, truncated to
 * the model's sequence length and padded with 0 (PAD), the input contract of lora-core's text
 * models; ids outside {@code [0, vocabSize)} are rejected. Truncation is not an error: long emails
 * are cut to the window the model reads, as at pretraining.
 */
public final class MicroBatchAssembler {
  private final int capacity;
  private final int featureSize;
  private final int numClasses;
  private final int vocabSize; // > 0: rows are token ids
  private float[] features;
  private int[] labels;
  private float[] weights;
  private boolean weighted;
  private int size;

  public MicroBatchAssembler(int capacity, int featureSize, int numClasses) {
    this(capacity, featureSize, numClasses, 0);
  }

  private MicroBatchAssembler(int capacity, int featureSize, int numClasses, int vocabSize) {
    if (capacity < 1 || featureSize < 1 || numClasses < 2) {
      throw new IllegalArgumentException("capacity, featureSize >= 1 and numClasses >= 2 required");
    }
    this.capacity = capacity;
    this.featureSize = featureSize;
    this.numClasses = numClasses;
    this.vocabSize = vocabSize;
    reset();
  }

  /** An assembler for a text model reading {@code seqLen} token ids from a vocabulary of {@code vocabSize}. */
  public static MicroBatchAssembler forTokens(int capacity, int seqLen, int numClasses, int vocabSize) {
    if (vocabSize < 2) {
      throw new IllegalArgumentException("vocabSize must be >= 2, got " + vocabSize);
    }
    return new MicroBatchAssembler(capacity, seqLen, numClasses, vocabSize);
  }

  /** The assembler matching a base model: token rows for text models, dense rows otherwise. */
  public static MicroBatchAssembler forModel(int capacity, io.lorastream.lora.model.BaseModel base) {
    return base.tokenInput()
        ? forTokens(capacity, base.inputSize(), base.numClasses(), base.vocabSize())
        : new MicroBatchAssembler(capacity, base.inputSize(), base.numClasses());
  }

  /** Whether rows are token ids (a text model) rather than dense features. */
  public boolean readsTokens() {
    return vocabSize > 0;
  }

  /** Why {@code e} cannot be trained by this base model, or null when it can. */
  public String rejectReason(LabeledExample e) {
    String reason = vocabSize > 0 ? tokensRejectReason(e.getTokens()) : featuresRejectReason(e.getFeatures());
    if (reason != null) {
      return reason;
    }
    if (e.getLabel() < 0 || e.getLabel() >= numClasses) {
      return "label " + e.getLabel() + " outside [0, " + numClasses + ")";
    }
    Float w = e.getWeight();
    if (w != null && (!Float.isFinite(w) || w < 0f)) {
      return "weight " + w + " is not a finite non-negative number";
    }
    return null;
  }

  private String tokensRejectReason(List<Integer> t) {
    if (t == null) {
      return "no tokens";
    }
    int i = io.lorastream.lora.model.TokenRows.firstInvalid(t, vocabSize);
    return i < 0 ? null : "token id " + t.get(i) + " outside [0, " + vocabSize + ")";
  }

  private String featuresRejectReason(List<Float> f) {
    if (f == null || f.size() != featureSize) {
      return "feature size " + (f == null ? 0 : f.size()) + " != " + featureSize;
    }
    if (f instanceof io.lorastream.serde.PackedFloats p) { // decoded by the fast reader: no boxing
      for (float v : p.array()) {
        if (!Float.isFinite(v)) {
          return "non-finite feature value";
        }
      }
      return null;
    }
    for (Float v : f) {
      if (v == null || !Float.isFinite(v)) {
        return "non-finite feature value";
      }
    }
    return null;
  }

  /** Appends a valid example (check {@link #rejectReason} first); returns true when the batch is full. */
  public boolean add(LabeledExample e) {
    String reason = rejectReason(e);
    if (reason != null) {
      throw new IllegalArgumentException("example " + e.getId() + " rejected: " + reason);
    }
    return addChecked(e);
  }

  /**
   * Appends an example that {@link #rejectReason} has already passed, without checking it again:
   * the trainer validates each record once, when it classifies it.
   */
  boolean addChecked(LabeledExample e) {
    if (size == capacity) {
      throw new IllegalStateException("micro-batch already full; drain it first");
    }
    int base = size * featureSize;
    if (vocabSize > 0) {
      io.lorastream.lora.model.TokenRows.fill(e.getTokens(), features, base, featureSize);
    } else {
      List<Float> f = e.getFeatures();
      if (f instanceof io.lorastream.serde.PackedFloats p) {
        System.arraycopy(p.array(), 0, features, base, featureSize);
      } else {
        for (int j = 0; j < featureSize; j++) {
          features[base + j] = f.get(j);
        }
      }
    }
    labels[size] = e.getLabel();
    float w = e.getWeight() == null ? 1f : e.getWeight();
    weights[size] = w;
    weighted |= w != 1f;
    size++;
    return size == capacity;
  }

  public int size() {
    return size;
  }

  public int capacity() {
    return capacity;
  }

  public boolean isFull() {
    return size == capacity;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  /**
   * Hands out the rows collected so far (fewer than the capacity only when flushing at shutdown)
   * and starts a new batch. Arrays are handed over, not copied, so the next batch gets fresh ones.
   */
  public MicroBatch drain() {
    if (size == 0) {
      throw new IllegalStateException("empty micro-batch");
    }
    MicroBatch b;
    if (size == capacity) {
      b = new MicroBatch(features, labels, weighted ? weights : null, size, featureSize);
    } else {
      b = new MicroBatch(java.util.Arrays.copyOf(features, size * featureSize), java.util.Arrays.copyOf(labels, size),
          weighted ? java.util.Arrays.copyOf(weights, size) : null, size, featureSize);
    }
    reset();
    return b;
  }

  /** Drops the rows collected so far (after a rollback they are read again from Kafka). */
  public void clear() {
    reset();
  }

  private void reset() {
    features = new float[capacity * featureSize];
    labels = new int[capacity];
    weights = new float[capacity];
    weighted = false;
    size = 0;
  }
}
