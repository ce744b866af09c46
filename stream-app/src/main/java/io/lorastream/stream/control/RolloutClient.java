package io.lorastream.stream.control;

import io.lorastream.avro.RolloutAction;
import io.lorastream.avro.RolloutCommand;
import io.lorastream.avro.RolloutDecision;
import io.lorastream.avro.RolloutState;
import io.lorastream.config.CommonConfig;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.kafka.TopicReads;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.rollout.RolloutSigning;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Issues rollout commands and reads rollout states: what {@code lorastream adapters
 * promote|reject|rollback|pin|unpin|canary|mode} and the tests use. {@link #issue} signs the
 * command (with a key), publishes it, and waits for the controller's decision that names it, so
 * an operator always learns whether the command took effect and why.
 */
public final class RolloutClient implements AutoCloseable {
  /** A command's answer: the command as sent, its decision, and the state that decision produced. */
  public record Answer(RolloutCommand command, RolloutDecision decision, RolloutState state) {
    public boolean accepted() {
      return decision.getAccepted();
    }
  }

  private final TopicCatalog topics;
  private final LorastreamSerdes serdes;
  private final byte[] key;
  private final String actor;
  private final KafkaProducer<String, RolloutCommand> producer;
  private final Map<String, Object> readerProps;

  public RolloutClient(CommonConfig common, LorastreamSerdes serdes, byte[] keyOrNull, String actor) {
    this.topics = common.catalog();
    this.serdes = serdes;
    this.key = keyOrNull == null ? null : keyOrNull.clone();
    this.actor = actor;
    Map<String, Object> p = new HashMap<>(common.kafkaProperties());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "lorastream-rollout-client");
    Serializer<RolloutCommand> ser = serdes.rolloutCommand().serializer();
    this.producer = new KafkaProducer<>(p, new StringSerializer(), ser);
    Map<String, Object> c = new HashMap<>(common.kafkaProperties());
    c.remove(ConsumerConfig.GROUP_ID_CONFIG);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    c.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "5");
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, "lorastream-rollout-reader");
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    this.readerProps = c;
  }

  /** A command for {@code adapterId} with {@code action}, to fill in further and {@link #issue}. */
  public static RolloutCommand.Builder command(String adapterId, RolloutAction action) {
    return RolloutCommand.newBuilder().setAdapterId(adapterId).setAction(action).setReason("");
  }

  /**
   * Publishes the command and waits for its decision.
   *
   * @throws TimeoutException when no decision names it within {@code timeout} (is a controller running?)
   */
  public Answer issue(RolloutCommand.Builder b, Duration timeout) throws TimeoutException, InterruptedException {
    try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(readerProps)) {
      List<TopicPartition> tps = partitions(reader, topics.adaptersControl.name());
      reader.assign(tps);
      reader.seekToEnd(tps); // the answer is written after the command, so after today's end
      tps.forEach(tp -> reader.position(tp));
      // Stamped once the reader is in place, so issuedAt is when the command leaves.
      RolloutCommand c = RolloutSigning.sign(b.setCommandId(UUID.randomUUID().toString()).setActor(actor)
          .setIssuedAt(Instant.now()).build(), key);
      try {
        producer.send(new ProducerRecord<>(topics.adaptersCommands.name(), c.getAdapterId(), c)).get();
      } catch (ExecutionException e) {
        throw new IllegalStateException("cannot publish the command to " + topics.adaptersCommands.name() + ": "
            + e.getCause().getMessage(), e.getCause());
      }
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(100))) {
          if (r.value() == null) {
            continue;
          }
          RolloutState s = serdes.rolloutState().deserializer().deserialize(r.topic(), r.headers(), r.value());
          if (!c.getAdapterId().equals(s.getAdapterId())) {
            continue;
          }
          for (RolloutDecision d : s.getDecisions()) {
            if (c.getCommandId().equals(d.getCommandId())) {
              return new Answer(c, d, s);
            }
          }
        }
        if (Thread.interrupted()) {
          throw new InterruptedException();
        }
      }
      throw new TimeoutException("no decision on command " + c.getCommandId() + " (" + c.getAction() + " "
          + c.getAdapterId() + ") within " + timeout + "; is a rollout controller running (lorastream stream-app "
          + "--base, rollout.controller.enabled=true) and reading " + topics.adaptersCommands.name() + "?");
    }
  }

  /** The newest state of every adapter on the control topic, by adapter id. */
  public Map<String, RolloutState> states(Duration timeout) {
    Map<String, RolloutState> out = new TreeMap<>();
    try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(readerProps)) {
      TopicReads.readToEnd(reader, topics.adaptersControl.name(), timeout, r -> {
        if (r.value() != null) {
          RolloutState s = serdes.rolloutState().deserializer().deserialize(r.topic(), r.headers(), r.value());
          out.put(s.getAdapterId(), s);
        }
      });
    }
    return out;
  }

  /** The newest state of one adapter, if the controller has written one. */
  public Optional<RolloutState> state(String adapterId, Duration timeout) {
    return Optional.ofNullable(states(timeout).get(adapterId));
  }

  private static List<TopicPartition> partitions(KafkaConsumer<byte[], byte[]> c, String topic) {
    List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(10));
    if (infos == null) {
      return List.of();
    }
    return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
  }
}
