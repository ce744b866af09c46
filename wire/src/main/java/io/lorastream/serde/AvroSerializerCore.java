package io.lorastream.serde;

import io.lorastream.registry.RegistryException;
import io.lorastream.registry.SchemaMetadata;
import io.lorastream.registry.SchemaNotFoundException;
import io.lorastream.registry.SchemaRegistryClient;
import io.lorastream.registry.SubjectNotFoundException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;

/**
 * The shared engine of the specific and generic serializers. The registry is consulted once per
 * (topic, schema object); after that a record costs a map lookup, a reused thread-local encoder and
 * one array copy. Targets are keyed by schema identity because generated classes hand out the same
 * {@code SCHEMA$} instance for every record, which makes the hot-path check a pointer comparison.
 */
final class AvroSerializerCore {
  private static final EncoderFactory ENCODERS = EncoderFactory.get();
  private static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);

  private static final class State {
    final ByteSink sink = new ByteSink();
    BinaryEncoder encoder;
  }

  /** Where records with one schema object go: the id to write and how to encode them. */
  private static final class Target {
    final Schema recordSchema;
    final int id;
    final DatumWriter<Object> writer;
    /** Non-null when the record must first be rewritten into the subject's latest schema. */
    final DatumWriter<Object> ownWriter;
    final DatumReader<Object> projector;
    final long expiresAtNanos;

    Target(Schema recordSchema, int id, DatumWriter<Object> writer, DatumWriter<Object> ownWriter,
        DatumReader<Object> projector, long expiresAtNanos) {
      this.recordSchema = recordSchema;
      this.id = id;
      this.writer = writer;
      this.ownWriter = ownWriter;
      this.projector = projector;
      this.expiresAtNanos = expiresAtNanos;
    }

    private volatile java.util.UUID guid;

    /** The schema's GUID, asked of the registry once (only the header placement needs it). */
    java.util.UUID guid(SchemaRegistryClient client) {
      java.util.UUID g = guid;
      if (g == null) {
        g = client.getGuid(id);
        guid = g;
      }
      return g;
    }

    boolean expired() {
      return expiresAtNanos != Long.MAX_VALUE && System.nanoTime() - expiresAtNanos > 0;
    }
  }

  private static final Target[] NONE = new Target[0];

  private final SchemaRegistryClient client;
  private final AvroSerdeConfig config;
  private final boolean isKey;
  private final ConcurrentHashMap<String, Target[]> targets = new ConcurrentHashMap<>();

  AvroSerializerCore(SchemaRegistryClient client, AvroSerdeConfig config, boolean isKey) {
    this.client = client;
    this.config = config;
    this.isKey = isKey;
  }

  byte[] serialize(String topic, IndexedRecord record) {
    return serialize(topic, null, record);
  }

  /**
   * Encodes {@code record}; with {@code schema.id.serializer=header} the schema GUID goes into
   * {@code headers} (which must then be given) and the payload is bare Avro.
   */
  byte[] serialize(String topic, org.apache.kafka.common.header.Headers headers, IndexedRecord record) {
    if (record == null) {
      return null;
    }
    Schema schema = record.getSchema();
    Target t = find(topic, schema);
    if (t == null) {
      t = resolve(topic, record);
    }
    boolean inHeader = config.schemaIdPlacement() == AvroSerdeConfig.SchemaIdPlacement.HEADER;
    if (inHeader) {
      if (headers == null) {
        throw new SerializationException("topic '" + topic + "': " + (isKey ? AvroSerdeConfig.KEY_SCHEMA_ID_SERIALIZER
            : AvroSerdeConfig.VALUE_SCHEMA_ID_SERIALIZER) + "=header needs the record's headers, and this caller passes"
            + " none (use a client that calls serialize(topic, headers, data), or the prefix placement)");
      }
      String name = SchemaRef.header(isKey);
      headers.remove(name);
      headers.add(name, SchemaRef.guidBytes(t.guid(client)));
    }
    if (!inHeader && headers != null && headers.lastHeader(SchemaRef.header(isKey)) != null) {
      // A header carried over from an input record (Kafka Streams forwards headers) would name a
      // schema the prefix does not: readers take the header first.
      try {
        headers.remove(SchemaRef.header(isKey));
      } catch (IllegalStateException readOnly) {
        throw new SerializationException("topic '" + topic + "': the record carries header " + SchemaRef.header(isKey)
            + " from elsewhere and its headers are read-only; remove it before sending", readOnly);
      }
    }
    State st = STATE.get();
    ByteSink sink = st.sink;
    sink.reset();
    if (!inHeader) {
      sink.write(WireFormat.MAGIC_BYTE);
      sink.writeIntBigEndian(t.id);
    }
    BinaryEncoder enc = ENCODERS.binaryEncoder(sink, st.encoder);
    // A failed write leaves bytes in the encoder's buffer; drop it so they never leak into the next record.
    st.encoder = null;
    try {
      t.writer.write(t.projector == null ? record : project(t, record), enc);
      enc.flush();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("topic '" + topic + "': cannot serialize " + schema.getFullName()
          + " with schema id " + t.id + ": " + e, e);
    }
    st.encoder = enc;
    return sink.toByteArray();
  }

  private Target find(String topic, Schema schema) {
    Target[] arr = targets.get(topic);
    if (arr != null) {
      for (Target t : arr) {
        if (t.recordSchema == schema && !t.expired()) {
          return t;
        }
      }
    }
    return null;
  }

  private synchronized Target resolve(String topic, IndexedRecord record) {
    Schema schema = record.getSchema();
    Target existing = find(topic, schema);
    if (existing != null) {
      return existing;
    }
    GenericData model = record instanceof SpecificRecord ? SpecificData.getForClass(record.getClass()) : GenericData.get();
    String subject = config.subjectNameStrategy().subject(topic, isKey, schema);
    Target t = config.useLatestVersion() ? latestTarget(topic, subject, schema, model) : ownTarget(topic, subject, schema, model);
    Target[] arr = targets.getOrDefault(topic, NONE);
    Target[] next = new Target[arr.length + 1];
    int n = 0;
    for (Target old : arr) {
      if (old.recordSchema != schema) {
        next[n++] = old;
      }
    }
    next[n++] = t;
    targets.put(topic, Arrays.copyOf(next, n));
    return t;
  }

  @SuppressWarnings("unchecked")
  private Target ownTarget(String topic, String subject, Schema schema, GenericData model) {
    int id;
    try {
      id = config.autoRegister() ? client.register(subject, schema) : client.getId(subject, schema);
    } catch (SubjectNotFoundException | SchemaNotFoundException e) {
      throw new SerializationException("topic '" + topic + "': schema " + schema.getFullName()
          + " is not registered under subject '" + subject + "' and auto.register.schemas=false; register it first"
          + " (POST /subjects/" + subject + "/versions) or set auto.register.schemas=true. Registry said: "
          + e.getMessage(), e);
    } catch (RegistryException e) {
      throw registryFailure(topic, subject, config.autoRegister() ? "register" : "look up", schema, e);
    }
    return new Target(schema, id, writerFor(model, schema), null, null, Long.MAX_VALUE);
  }

  /** The build's own LabeledExample gets its bulk writer; every other schema Avro's writer of {@code model}. */
  @SuppressWarnings("unchecked")
  private static DatumWriter<Object> writerFor(GenericData model, Schema schema) {
    if (model instanceof SpecificData && LabeledExampleWriter.handles(schema, schema)) {
      return new LabeledExampleWriter();
    }
    return (DatumWriter<Object>) model.createDatumWriter(schema);
  }

  @SuppressWarnings("unchecked")
  private Target latestTarget(String topic, String subject, Schema schema, GenericData model) {
    SchemaMetadata latest;
    Schema latestSchema;
    try {
      latest = client.getLatestVersion(subject);
      latestSchema = client.getSchemaById(latest.id());
    } catch (SubjectNotFoundException e) {
      throw new SerializationException("topic '" + topic + "': use.latest.version=true but subject '" + subject
          + "' has no registered version; register a schema first", e);
    } catch (RegistryException e) {
      throw registryFailure(topic, subject, "fetch the latest version of", schema, e);
    }
    long expires = config.latestCacheTtl() == null ? Long.MAX_VALUE : System.nanoTime() + config.latestCacheTtl().toNanos();
    if (latestSchema.toString().equals(schema.toString())) {
      return new Target(schema, latest.id(), writerFor(model, schema), null, null, expires);
    }
    // The record's class is not the latest schema: rewrite it field by field (Avro resolution,
    // defaults for missing fields) so that the bytes really are in the schema the id names.
    var compat = SchemaCompatibility.checkReaderWriterCompatibility(latestSchema, schema);
    if (compat.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      throw new SerializationException("topic '" + topic + "': use.latest.version=true but a " + schema.getFullName()
          + " record cannot be expressed in the latest schema (id " + latest.id() + ", version " + latest.version()
          + ") of subject '" + subject + "': " + compat.getDescription());
    }
    return new Target(schema, latest.id(), new GenericDatumWriter<>(latestSchema, GenericData.get()),
        (DatumWriter<Object>) model.createDatumWriter(schema),
        new GenericDatumReader<>(schema, latestSchema, GenericData.get()), expires);
  }

  private static Object project(Target t, IndexedRecord record) throws IOException {
    ByteArrayOutputStream own = new ByteArrayOutputStream();
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(own, null);
    t.ownWriter.write(record, enc);
    enc.flush();
    return t.projector.read(null, DecoderFactory.get().binaryDecoder(own.toByteArray(), null));
  }

  private static SerializationException registryFailure(String topic, String subject, String action, Schema schema,
      RegistryException e) {
    return new SerializationException("topic '" + topic + "': cannot " + action + " schema " + schema.getFullName()
        + " under subject '" + subject + "' in the Schema Registry: " + e.getMessage(), e);
  }
}
