package io.lorastream.serde;

import io.lorastream.registry.SchemaRegistryClient;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Deserializes Confluent wire-format payloads into {@link GenericRecord}s carrying the writer's
 * schema (fetched by id and cached), or a fixed reader schema when one is given. Logical types stay
 * in their underlying representation (timestamps as longs). Thread-safe once configured.
 */
public final class GenericAvroDeserializer implements Deserializer<GenericRecord> {
  private final SchemaRegistryClient sharedClient;
  private final Schema readerSchema;
  private volatile AvroDeserializerCore core;

  public GenericAvroDeserializer() {
    this(null, null);
  }

  public GenericAvroDeserializer(SchemaRegistryClient client) {
    this(client, null);
  }

  /** Reads every record as {@code readerSchema} (Avro resolution) instead of the writer's schema. */
  public GenericAvroDeserializer(SchemaRegistryClient client, Schema readerSchema) {
    this.sharedClient = client;
    this.readerSchema = readerSchema;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    SchemaRegistryClient client = sharedClient != null ? sharedClient : SchemaRegistryClient.fromConfig(configs);
    Schema fixed = readerSchema;
    core = new AvroDeserializerCore(client, new AvroDeserializerCore.ReaderChoice() {
      @Override
      public Schema readerSchema(String topic, String what, Schema writer) {
        return fixed != null ? fixed : writer;
      }

      @Override
      public GenericData model(Schema reader) {
        return GenericData.get();
      }
    }, isKey);
  }

  @Override
  public GenericRecord deserialize(String topic, byte[] data) {
    return deserialize(topic, null, data);
  }

  /** As Kafka's clients call it: a schema id in the record's headers wins over the payload prefix. */
  @Override
  public GenericRecord deserialize(String topic, org.apache.kafka.common.header.Headers headers, byte[] data) {
    Object v = Cores.configured(core, "GenericAvroDeserializer").deserialize(topic, headers, data);
    if (v != null && !(v instanceof GenericRecord)) {
      throw new SerializationException("topic '" + topic + "': payload is a " + v.getClass().getSimpleName()
          + ", not an Avro record");
    }
    return (GenericRecord) v;
  }

  @Override
  public void close() {
    // The registry client may be shared with other serdes; it holds nothing that needs closing.
  }
}
