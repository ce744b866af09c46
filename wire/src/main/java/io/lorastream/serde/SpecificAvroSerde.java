package io.lorastream.serde;

import io.lorastream.registry.SchemaRegistryClient;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A Kafka {@link Serde} for one generated Avro class in the Confluent wire format: a
 * {@link SpecificAvroSerializer} plus a {@link SpecificAvroDeserializer}. Must be configured with
 * {@link #configure(Map, boolean)} (registry settings, serde options, key or value) before use;
 * {@link LorastreamSerdes} hands out configured ones. Thread-safe.
 */
public final class SpecificAvroSerde<T extends SpecificRecord> implements Serde<T> {
  private final SpecificAvroSerializer<T> serializer;
  private final SpecificAvroDeserializer<T> deserializer;

  /** For Kafka Streams' {@code default.value.serde}: reads the class the writer schema names. */
  public SpecificAvroSerde() {
    this(null, null);
  }

  public SpecificAvroSerde(Class<T> type) {
    this(type, null);
  }

  /** A serde for {@code type} that shares {@code client} (configure then needs no registry URL). */
  public SpecificAvroSerde(Class<T> type, SchemaRegistryClient client) {
    this.serializer = new SpecificAvroSerializer<>(client);
    this.deserializer = new SpecificAvroDeserializer<>(type, client);
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    serializer.configure(configs, isKey);
    deserializer.configure(configs, isKey);
  }

  @Override
  public Serializer<T> serializer() {
    return serializer;
  }

  @Override
  public Deserializer<T> deserializer() {
    return deserializer;
  }

  @Override
  public void close() {
    serializer.close();
    deserializer.close();
  }
}
