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
 * The shared engine of the specific and generic deserializers: checks the frame, fetches the writer
 * schema by id once (then cached), resolves it against the reader schema once per id, and decodes
 * with a bounds-checked decoder so that garbage or truncation fails fast with a
 * {@link SerializationException} naming the topic instead of allocating or hanging. Compiled
 * readers are kept per thread because Avro does not promise they are thread-safe.
 */
final class AvroDeserializerCore {

  /** Chooses the reader schema and data model for a writer schema. */
  interface ReaderChoice {
    /** The schema to read as; throws {@link SerializationException} when there is none. */
    Schema readerSchema(String topic, int id, Schema writer);

    GenericData model(Schema reader);
  }

  /** What one schema id resolves to: the writer and reader schemas and the model. */
  private record Plan(Schema writer, Schema reader, GenericData model) {
  }

  private final SchemaRegistryClient client;
  private final ReaderChoice choice;
  private final Map<Integer, Plan> plans = new ConcurrentHashMap<>();
  private final ThreadLocal<Readers> readers = ThreadLocal.withInitial(Readers::new);

  /** One thread's compiled readers, with the last one used in front (a topic rarely mixes ids). */
  private static final class Readers {
    int lastId = -1;
    DatumReader<Object> last;
    final Map<Integer, DatumReader<Object>> byId = new HashMap<>();
  }

  AvroDeserializerCore(SchemaRegistryClient client, ReaderChoice choice) {
    this.client = client;
    this.choice = choice;
  }

  Object deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    if (data.length < WireFormat.HEADER_SIZE) {
      throw new SerializationException("topic '" + topic + "': payload of " + data.length
          + " byte(s) is too short for the Confluent wire format (magic byte 0, 4-byte schema id, Avro data)");
    }
    if (data[0] != WireFormat.MAGIC_BYTE) {
      throw new SerializationException(String.format("topic '%s': unknown magic byte 0x%02x (expected 0x00): "
          + "the record is not in the Confluent wire format", topic, data[0] & 0xff));
    }
    int id = WireFormat.schemaId(data);
    Readers mine = readers.get();
    DatumReader<Object> reader;
    if (mine.lastId == id && mine.last != null) {
      reader = mine.last;
    } else {
      reader = mine.byId.get(id);
      if (reader == null) {
        reader = build(topic, id, plan(topic, id));
        mine.byId.put(id, reader);
      }
      mine.lastId = id;
      mine.last = reader;
    }
    BoundedDecoder in = new BoundedDecoder(data, WireFormat.HEADER_SIZE, data.length - WireFormat.HEADER_SIZE);
    Object value;
    try {
      value = reader.read(null, in);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("topic '" + topic + "': corrupt or truncated Avro payload (" + data.length
          + " bytes) for schema id " + id + ": " + e.getMessage(), e);
    }
    if (in.remaining() != 0) {
      throw new SerializationException("topic '" + topic + "': " + in.remaining() + " unexpected trailing byte(s) after a "
          + "record with schema id " + id + " (" + data.length + " bytes): the payload is corrupt or was not written "
          + "with that schema");
    }
    return value;
  }

  private Plan plan(String topic, int id) {
    Plan p = plans.get(id);
    if (p != null) {
      return p;
    }
    Schema writer;
    try {
      writer = client.getSchemaById(id);
    } catch (SchemaNotFoundException e) {
      throw new SerializationException("topic '" + topic + "': schema id " + id + " is unknown to the Schema Registry at "
          + client.url() + " (corrupt payload, or a record from another registry): " + e.getMessage(), e);
    } catch (RegistryException e) {
      throw new SerializationException("topic '" + topic + "': cannot fetch schema id " + id + " from the Schema Registry: "
          + e.getMessage(), e);
    }
    Schema reader = choice.readerSchema(topic, id, writer);
    if (reader != writer) {
      var compat = SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
      if (compat.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
        throw new SerializationException("topic '" + topic + "': records written with schema id " + id + " ("
            + writer.getFullName() + ") cannot be read as " + reader.getFullName() + ": "
            + compat.getResult().getIncompatibilities());
      }
    }
    p = new Plan(writer, reader, choice.model(reader));
    plans.put(id, p);
    return p;
  }

  private static DatumReader<Object> build(String topic, int id, Plan p) {
    if (p.model() instanceof org.apache.avro.specific.SpecificData && LabeledExampleReader.handles(p.writer(), p.reader())) {
      return new LabeledExampleReader();
    }
    try {
      return new FastReaderBuilder(p.model()).createDatumReader(p.writer(), p.reader());
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("topic '" + topic + "': cannot build an Avro reader for schema id " + id + ": "
          + e.getMessage(), e);
    }
  }
}
