package io.lorastream.serde;

import io.lorastream.registry.SchemaRegistryClient;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Serializes {@link GenericRecord}s in the Confluent wire format with the record's own schema,
 * registered (or looked up) under the topic's subject. Thread-safe once configured.
 */
public final class GenericAvroSerializer implements Serializer<GenericRecord> {
  private final SchemaRegistryClient sharedClient;
  private volatile AvroSerializerCore core;

  public GenericAvroSerializer() {
    this(null);
  }

  public GenericAvroSerializer(SchemaRegistryClient client) {
    this.sharedClient = client;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    SchemaRegistryClient client = sharedClient != null ? sharedClient : SchemaRegistryClient.fromConfig(configs);
    core = new AvroSerializerCore(client, AvroSerdeConfig.from(configs, isKey), isKey);
  }

  @Override
  public byte[] serialize(String topic, GenericRecord data) {
    return Cores.configured(core, "GenericAvroSerializer").serialize(topic, data);
  }

  /** As Kafka's clients call it: with {@code schema.id.serializer=header} the schema GUID goes into {@code headers}. */
  @Override
  public byte[] serialize(String topic, org.apache.kafka.common.header.Headers headers, GenericRecord data) {
    return Cores.configured(core, "GenericAvroSerializer").serialize(topic, headers, data);
  }

  @Override
  public void close() {
    // The registry client may be shared with other serdes; it holds nothing that needs closing.
  }
}
