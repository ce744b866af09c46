package io.lorastream.trainer;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.lora.BaseModel;
import io.lorastream.lora.DecodedAdapter;
import io.lorastream.lora.SnapshotCodec;
import io.lorastream.lora.SnapshotRejectedException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the newest committed snapshot of one adapter on the compacted {@code adapters} topic: the
 * state a (re)started trainer resumes from. It reads with read_committed from the beginning up to
 * the high watermark measured when it starts, so a snapshot committed behind another producer's
 * still-open transaction is waited for rather than missed (the LSO alone would stop short of it).
 * Callers must have called {@code initTransactions()} first, which aborts their own predecessor's
 * open transaction. Every wait is bounded by the given timeout and ends in a Kafka
 * {@link TimeoutException}, after which the caller may simply read again. Snapshots that fail verification are skipped and logged; one trained on a
 * different base model stops the trainer with a fix, because silently retraining from scratch on a
 * new base is never what an operator meant.
 */
final class CommittedSnapshots {
  private static final Logger log = LoggerFactory.getLogger(CommittedSnapshots.class);

  /**
   * What was found: the newest snapshot that verifies (null when none), its decoded form, and the
   * highest version ever seen for the adapter (verified or not), from which new versions continue.
   */
  record Result(AdapterSnapshot snapshot, DecodedAdapter decoded, long maxVersion, int rejected) {
  }

  private CommittedSnapshots() {
  }

  static Result read(Map<String, Object> readCommittedProps, Map<String, Object> highWatermarkProps, String topic,
      String adapterId, Deserializer<AdapterSnapshot> deserializer, BaseModel base, byte[] hmacKeyOrNull,
      Duration timeout, BooleanSupplier cancelled) {
    Map<TopicPartition, Long> target;
    List<TopicPartition> partitions;
    try (KafkaConsumer<byte[], byte[]> hw = new KafkaConsumer<>(highWatermarkProps)) {
      List<PartitionInfo> infos = hw.partitionsFor(topic, timeout);
      if (infos == null || infos.isEmpty()) {
        throw new IllegalStateException("topic '" + topic + "' does not exist; create the lorastream topics first "
            + "(the demo and `lorastream topics` do) or set topic.adapters to the right name");
      }
      partitions = infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
      hw.assign(partitions);
      target = hw.endOffsets(partitions, timeout);
    }
    AdapterSnapshot best = null;
    DecodedAdapter bestDecoded = null;
    AdapterSnapshot otherBase = null;
    long maxVersion = 0;
    int rejected = 0;
    long deadline = System.nanoTime() + timeout.toNanos();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(readCommittedProps)) {
      c.assign(partitions);
      c.seekToBeginning(partitions);
      while (!reached(c, target)) {
        if (cancelled.getAsBoolean()) {
          throw new java.util.concurrent.CancellationException("stopped while reading committed snapshots from '"
              + topic + "'");
        }
        if (System.nanoTime() > deadline) {
          // A timeout, not a verdict: the broker may be restarting, or another producer's open
          // transaction holds the LSO back until it ends or its transaction.timeout.ms passes.
          throw new TimeoutException("could not read '" + topic + "' up to " + target + " within " + timeout
              + " (stuck at " + positions(c, partitions) + "): the broker is unreachable or another producer holds "
              + "a transaction open on it (it ends by itself within that producer's transaction.timeout.ms)");
        }
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (r.key() == null || !adapterId.equals(new String(r.key(), StandardCharsets.UTF_8))) {
            continue;
          }
          if (r.value() == null) {
            log.warn("adapter {}: tombstone at {}-{}@{}; earlier snapshots are forgotten, training restarts from the "
                + "input's beginning", adapterId, r.topic(), r.partition(), r.offset());
            best = null;
            bestDecoded = null;
            otherBase = null;
            continue;
          }
          AdapterSnapshot s;
          try {
            s = deserializer.deserialize(topic, r.value());
          } catch (RuntimeException e) {
            rejected++;
            log.error("adapter {}: unreadable snapshot record at {}-{}@{} skipped: {}", adapterId, r.topic(),
                r.partition(), r.offset(), e.getMessage());
            continue;
          }
          if (!adapterId.equals(s.getAdapterId())) {
            rejected++;
            log.error("adapter {}: record at {}-{}@{} is keyed {} but holds adapter {}; skipped", adapterId, r.topic(),
                r.partition(), r.offset(), adapterId, s.getAdapterId());
            continue;
          }
          maxVersion = Math.max(maxVersion, s.getVersion());
          if (best != null && s.getVersion() <= best.getVersion()) {
            continue;
          }
          try {
            DecodedAdapter d = SnapshotCodec.decode(s, base, hmacKeyOrNull);
            best = s;
            bestDecoded = d;
            otherBase = null;
          } catch (SnapshotRejectedException e) {
            if (e.reason() == SnapshotRejectedException.Reason.FINGERPRINT) {
              otherBase = s;
            } else {
              rejected++;
              log.error("adapter {}: committed snapshot v{} at {}-{}@{} cannot be restored and is skipped: {}",
                  adapterId, s.getVersion(), r.topic(), r.partition(), r.offset(), e.getMessage());
            }
          }
        }
      }
    }
    if (otherBase != null) {
      throw new IllegalStateException("adapter '" + adapterId + "': its latest committed snapshot v"
          + otherBase.getVersion() + " was trained on base " + otherBase.getBaseModelId() + " ("
          + otherBase.getBaseFingerprint() + ") but trainer.base is " + base.id() + " (" + base.fingerprint()
          + "). Fix: point trainer.base at the original base-model file, or train a new adapter under another "
          + "trainer.adapter.id");
    }
    return new Result(best, bestDecoded, maxVersion, rejected);
  }

  private static boolean reached(KafkaConsumer<?, ?> c, Map<TopicPartition, Long> target) {
    for (Map.Entry<TopicPartition, Long> e : target.entrySet()) {
      if (c.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  private static String positions(KafkaConsumer<?, ?> c, List<TopicPartition> partitions) {
    StringBuilder sb = new StringBuilder("{");
    for (TopicPartition tp : partitions) {
      sb.append(sb.length() > 1 ? ", " : "").append(tp).append('=').append(c.position(tp));
    }
    return sb.append('}').toString();
  }
}
