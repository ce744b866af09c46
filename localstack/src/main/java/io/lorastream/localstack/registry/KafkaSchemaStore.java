package io.lorastream.localstack.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lorastream.registry.CompatibilityLevel;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A schema store on a compacted, single-partition Kafka topic ({@code _schemas} by default),
 * created on first use. Records use Confluent's layout, a JSON key naming the entry
 * ({@code {"keytype":"SCHEMA","subject":..,"version":..,"magic":1}} or
 * {@code {"keytype":"CONFIG","subject":..,"magic":0}}) and a JSON value (null for a removal), so
 * compaction keeps exactly the latest state of every version and config. Each append waits for the
 * broker's acknowledgement; replay reads the topic from the beginning up to its end offset.
 * Record types it does not know (Confluent's NOOP, MODE, ...) are skipped.
 */
public final class KafkaSchemaStore implements SchemaStore {
  private static final Logger log = LoggerFactory.getLogger(KafkaSchemaStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String topic;
  private final Map<String, Object> clientConfig;
  private final Duration timeout;
  private final short replicationFactor;
  private KafkaProducer<byte[], byte[]> producer;

  /**
   * @param bootstrapServers the Kafka cluster
   * @param topic the store topic, usually {@code _schemas}
   * @param clientOverrides extra client settings (e.g. security) applied to admin, consumer and producer
   * @param replicationFactor replication factor used when the topic has to be created
   * @param timeout bound on each start-up step and on each append
   */
  public KafkaSchemaStore(String bootstrapServers, String topic, Map<String, ?> clientOverrides,
      short replicationFactor, Duration timeout) {
    this.topic = topic;
    this.timeout = timeout;
    this.replicationFactor = replicationFactor;
    Map<String, Object> c = new HashMap<>(clientOverrides);
    c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    this.clientConfig = c;
  }

  /** A store on {@code _schemas} with replication factor 1 and a 30 s bound, for local clusters. */
  public static KafkaSchemaStore local(String bootstrapServers) {
    return local(bootstrapServers, Map.of());
  }

  /** As {@link #local(String)}, with extra client settings such as SASL credentials. */
  public static KafkaSchemaStore local(String bootstrapServers, Map<String, ?> clientOverrides) {
    return new KafkaSchemaStore(bootstrapServers, "_schemas", clientOverrides, (short) 1, Duration.ofSeconds(30));
  }

  public String topic() {
    return topic;
  }

  @Override
  public synchronized List<StoreEntry> replay() {
    ensureTopic();
    List<StoreEntry> out = new ArrayList<>();
    Map<String, Object> cc = new HashMap<>(clientConfig);
    cc.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    cc.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cc.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    cc.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    TopicPartition tp = new TopicPartition(topic, 0);
    try (KafkaConsumer<byte[], byte[]> consumer =
             new KafkaConsumer<>(cc, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp), timeout).get(tp);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (consumer.position(tp, timeout) < end) {
        if (System.nanoTime() > deadline) {
          throw new StoreException("timed out after " + timeout + " replaying " + topic + " up to offset " + end, null);
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          StoreEntry e = decode(r.key(), r.value(), r.offset());
          if (e != null) {
            out.add(e);
          }
        }
      }
    } catch (StoreException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new StoreException("cannot replay schema store topic " + topic + ": " + e.getMessage(), e);
    }
    log.debug("replayed {} schema store entries from {}", out.size(), topic);
    return out;
  }

  @Override
  public synchronized void append(StoreEntry entry) {
    if (producer == null) {
      Map<String, Object> pc = new HashMap<>(clientConfig);
      pc.put(ProducerConfig.ACKS_CONFIG, "all");
      pc.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
      pc.put(ProducerConfig.LINGER_MS_CONFIG, 0);
      int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
      pc.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, ms);
      pc.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.max(1000, ms / 2));
      pc.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, ms);
      producer = new KafkaProducer<>(pc, new ByteArraySerializer(), new ByteArraySerializer());
    }
    byte[][] kv = encode(entry);
    try {
      producer.send(new ProducerRecord<>(topic, 0, kv[0], kv[1])).get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException("interrupted while writing to " + topic, e);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      throw new StoreException("cannot write to schema store topic " + topic + ": " + cause.getMessage(), cause);
    }
  }

  @Override
  public synchronized void close() {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
      producer = null;
    }
  }

  private void ensureTopic() {
    try (Admin admin = Admin.create(clientConfig)) {
      NewTopic nt = new NewTopic(topic, 1, replicationFactor)
          .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
      try {
        admin.createTopics(List.of(nt)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new StoreException("cannot create schema store topic " + topic + ": " + e.getCause().getMessage(), e.getCause());
        }
      } catch (TimeoutException e) {
        throw new StoreException("timed out after " + timeout + " creating schema store topic " + topic, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException("interrupted while creating " + topic, e);
      }
      awaitLeader(admin);
    }
  }

  /** A just-created topic has no leader for a moment; reading it then only produces warnings. */
  private void awaitLeader(Admin admin) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        var d = admin.describeTopics(List.of(topic)).allTopicNames().get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(topic);
        if (d != null && !d.partitions().isEmpty() && d.partitions().get(0).leader() != null) {
          return;
        }
      } catch (ExecutionException | TimeoutException e) {
        // not visible yet; retry until the deadline
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException("interrupted while waiting for " + topic, e);
      }
      if (System.nanoTime() > deadline) {
        throw new StoreException("schema store topic " + topic + " has no leader after " + timeout, null);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException("interrupted while waiting for " + topic, e);
      }
    }
  }

  static byte[][] encode(StoreEntry entry) {
    ObjectNode key = JSON.createObjectNode();
    ObjectNode value = null;
    // Java 17: no pattern matching in switch yet, hence the instanceof chain.
    if (entry instanceof StoreEntry.SchemaVersion v) {
      key.put("keytype", "SCHEMA").put("subject", v.subject()).put("version", v.version()).put("magic", 1);
      value = JSON.createObjectNode();
      value.put("subject", v.subject()).put("version", v.version()).put("id", v.id())
          .put("schema", v.schema()).put("deleted", v.deleted());
    } else if (entry instanceof StoreEntry.SchemaVersionRemoved r) {
      key.put("keytype", "SCHEMA").put("subject", r.subject()).put("version", r.version()).put("magic", 1);
    } else if (entry instanceof StoreEntry.Config c) {
      key.put("keytype", "CONFIG");
      if (c.subject() == null) {
        key.putNull("subject");
      } else {
        key.put("subject", c.subject());
      }
      key.put("magic", 0);
      if (c.level() != null) {
        value = JSON.createObjectNode();
        value.put("compatibilityLevel", c.level().name());
      }
    }
    try {
      return new byte[][] {JSON.writeValueAsBytes(key), value == null ? null : JSON.writeValueAsBytes(value)};
    } catch (IOException e) {
      throw new StoreException("cannot encode store entry " + entry, e);
    }
  }

  static StoreEntry decode(byte[] keyBytes, byte[] valueBytes, long offset) {
    try {
      JsonNode key = JSON.readTree(keyBytes);
      String type = key.path("keytype").asText();
      JsonNode subjectNode = key.get("subject");
      String subject = subjectNode == null || subjectNode.isNull() ? null : subjectNode.asText();
      switch (type) {
        case "SCHEMA" -> {
          int version = key.path("version").asInt();
          if (valueBytes == null) {
            return new StoreEntry.SchemaVersionRemoved(subject, version);
          }
          JsonNode v = JSON.readTree(valueBytes);
          return new StoreEntry.SchemaVersion(subject, version, v.path("id").asInt(), v.path("schema").asText(),
              v.path("deleted").asBoolean(false));
        }
        case "CONFIG" -> {
          if (valueBytes == null) {
            return new StoreEntry.Config(subject, null);
          }
          String level = JSON.readTree(valueBytes).path("compatibilityLevel").asText();
          return CompatibilityLevel.parse(level).map(l -> (StoreEntry) new StoreEntry.Config(subject, l)).orElseGet(() -> {
            log.warn("skipping schema store record at offset {}: unknown compatibility level {}", offset, level);
            return null;
          });
        }
        default -> {
          return null;
        }
      }
    } catch (IOException | RuntimeException e) {
      log.warn("skipping unreadable schema store record at offset {}: {}", offset, e.toString());
      return null;
    }
  }
}
