package io.lorastream.trainer;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.OffsetRange;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import io.lorastream.lora.snapshot.SnapshotRejectedException;
import io.lorastream.lora.train.OnlineLearner;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Turns a cut of the learner into the bytes of one snapshot transaction: the snapshot (checked as
 * a consumer would check it, with the same key, before anything is sent) and its metric records.
 */
final class SnapshotEncoder {
  /** The learner's state fails the consumer's checks (e.g. non-finite weights): publish nothing, roll back. */
  static final class Unpublishable extends RuntimeException {
    Unpublishable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** One encoded cut; {@code verified} becomes the committed state once the transaction commits. */
  record Encoded(DecodedAdapter verified, byte[] snapshot, List<byte[]> metrics) {
  }

  private final String adapterId;
  private final String trainerId;
  private final BaseModel base;
  private final byte[] hmacKey;
  private final String adaptersTopic;
  private final String metricsTopic;
  private final Serializer<AdapterSnapshot> snapshotSerializer;
  private final Serializer<PipelineMetric> metricSerializer;

  SnapshotEncoder(String adapterId, String trainerId, BaseModel base, byte[] hmacKey, String adaptersTopic,
      String metricsTopic, Serializer<AdapterSnapshot> snapshotSerializer, Serializer<PipelineMetric> metricSerializer) {
    this.adapterId = adapterId;
    this.trainerId = trainerId;
    this.base = base;
    this.hmacKey = hmacKey;
    this.adaptersTopic = adaptersTopic;
    this.metricsTopic = metricsTopic;
    this.snapshotSerializer = snapshotSerializer;
    this.metricSerializer = metricSerializer;
  }

  /**
   * @throws Unpublishable when the snapshot would be rejected by a consumer
   * @throws RuntimeException from the serializers (e.g. the registry is away): nothing was sent,
   *     the caller may simply try again later
   */
  Encoded encode(OnlineLearner learner, OffsetTracker.Cut cut, SnapshotMetrics.Values values, long wallMillis) {
    List<OffsetRange> ranges = new ArrayList<>();
    for (OffsetTracker.Range r : cut.ranges()) {
      ranges.add(OffsetRange.newBuilder().setTopic(r.partition().topic()).setPartition(r.partition().partition())
          .setFromOffset(r.from()).setUntilOffset(r.until()).build());
    }
    SnapshotMeta meta = new SnapshotMeta(adapterId, values.version(), trainerId, Instant.ofEpochMilli(wallMillis), 0, 0,
        ranges, SnapshotMetrics.snapshotMap(values));
    AdapterSnapshot snapshot;
    DecodedAdapter verified;
    try {
      snapshot = SnapshotCodec.encode(learner, meta, hmacKey);
      verified = SnapshotCodec.decode(snapshot, base, hmacKey);
    } catch (IllegalStateException | SnapshotRejectedException e) {
      throw new Unpublishable(e.getMessage(), e);
    }
    byte[] value = snapshotSerializer.serialize(adaptersTopic, snapshot);
    List<byte[]> metrics = new ArrayList<>();
    for (PipelineMetric m : SnapshotMetrics.records(adapterId, trainerId, wallMillis, values, value.length)) {
      metrics.add(metricSerializer.serialize(metricsTopic, m));
    }
    return new Encoded(verified, value, metrics);
  }
}
