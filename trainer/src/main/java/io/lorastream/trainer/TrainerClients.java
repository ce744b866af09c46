package io.lorastream.trainer;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Kafka client settings of the trainer. Every {@code kafka.*} pass-through setting (bootstrap,
 * security, SASL credentials, tuning) goes to every client first; then the settings the
 * exactly-once design depends on are forced on top, because letting an operator override, say,
 * the isolation level would silently break invariant 3. The maps may hold credentials: never log
 * them (Kafka's own config dump hides password-typed values).
 */
public final class TrainerClients {
  /** Large enough for a snapshot of any adapter the compacted topic accepts (16 MiB, see TopicCatalog). */
  static final int MAX_SNAPSHOT_REQUEST_BYTES = 16 * 1024 * 1024 + 64 * 1024;

  private TrainerClients() {
  }

  /**
   * The bound of one blocking read at (re)start: the operator's {@code default.api.timeout.ms}
   * (Kafka's own default, 60 s, when unset). A read that times out is retried, so this only sets
   * how soon a stall shows in the status, never how long an outage the trainer survives.
   *
   * @throws io.lorastream.config.ConfigException naming {@code kafka.default.api.timeout.ms} when it
   *     is not a positive integer
   */
  public static java.time.Duration apiTimeout(Map<String, String> kafka) {
    return millis(kafka, ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000);
  }

  /**
   * The producer's {@code max.block.ms} (Kafka's default, 60 s, when unset): how long one
   * transactional call may block, and how long a closing trainer still waits for a snapshot's
   * acknowledgements before it gives up its final snapshot.
   *
   * @throws io.lorastream.config.ConfigException naming {@code kafka.max.block.ms} when it is not a
   *     positive integer
   */
  public static java.time.Duration maxBlock(Map<String, String> kafka) {
    return millis(kafka, ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000);
  }

  private static java.time.Duration millis(Map<String, String> kafka, String key, long dflt) {
    String v = kafka.get(key);
    if (v == null || v.isBlank()) {
      return java.time.Duration.ofMillis(dflt);
    }
    try {
      long ms = Long.parseLong(v.trim());
      if (ms > 0) {
        return java.time.Duration.ofMillis(ms);
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new io.lorastream.config.ConfigException("kafka." + key, "Invalid setting 'kafka." + key + "': '" + v
        + "' is not a positive number of milliseconds. Fix: remove it (default " + dflt + ") or set e.g. 30000.");
  }

  /** The input consumer: read_committed, manual offsets (they are committed inside snapshot transactions). */
  public static Map<String, Object> inputConsumer(Map<String, String> kafka, TrainerConfig cfg) {
    Map<String, Object> p = new HashMap<>(kafka);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, cfg.groupId());
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, cfg.trainerId() + "-input");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, IsolationLevel.READ_COMMITTED.toString());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    // Kafka's fetch defaults (1 MiB per partition per fetch, 500 records per poll) cap the trainer
    // below its step at large micro-batches: at b=512 it waited on the network for half its time.
    // A kafka.* setting of the user's still wins.
    p.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(Math.max(500, 4 * cfg.microBatchSize())));
    p.putIfAbsent(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(8 << 20));
    p.putIfAbsent(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(64 << 20));
    return p;
  }

  /**
   * A fetcher's consumer ({@link PartitionFetchers}): the input consumer's settings, with polls of
   * one micro-batch (at least 500 records) unless {@code kafka.max.poll.records} says otherwise, so
   * that the polls queued ahead of the trainer hold a few micro-batches, not a few times four.
   */
  public static Map<String, Object> fetcherConsumer(Map<String, String> kafka, TrainerConfig cfg) {
    Map<String, Object> p = inputConsumer(kafka, cfg);
    if (!kafka.containsKey(ConsumerConfig.MAX_POLL_RECORDS_CONFIG)) {
      p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(Math.max(500, cfg.microBatchSize())));
    }
    return p;
  }

  /**
   * The snapshot reader used at startup: read_committed, no group (it only ever assigns), so that
   * aborted snapshots of a crashed predecessor are invisible.
   */
  public static Map<String, Object> snapshotReader(Map<String, String> kafka, TrainerConfig cfg, boolean readCommitted) {
    Map<String, Object> p = new HashMap<>(kafka);
    p.remove(ConsumerConfig.GROUP_ID_CONFIG);
    p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, cfg.trainerId() + (readCommitted ? "-restore" : "-restore-hw"));
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG,
        (readCommitted ? IsolationLevel.READ_COMMITTED : IsolationLevel.READ_UNCOMMITTED).toString());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    return p;
  }

  /**
   * The transactional producer. Its transactional.id is stable per adapter, so starting a trainer
   * fences any previous instance of the same adapter and aborts the transaction it left open.
   */
  public static Map<String, Object> producer(Map<String, String> kafka, TrainerConfig cfg) {
    Map<String, Object> p = new HashMap<>(kafka);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, cfg.trainerId() + "-producer");
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, cfg.transactionalId());
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, MAX_SNAPSHOT_REQUEST_BYTES);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return p;
  }
}
