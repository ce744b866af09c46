package io.lorastream.serde;

import io.lorastream.registry.SchemaRegistryClient;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Deserializes Confluent wire-format payloads into generated Avro classes. The writer schema comes
 * from the registry by id (cached) and is resolved against the class's schema, so records written
 * with an older or newer compatible schema read fine. Without a class (no-arg constructor, as Kafka
 * Streams' {@code default.value.serde} needs), the class is found from the writer schema's full
 * name. Thread-safe.
 */
public final class SpecificAvroDeserializer<T extends SpecificRecord> implements Deserializer<T> {
  static {
    TrustedAvroClasses.install();
  }

  private final Class<T> type;
  private final SchemaRegistryClient sharedClient;
  private volatile AvroDeserializerCore core;

  /** Reads whatever generated class the writer schema names; builds its client in configure. */
  public SpecificAvroDeserializer() {
    this(null, null);
  }

  public SpecificAvroDeserializer(Class<T> type) {
    this(type, null);
  }

  /** Reads {@code type} (or, when null, the class the writer schema names) using {@code client}. */
  public SpecificAvroDeserializer(Class<T> type, SchemaRegistryClient client) {
    this.type = type;
    this.sharedClient = client;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    SchemaRegistryClient client = sharedClient != null ? sharedClient : SchemaRegistryClient.fromConfig(configs);
    core = new AvroDeserializerCore(client, new Choice(type), isKey);
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    return deserialize(topic, null, data);
  }

  /** As Kafka's clients call it: a schema id in the record's headers wins over the payload prefix. */
  @Override
  @SuppressWarnings("unchecked")
  public T deserialize(String topic, org.apache.kafka.common.header.Headers headers, byte[] data) {
    Object v = Cores.configured(core, "SpecificAvroDeserializer").deserialize(topic, headers, data);
    if (v != null && type != null && !type.isInstance(v)) {
      throw new SerializationException("topic '" + topic + "': decoded a " + v.getClass().getName() + " but expected "
          + type.getName());
    }
    return (T) v;
  }

  @Override
  public void close() {
    // The registry client may be shared with other serdes; it holds nothing that needs closing.
  }

  private static final class Choice implements AvroDeserializerCore.ReaderChoice {
    private final Schema fixedSchema;

    Choice(Class<?> type) {
      this.fixedSchema = type == null ? null : SpecificData.getForClass(type).getSchema(type);
    }

    @Override
    public Schema readerSchema(String topic, String what, Schema writer) {
      if (fixedSchema != null) {
        return fixedSchema;
      }
      Class<?> c = SpecificData.get().getClass(writer);
      if (c == null || !SpecificRecord.class.isAssignableFrom(c)) {
        throw new SerializationException("topic '" + topic + "': " + what + " names " + writer.getFullName()
            + ", for which no generated Avro class is on the classpath; use GenericAvroDeserializer or add the class");
      }
      return SpecificData.getForClass(c).getSchema(c);
    }

    @Override
    public GenericData model(Schema reader) {
      return SpecificData.getForSchema(reader);
    }
  }
}
