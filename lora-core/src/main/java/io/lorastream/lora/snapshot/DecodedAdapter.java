package io.lorastream.lora.snapshot;

import io.lorastream.avro.OffsetRange;
import io.lorastream.lora.adapter.AdapterState;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.Scaling;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedClassifier;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.serde.TrustedAvroClasses;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A snapshot that passed verification (checksum, signature when a key is configured, base
 * fingerprint, shapes, finiteness), with A and B as float arrays. Immutable. A consumer turns it
 * into a serving model with {@link #merge(BaseModel)}, without any training engine.
 */
public final class DecodedAdapter {
  static {
    TrustedAvroClasses.install(); // Avro >= 1.12.2 loads only trusted classes by name
  }


  private final String adapterId;
  private final long version;
  private final String baseModelId;
  private final String baseFingerprint;
  private final Instant createdAt;
  private final String trainerId;
  private final long optimizerStep;
  private final long examplesSeen;
  private final float alpha;
  private final Scaling scalingMode;
  private final List<LayerWeights> layers;
  private final List<OffsetRange> sourceOffsets;
  private final Map<String, Double> metrics;
  private final boolean signatureVerified;

  DecodedAdapter(String adapterId, long version, String baseModelId, String baseFingerprint, Instant createdAt,
      String trainerId, long optimizerStep, long examplesSeen, float alpha, Scaling scalingMode,
      List<LayerWeights> layers, List<OffsetRange> sourceOffsets, Map<String, Double> metrics, boolean signatureVerified) {
    this.adapterId = adapterId;
    this.version = version;
    this.baseModelId = baseModelId;
    this.baseFingerprint = baseFingerprint;
    this.createdAt = createdAt;
    this.trainerId = trainerId;
    this.optimizerStep = optimizerStep;
    this.examplesSeen = examplesSeen;
    this.alpha = alpha;
    this.scalingMode = scalingMode;
    this.layers = List.copyOf(layers);
    List<OffsetRange> offs = new ArrayList<>();
    for (OffsetRange r : sourceOffsets) {
      offs.add(OffsetRange.newBuilder(r).build());
    }
    this.sourceOffsets = List.copyOf(offs);
    this.metrics = Map.copyOf(metrics);
    this.signatureVerified = signatureVerified;
  }

  /**
   * Folds the adapter into {@code base}: the immutable serving model of this version.
   *
   * @throws IllegalArgumentException if base is not the model this adapter was trained for
   */
  public MergedModel merge(BaseModel base) {
    return MergedModel.merge(checked(base), deltas());
  }

  /** Folds the adapter into {@code base} with {@code engine}: host loops or the base's DJL device. */
  public MergedClassifier merge(BaseModel base, ServingEngine engine) {
    return engine.merge(checked(base), deltas());
  }

  private BaseModel checked(BaseModel base) {
    if (!base.fingerprint().equals(baseFingerprint)) {
      throw new IllegalArgumentException("adapter " + adapterId + " v" + version + " was trained for base "
          + baseFingerprint + ", not " + base.fingerprint());
    }
    return base;
  }

  private List<MergedModel.Delta> deltas() {
    return layers.stream().map(l -> new MergedModel.Delta(l.name(), l.rank(), l.scale(), l.a(), l.b())).toList();
  }

  public String adapterId() {
    return adapterId;
  }

  public long version() {
    return version;
  }

  public String baseModelId() {
    return baseModelId;
  }

  public String baseFingerprint() {
    return baseFingerprint;
  }

  public Instant createdAt() {
    return createdAt;
  }

  public String trainerId() {
    return trainerId;
  }

  public long optimizerStep() {
    return optimizerStep;
  }

  public long examplesSeen() {
    return examplesSeen;
  }

  public float alpha() {
    return alpha;
  }

  public Scaling scalingMode() {
    return scalingMode;
  }

  public List<LayerWeights> layers() {
    return layers;
  }

  /** Rank per layer in snapshot order. */
  public Map<String, Integer> ranks() {
    Map<String, Integer> m = new LinkedHashMap<>();
    for (LayerWeights l : layers) {
      m.put(l.name(), l.rank());
    }
    return m;
  }

  /** Copies of the offset ranges this snapshot covers. */
  public List<OffsetRange> sourceOffsets() {
    List<OffsetRange> out = new ArrayList<>();
    for (OffsetRange r : sourceOffsets) {
      out.add(OffsetRange.newBuilder(r).build());
    }
    return out;
  }

  public Map<String, Double> metrics() {
    return metrics;
  }

  /** Whether a signature was checked against a configured key (false when decoded without a key). */
  /** The trained state this snapshot holds, as a learner restores it. */
  public AdapterState state() {
    return new AdapterState(layers, optimizerStep, examplesSeen);
  }

  public boolean signatureVerified() {
    return signatureVerified;
  }
}
