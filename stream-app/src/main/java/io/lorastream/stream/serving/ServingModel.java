package io.lorastream.stream.serving;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.OffsetRange;
import io.lorastream.lora.model.MergedClassifier;
import io.lorastream.serde.TrustedAvroClasses;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One adapter version ready to serve: the merged weights together with the identity of the
 * version they came from. Immutable, so a request thread that reads the active instance once
 * computes its whole prediction with exactly one version and can name that version truthfully
 * (invariant 5); swapping versions replaces the one reference that points at an instance. Version
 * 0 is the frozen base with no adapter. Also the evaluator's {@link ScoringModel}.
 */
public final class ServingModel implements ScoringModel {
  static {
    TrustedAvroClasses.install(); // Avro >= 1.12.2 loads only trusted classes by name
  }

  private final String adapterId;
  private final long version;
  private final MergedClassifier model;
  private final long activatedAtMillis;
  private final long createdAtMillis;
  private final List<OffsetRange> sourceOffsets; // private copies; handed out as copies (Avro records are mutable)

  ServingModel(String adapterId, long version, MergedClassifier model, long activatedAtMillis, long createdAtMillis,
      List<OffsetRange> sourceOffsets) {
    this.adapterId = adapterId;
    this.version = version;
    this.model = model;
    this.activatedAtMillis = activatedAtMillis;
    this.createdAtMillis = createdAtMillis;
    this.sourceOffsets = copy(sourceOffsets);
  }

  /** The same version, activated at {@code millis} (a rollout serves a version again later). */
  ServingModel activatedAt(long millis) {
    return new ServingModel(adapterId, version, model, millis, createdAtMillis, sourceOffsets);
  }

  /** A verified version merged outside a swapper (the rollout gate scores such models). */
  public static ServingModel of(String adapterId, long version, MergedClassifier model, List<OffsetRange> sourceOffsets) {
    return new ServingModel(adapterId, version, model, System.currentTimeMillis(), 0, sourceOffsets);
  }

  /** The frozen base serving as version 0 of {@code adapterId}. */
  public static ServingModel base(String adapterId, MergedClassifier base, long activatedAtMillis) {
    return new ServingModel(adapterId, 0, base, activatedAtMillis, 0, List.of());
  }

  public String adapterId() {
    return adapterId;
  }

  /** Adapter version; 0 for the frozen base. */
  @Override
  public long version() {
    return version;
  }

  /** The merged, thread-safe weights. */
  public MergedClassifier model() {
    return model;
  }

  /** Which engine serves this version: {@code java} or {@code djl:<device>}. */
  public String engine() {
    return model.engine();
  }

  /** Frees what the version holds on a device once in-flight requests finish (it left the history). */
  @Override
  public void retire() {
    if (!isBase()) {
      model.retire();
    }
  }

  /** When this version became the active one in this process (epoch millis). */
  public long activatedAtMillis() {
    return activatedAtMillis;
  }

  /** When the trainer built the snapshot (epoch millis); 0 for the frozen base. */
  public long createdAtMillis() {
    return createdAtMillis;
  }

  /** Input offset ranges the snapshot was trained on since its predecessor (copies). */
  public List<OffsetRange> sourceOffsets() {
    return copy(sourceOffsets);
  }

  /** Rank per adapted layer; empty for the frozen base. */
  public Map<String, Integer> ranks() {
    return model.ranks();
  }

  public boolean isBase() {
    return version == 0;
  }

  public int inputSize() {
    return model.inputSize();
  }

  public int numClasses() {
    return model.numClasses();
  }

  /** Vocabulary size of a text model; 0 for dense models. */
  public int vocabSize() {
    return model.vocabSize();
  }

  /** Whether the model reads token ids (text models) rather than dense features. */
  public boolean tokenInput() {
    return model.tokenInput();
  }

  /** Class probabilities for one model input row (dense features, or token ids as floats for text models). */
  public float[] predictProba(float[] row) {
    return model.predictProba(row);
  }

  /** The model input row of token ids: the first {@code inputSize()} ids, padded with 0 (PAD). */
  public float[] tokenRow(List<Integer> tokens) {
    float[] x = new float[model.inputSize()];
    io.lorastream.lora.model.TokenRows.fill(tokens, x, 0, x.length);
    return x;
  }

  /** Arg-max class of a labeled example's dense features or tokens (what the prequential evaluator needs). */
  @Override
  public int predict(LabeledExample example) {
    if (model.tokenInput()) {
      return model.predict(tokenRow(example.getTokens()));
    }
    List<Float> f = example.getFeatures();
    float[] x = new float[f.size()];
    for (int i = 0; i < x.length; i++) {
      x[i] = f.get(i);
    }
    return model.predict(x);
  }

  private static List<OffsetRange> copy(List<OffsetRange> in) {
    List<OffsetRange> out = new ArrayList<>(in.size());
    for (OffsetRange r : in) {
      out.add(OffsetRange.newBuilder(r).build());
    }
    return List.copyOf(out);
  }

  @Override
  public String toString() {
    return "ServingModel{" + adapterId + " v" + version + ", ranks=" + ranks() + ", activatedAt=" + activatedAtMillis + "}";
  }
}
