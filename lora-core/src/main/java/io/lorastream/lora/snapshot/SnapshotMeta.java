package io.lorastream.lora.snapshot;

import io.lorastream.avro.OffsetRange;
import io.lorastream.lora.train.OnlineLearner;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Everything a snapshot carries besides the adapter weights: identity, version, provenance and
 * the input offsets it covers. When encoding from an {@link OnlineLearner}, optimizerStep and
 * examplesSeen are taken from the learner instead.
 *
 * @param adapterId adapter (task) id
 * @param version strictly increasing per adapter id (the trainer's responsibility)
 * @param trainerId producing trainer instance
 * @param createdAt creation time (stored with millisecond precision)
 * @param optimizerStep optimizer steps applied
 * @param examplesSeen examples consumed so far, cumulative across restarts
 * @param sourceOffsets input offset ranges this snapshot covers
 * @param metrics training metrics, e.g. loss_ema, grad_norm
 */
public record SnapshotMeta(
    String adapterId,
    long version,
    String trainerId,
    Instant createdAt,
    long optimizerStep,
    long examplesSeen,
    List<OffsetRange> sourceOffsets,
    Map<String, Double> metrics) {

  public SnapshotMeta {
    if (adapterId == null || adapterId.isEmpty()) {
      throw new IllegalArgumentException("SnapshotMeta.adapterId must be non-empty");
    }
    if (trainerId == null) {
      throw new IllegalArgumentException("SnapshotMeta.trainerId must be set");
    }
    if (createdAt == null) {
      throw new IllegalArgumentException("SnapshotMeta.createdAt must be set");
    }
    if (version < 0 || optimizerStep < 0 || examplesSeen < 0) {
      throw new IllegalArgumentException("SnapshotMeta version/optimizerStep/examplesSeen must be >= 0");
    }
    sourceOffsets = List.copyOf(sourceOffsets == null ? List.of() : sourceOffsets);
    metrics = Map.copyOf(metrics == null ? Map.of() : metrics);
  }

  /** Meta created now, with no progress, offsets or metrics. */
  public static SnapshotMeta of(String adapterId, long version, String trainerId) {
    return new SnapshotMeta(adapterId, version, trainerId, Instant.now(), 0, 0, List.of(), Map.of());
  }

  public SnapshotMeta withCreatedAt(Instant t) {
    return new SnapshotMeta(adapterId, version, trainerId, t, optimizerStep, examplesSeen, sourceOffsets, metrics);
  }

  public SnapshotMeta withProgress(long step, long seen) {
    return new SnapshotMeta(adapterId, version, trainerId, createdAt, step, seen, sourceOffsets, metrics);
  }

  public SnapshotMeta withSourceOffsets(List<OffsetRange> ranges) {
    return new SnapshotMeta(adapterId, version, trainerId, createdAt, optimizerStep, examplesSeen, ranges, metrics);
  }

  public SnapshotMeta withMetrics(Map<String, Double> m) {
    return new SnapshotMeta(adapterId, version, trainerId, createdAt, optimizerStep, examplesSeen, sourceOffsets, m);
  }
}
