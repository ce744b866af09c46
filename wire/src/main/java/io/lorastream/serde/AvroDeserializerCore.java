package io.lorastream.serde;

import io.lorastream.registry.RegistryException;
import io.lorastream.registry.SchemaNotFoundException;
import io.lorastream.registry.SchemaRegistryClient;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericData;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.FastReaderBuilder;
import org.apache.kafka.common.errors.SerializationException;

/**
 * The shared engine of the specific and generic deserializers: checks the frame, finds where the
 * record names its writer schema ({@link SchemaRef}: id or GUID, in the payload prefix or a record
 * header), fetches that schema once (then cached), resolves it against the reader schema once per
 * schema, and decodes with a bounds-checked decoder so that garbage or truncation fails fast with a
 * {@link SerializationException} naming the topic instead of allocating or hanging. Compiled
 * readers are kept per thread because Avro does not promise they are thread-safe.
 */
final class AvroDeserializerCore {

  /** Chooses the reader schema and data model for a writer schema. */
  interface ReaderChoice {
    /**
     * The schema to read as; throws {@link SerializationException} when there is none.
     *
     * @param what how the record names its writer schema, for messages ("schema id 7")
     */
    Schema readerSchema(String topic, String what, Schema writer);

    GenericData model(Schema reader);
  }

  /** What one schema id resolves to: the writer and reader schemas and the model. */
  private record Plan(Schema writer, Schema reader, GenericData model) {
  }

  private final SchemaRegistryClient client;
  private final ReaderChoice choice;
  private final Map<Object, Plan> plans = new ConcurrentHashMap<>(); // by schema id (Integer) or GUID (UUID)
  private final ThreadLocal<Readers> readers = ThreadLocal.withInitial(Readers::new);

  /** One thread's compiled readers, with the last one used in front (a topic rarely mixes ids). */
  private static final class Readers {
    Object lastKey;
    DatumReader<Object> last;
    final Map<Object, DatumReader<Object>> byKey = new HashMap<>();
  }

  private final boolean isKey;

  AvroDeserializerCore(SchemaRegistryClient client, ReaderChoice choice, boolean isKey) {
    this.client = client;
    this.choice = choice;
    this.isKey = isKey;
  }

  Object deserialize(String topic, byte[] data) {
    return deserialize(topic, null, data);
  }

  /**
   * Decodes {@code data}, whose writer schema is named by a header ({@link SchemaRef#header}) when
   * present, else by the payload's prefix (schema id or GUID).
   */
  Object deserialize(String topic, org.apache.kafka.common.header.Headers headers, byte[] data) {
    if (data == null) {
      return null;
    }
    boolean inHeader = headers != null && headers.lastHeader(SchemaRef.header(isKey)) != null;
    if (!inHeader && data.length < WireFormat.HEADER_SIZE) {
      throw new SerializationException("topic '" + topic + "': payload of " + data.length
          + " byte(s) is too short for the Confluent wire format (magic byte 0, 4-byte schema id, Avro data)");
    }
    if (!inHeader && data[0] != WireFormat.MAGIC_BYTE && data[0] != SchemaRef.MAGIC_BYTE_GUID) {
      throw new UnsupportedSchemaIdFormException(String.format("topic '%s': unknown magic byte 0x%02x (expected 0x00,"
          + " a 4-byte schema id, or 0x01, a 16-byte schema GUID) and no %s header: the record is not in the Confluent"
          + " wire format", topic, data[0] & 0xff, SchemaRef.header(isKey)));
    }
    SchemaRef ref;
    try {
      ref = SchemaRef.of(headers, isKey, data);
    } catch (UnsupportedSchemaIdFormException e) {
      throw new UnsupportedSchemaIdFormException("topic '" + topic + "': " + e.getMessage());
    }
    Object key = ref.id() != null ? (Object) ref.id() : ref.guid();
    Readers mine = readers.get();
    DatumReader<Object> reader;
    if (key.equals(mine.lastKey) && mine.last != null) {
      reader = mine.last;
    } else {
      reader = mine.byKey.get(key);
      if (reader == null) {
        reader = build(topic, ref, plan(topic, ref, key));
        mine.byKey.put(key, reader);
      }
      mine.lastKey = key;
      mine.last = reader;
    }
    BoundedDecoder in = new BoundedDecoder(data, ref.avroOffset(), data.length - ref.avroOffset());
    Object value;
    try {
      value = reader.read(null, in);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("topic '" + topic + "': corrupt or truncated Avro payload (" + data.length
          + " bytes) for " + ref.describe() + ": " + e.getMessage(), e);
    }
    if (in.remaining() != 0) {
      throw new SerializationException("topic '" + topic + "': " + in.remaining() + " unexpected trailing byte(s) after a "
          + "record with " + ref.describe() + " (" + data.length + " bytes): the payload is corrupt or was not written "
          + "with that schema");
    }
    return value;
  }

  private Plan plan(String topic, SchemaRef ref, Object key) {
    Plan p = plans.get(key);
    if (p != null) {
      return p;
    }
    Schema writer;
    String what = ref.id() != null ? "schema id " + ref.id() : "schema GUID " + ref.guid();
    try {
      writer = ref.id() != null ? client.getSchemaById(ref.id()) : client.getSchemaByGuid(ref.guid());
    } catch (SchemaNotFoundException e) {
      throw new SerializationException("topic '" + topic + "': " + what + " is unknown to the Schema Registry at "
          + client.url() + " (corrupt payload, or a record from another registry): " + e.getMessage(), e);
    } catch (RegistryException e) {
      throw new SerializationException("topic '" + topic + "': cannot fetch " + what + " from the Schema Registry: "
          + e.getMessage(), e);
    }
    Schema reader = choice.readerSchema(topic, what, writer);
    if (reader != writer) {
      var compat = SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
      if (compat.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
        throw new SerializationException("topic '" + topic + "': records written with " + what + " ("
            + writer.getFullName() + ") cannot be read as " + reader.getFullName() + ": "
            + compat.getResult().getIncompatibilities());
      }
    }
    p = new Plan(writer, reader, choice.model(reader));
    plans.put(key, p);
    return p;
  }

  private static DatumReader<Object> build(String topic, SchemaRef ref, Plan p) {
    if (p.model() instanceof org.apache.avro.specific.SpecificData && LabeledExampleReader.handles(p.writer(), p.reader())) {
      return new LabeledExampleReader();
    }
    try {
      return new FastReaderBuilder(p.model()).createDatumReader(p.writer(), p.reader());
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("topic '" + topic + "': cannot build an Avro reader for " + ref.describe() + ": "
          + e.getMessage(), e);
    }
  }
}
