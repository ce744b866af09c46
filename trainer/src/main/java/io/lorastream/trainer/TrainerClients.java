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
