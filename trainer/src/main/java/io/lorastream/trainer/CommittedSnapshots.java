package io.lorastream.trainer;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.kafka.ChunkedValues;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.snapshot.AdapterDeletion;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotRejectedException;
import io.lorastream.registry.RegistryException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
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
 * {@link TimeoutException} (or {@link RegistryUnavailable} when the registry does not answer),
 * after which the caller may simply read again: an outage is never taken for bad data. Records
 * that really are bad (undecodable bytes, checksum or signature failure) are skipped and logged,
 * and the newest valid snapshot before them is restored. Tombstones are classified by
 * {@link AdapterDeletion}: with a signing key only signed deletions count. One trained on a
 * different base model stops the trainer with a fix, because silently retraining from scratch on a
 * new base is never what an operator meant.
 */
final class CommittedSnapshots {
  private static final Logger log = LoggerFactory.getLogger(CommittedSnapshots.class);

  /**
   * What was found: the newest snapshot that verifies and is not deleted (null when none), its
   * decoded form, the highest version the adapter ever used (by its own snapshots, corrupt ones
   * and authentic deletions, never by records whose signature fails), from which new versions
   * continue, the records that could not be restored, the tombstones ignored as unauthentic, and
   * whether such a tombstone is the newest record after the restored snapshot: compaction would
   * then drop that snapshot, so the trainer commits a successor right away.
   */
  record Result(AdapterSnapshot snapshot, DecodedAdapter decoded, long maxVersion, int rejected, int ignoredDeletions,
      boolean supersedeDeletion) {
  }

