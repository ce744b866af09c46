package io.lorastream.serde;

import io.lorastream.registry.SchemaRegistryClient;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Serializes generated Avro classes in the Confluent wire format, registering (or looking up) their
 * schema under the subject of the topic. Configure it before use: either pass a shared
 * {@link SchemaRegistryClient} to the constructor, or let {@link #configure} build one from
 * {@code schema.registry.url} and friends. Thread-safe.
 */
public final class SpecificAvroSerializer<T extends SpecificRecord> implements Serializer<T> {
  static {
    TrustedAvroClasses.install();
  }

  private final SchemaRegistryClient sharedClient;
  private volatile AvroSerializerCore core;

  /** A serializer that builds its own registry client in {@link #configure}. */
  public SpecificAvroSerializer() {
    this(null);
  }

  /** A serializer that uses {@code client}; {@link #configure} then needs no registry URL. */
  public SpecificAvroSerializer(SchemaRegistryClient client) {
    this.sharedClient = client;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    SchemaRegistryClient client = sharedClient != null ? sharedClient : SchemaRegistryClient.fromConfig(configs);
    core = new AvroSerializerCore(client, AvroSerdeConfig.from(configs, isKey), isKey);
  }

  @Override
  public byte[] serialize(String topic, T data) {
    return Cores.configured(core, "SpecificAvroSerializer").serialize(topic, data);
  }

  /** As Kafka's clients call it: with {@code schema.id.serializer=header} the schema GUID goes into {@code headers}. */
  @Override
  public byte[] serialize(String topic, org.apache.kafka.common.header.Headers headers, T data) {
    return Cores.configured(core, "SpecificAvroSerializer").serialize(topic, headers, data);
  }

  @Override
  public void close() {
    // The registry client may be shared with other serdes; it holds nothing that needs closing.
  }
}