  /**
   * The schema registry did not answer while a snapshot was being decoded: an outage, never a
   * verdict on the record. The caller waits and reads again; nothing may be skipped or reset.
   */
  static final class RegistryUnavailable extends RuntimeException {
    RegistryUnavailable(String message, Throwable cause) {
      super(message, cause);
    }
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
    long deletedThrough = 0;
    int rejected = 0;
    int forgedDeletions = 0;
    boolean ignoredAfterBest = false;
    long deadline = System.nanoTime() + timeout.toNanos();
    ChunkedValues.Assembler parts = new ChunkedValues.Assembler();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(readCommittedProps)) {
      c.assign(partitions);
      c.seekToBeginning(partitions);
      while (!reached(c, target)) {
        if (cancelled.getAsBoolean()) {
          throw new CancellationException("stopped while reading committed snapshots from '"
              + topic + "'");
        }
        if (System.nanoTime() > deadline) {
          // A timeout, not a verdict: the broker may be restarting, or another producer's open
          // transaction holds the LSO back until it ends or its transaction.timeout.ms passes.
          throw new TimeoutException("could not read '" + topic + "' up to " + target + " within " + timeout
              + " (stuck at " + positions(c, partitions) + "): the broker is unreachable or another producer holds "
              + "a transaction open on it (it ends by itself within that producer's transaction.timeout.ms)");
        }
        for (ConsumerRecord<byte[], byte[]> raw : c.poll(Duration.ofMillis(200))) {
          if (!adapterId.equals(ChunkedValues.valueKey(raw.key()))) {
            continue;
          }
          ChunkedValues.Assembler.Offered whole = parts.offer(raw);
          if (whole.record() == null) {
            if (whole.missing() != null) {
              log.info("adapter {}: snapshot at {}-{}@{} skipped: {}", adapterId, raw.topic(), raw.partition(),
                  raw.offset(), whole.missing());
            }
            continue;
          }
          ConsumerRecord<byte[], byte[]> r = whole.record();
          if (r.value() == null) {
            AdapterDeletion.Verdict v = AdapterDeletion.classify(adapterId, r.headers(), hmacKeyOrNull);
            String where = r.topic() + "-" + r.partition() + "@" + r.offset();
            if (v.honoured()) {
              long through = v.coveredThrough(maxVersion);
              deletedThrough = Math.max(deletedThrough, through);
              maxVersion = Math.max(maxVersion, through);
              if (v.kind() == AdapterDeletion.Kind.UNAUTHENTICATED) {
                log.error("adapter {}: a bare tombstone at {} deletes every snapshot before it (newest v{}); the "
                    + "adapter is retrained from the input's beginning and new versions continue after v{}. If this "
                    + "deletion was not intended, someone can write to '{}' without authentication: set {} on the "
                    + "trainer and every consumer so that only `lorastream adapters delete` can delete, and restrict "
                    + "Write on the topic with ACLs", adapterId, where, best == null ? maxVersion : best.getVersion(),
                    maxVersion, topic, "trainer.hmac.key / inference.hmac.key");
              } else {
                log.warn("adapter {}: {} at {}", adapterId, v.detail(), where);
              }
              if (best != null && best.getVersion() <= deletedThrough) {
                best = null;
                bestDecoded = null;
              }
              if (otherBase != null && otherBase.getVersion() <= deletedThrough) {
                otherBase = null;
              }
              ignoredAfterBest = false;
            } else {
              forgedDeletions++;
              ignoredAfterBest = best != null;
              log.error("adapter {}: ignored a deletion at {}: {}; it is not authentic, so the snapshots before it "
                  + "stay valid ({} ignored deletion(s) so far)", adapterId, where, v.detail(), forgedDeletions);
            }
            continue;
          }
          AdapterSnapshot s;
          try {
            s = deserializer.deserialize(topic, r.headers(), r.value());
          } catch (RuntimeException e) {
            if (RegistryException.isOutage(e)) {
              // Says nothing about the record: only the registry can tell what it holds.
              throw new RegistryUnavailable("cannot decode the snapshot at " + r.topic() + "-" + r.partition() + "@"
                  + r.offset() + " while the schema registry is unavailable: " + e.getMessage(), e);
            }
            rejected++;
            log.error("adapter {}: undecodable snapshot record at {}-{}@{} skipped: {}", adapterId, r.topic(),
                r.partition(), r.offset(), e.getMessage());
            continue;
          }
          if (s == null || !adapterId.equals(s.getAdapterId())) {
            rejected++;
            log.error("adapter {}: record at {}-{}@{} is keyed {} but holds adapter {}; skipped", adapterId, r.topic(),
                r.partition(), r.offset(), adapterId, s == null ? null : s.getAdapterId());
            continue;
          }
          if (s.getVersion() <= deletedThrough) {
            continue; // written before a deletion that covers it (or a stale copy of a deleted version)
          }
          if (best != null && s.getVersion() <= best.getVersion()) {
            maxVersion = Math.max(maxVersion, s.getVersion());
            continue;
          }
          try {
            DecodedAdapter d = SnapshotCodec.decode(s, base, hmacKeyOrNull);
            maxVersion = Math.max(maxVersion, s.getVersion());
            best = s;
            bestDecoded = d;
            otherBase = null;
            ignoredAfterBest = false;
          } catch (SnapshotRejectedException e) {
            SnapshotRejectedException.Reason why = e.reason();
            if (why != SnapshotRejectedException.Reason.UNSIGNED && why != SnapshotRejectedException.Reason.BAD_SIGNATURE) {
              // Corrupt, but ours: its version was used. Unauthenticated records cannot claim versions.
              maxVersion = Math.max(maxVersion, s.getVersion());
            }
            if (why == SnapshotRejectedException.Reason.FINGERPRINT) {
              otherBase = s;
            } else {
              rejected++;
              log.error("adapter {}: committed snapshot v{} at {}-{}@{} cannot be restored and is skipped (the newest "
                  + "valid snapshot before it is restored instead): {}", adapterId, s.getVersion(), r.topic(),
                  r.partition(), r.offset(), e.getMessage());
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
    return new Result(best, bestDecoded, Math.max(maxVersion, deletedThrough), rejected, forgedDeletions,
        ignoredAfterBest && best != null);
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
