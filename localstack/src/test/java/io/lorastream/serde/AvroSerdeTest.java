package io.lorastream.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.Prediction;
import io.lorastream.localstack.registry.EmbeddedSchemaRegistry;
import io.lorastream.registry.RegistryClientConfig;
import io.lorastream.registry.SchemaRegistryClient;
import io.lorastream.testing.SampleRecords;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.util.Utf8;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The serdes against a real (in-memory) registry over HTTP: wire format, options and bad input. */
class AvroSerdeTest {
  private static final String TOPIC = "examples.raw";

  private EmbeddedSchemaRegistry registry;
  private SchemaRegistryClient client;

  @BeforeEach
  void start() {
    registry = EmbeddedSchemaRegistry.inMemory();
    client = new SchemaRegistryClient(registry.url());
  }

  @AfterEach
  void stop() {
    registry.close();
  }

  private Map<String, Object> config(Object... kv) {
    Map<String, Object> m = new HashMap<>();
    m.put(RegistryClientConfig.URL, registry.url());
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  private SpecificAvroSerde<LabeledExample> exampleSerde(Object... kv) {
    SpecificAvroSerde<LabeledExample> s = new SpecificAvroSerde<>(LabeledExample.class);
    s.configure(config(kv), false);
    return s;
  }

  @Test
  void wireFormatIsMagicByteSchemaIdThenPlainAvro() throws IOException {
    LabeledExample ex = SampleRecords.labeledExample(1, 64);
    byte[] bytes = exampleSerde().serializer().serialize(TOPIC, ex);

    int registered = client.getLatestVersion(TOPIC + "-value").id();
    assertThat(bytes[0]).isEqualTo((byte) 0);
    assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).isEqualTo(registered);
    assertThat(client.getSchemaById(registered)).isEqualTo(LabeledExample.getClassSchema());

    // The rest is plain Avro binary: Avro's own reader decodes it, without any of our code.
    SpecificDatumReader<LabeledExample> plain = new SpecificDatumReader<>(LabeledExample.class);
    var decoder = DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null);
    assertThat(plain.read(null, decoder)).isEqualTo(ex);
    assertThat(decoder.isEnd()).isTrue();
  }

  @Test
  void roundTripsAndPassesNullThrough() {
    SpecificAvroSerde<LabeledExample> serde = exampleSerde();
    for (int i = 0; i < 20; i++) {
      LabeledExample ex = SampleRecords.labeledExample(i, i * 7);
      assertThat(serde.deserializer().deserialize(TOPIC, serde.serializer().serialize(TOPIC, ex))).isEqualTo(ex);
    }
    assertThat(serde.serializer().serialize(TOPIC, null)).isNull();
    assertThat(serde.deserializer().deserialize(TOPIC, null)).isNull();
  }

  @Test
  void keySerdeUsesTheKeySubject() {
    SpecificAvroSerde<Prediction> keySerde = new SpecificAvroSerde<>(Prediction.class, client);
    keySerde.configure(Map.of(), true);
    keySerde.serializer().serialize("inference.predictions", SampleRecords.prediction(1));
    assertThat(client.listSubjects()).containsExactly("inference.predictions-key");
  }

  @Test
  void everySchemaIdFormRoundTripsAndTheRegistryServesGuids() throws IOException {
    LabeledExample ex = SampleRecords.labeledExample(3, 16);
    byte[] prefixed = exampleSerde().serializer().serialize(TOPIC, ex);
    int id = ByteBuffer.wrap(prefixed, 1, 4).getInt();
    java.util.UUID guid = client.getGuid(id);
    assertThat(client.getSchemaByGuid(guid)).isEqualTo(LabeledExample.getClassSchema());
    assertThat(guid).as("the GUID is a function of the schema: a second registry agrees").isEqualTo(
        java.util.UUID.nameUUIDFromBytes(client.getSchemaById(id).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    var de = exampleSerde().deserializer();

    // header placement, by short name and by Confluent's class name: the GUID in the header, bare Avro
    for (String placement : List.of("header", "io.confluent.kafka.serializers.schema.id.HeaderSchemaIdSerializer")) {
      org.apache.kafka.common.header.internals.RecordHeaders h = new org.apache.kafka.common.header.internals.RecordHeaders();
      byte[] bare = exampleSerde(AvroSerdeConfig.VALUE_SCHEMA_ID_SERIALIZER, placement).serializer().serialize(TOPIC, h, ex);
      byte[] header = h.lastHeader(SchemaRef.VALUE_HEADER).value();
      assertThat(header).hasSize(17).startsWith((byte) 1);
      assertThat(SchemaRef.of(h, false, bare).guid()).isEqualTo(guid);
      assertThat(bare).isEqualTo(Arrays.copyOfRange(prefixed, 5, prefixed.length));
      assertThat(de.deserialize(TOPIC, h, bare)).isEqualTo(ex);
    }
    // the GUID as payload prefix, and the id in a header
    byte[] guidPrefixed = new byte[17 + prefixed.length - 5];
    System.arraycopy(SchemaRef.guidBytes(guid), 0, guidPrefixed, 0, 17);
    System.arraycopy(prefixed, 5, guidPrefixed, 17, prefixed.length - 5);
    assertThat(de.deserialize(TOPIC, guidPrefixed)).isEqualTo(ex);
    org.apache.kafka.common.header.internals.RecordHeaders idHeader = new org.apache.kafka.common.header.internals.RecordHeaders();
    idHeader.add(SchemaRef.VALUE_HEADER, Arrays.copyOf(prefixed, 5));
    assertThat(de.deserialize(TOPIC, idHeader, Arrays.copyOfRange(prefixed, 5, prefixed.length))).isEqualTo(ex);
    // a key's id lives in __key_schema_id; a value deserializer ignores it
    org.apache.kafka.common.header.internals.RecordHeaders keyOnly = new org.apache.kafka.common.header.internals.RecordHeaders();
    keyOnly.add(SchemaRef.KEY_HEADER, SchemaRef.guidBytes(guid));
    assertThat(de.deserialize(TOPIC, keyOnly, prefixed)).isEqualTo(ex);

    // a header in no known form names what it holds
    org.apache.kafka.common.header.internals.RecordHeaders odd = new org.apache.kafka.common.header.internals.RecordHeaders();
    odd.add(SchemaRef.VALUE_HEADER, new byte[] {9, 9});
    assertThatThrownBy(() -> de.deserialize(TOPIC, odd, prefixed)).isInstanceOf(UnsupportedSchemaIdFormException.class)
        .hasMessageContaining(TOPIC).hasMessageContaining("__value_schema_id holds 2 byte(s) starting 0x09");
    // a GUID nobody issued
    assertThatThrownBy(() -> client.getSchemaByGuid(java.util.UUID.randomUUID()))
        .isInstanceOf(io.lorastream.registry.SchemaNotFoundException.class);
    // header placement without headers cannot work and says so
    assertThatThrownBy(() -> exampleSerde(AvroSerdeConfig.VALUE_SCHEMA_ID_SERIALIZER, "header").serializer()
        .serialize(TOPIC, ex)).isInstanceOf(SerializationException.class)
        .hasMessageContaining("value.schema.id.serializer=header needs the record's headers");
    // prefix placement drops a schema-id header carried over from an input record
    org.apache.kafka.common.header.internals.RecordHeaders carried = new org.apache.kafka.common.header.internals.RecordHeaders();
    carried.add(SchemaRef.VALUE_HEADER, SchemaRef.guidBytes(java.util.UUID.randomUUID()));
    byte[] again = exampleSerde().serializer().serialize(TOPIC, carried, ex);
    assertThat(carried.lastHeader(SchemaRef.VALUE_HEADER)).isNull();
    assertThat(de.deserialize(TOPIC, carried, again)).isEqualTo(ex);
    // and a placement nobody knows fails at configure, naming the key
    assertThatThrownBy(() -> exampleSerde(AvroSerdeConfig.VALUE_SCHEMA_ID_SERIALIZER, "footer"))
        .hasMessageContaining("value.schema.id.serializer").hasMessageContaining("prefix");
  }

  @Test
  void garbageWrongMagicUnknownIdAndTruncationRaiseSerializationExceptionNamingTheTopic() {
    SpecificAvroSerde<LabeledExample> serde = exampleSerde();
    byte[] good = serde.serializer().serialize(TOPIC, SampleRecords.labeledExample(2, 64));
    var de = serde.deserializer();

    assertThatThrownBy(() -> de.deserialize(TOPIC, "hello, world".getBytes()))
        .isInstanceOf(SerializationException.class).hasMessageContaining(TOPIC).hasMessageContaining("magic byte 0x68");

    byte[] wrongMagic = good.clone();
    wrongMagic[0] = 2;
    assertThatThrownBy(() -> de.deserialize(TOPIC, wrongMagic))
        .isInstanceOf(UnsupportedSchemaIdFormException.class).hasMessageContaining(TOPIC)
        .hasMessageContaining("magic byte 0x02");
    // 0x01 is the GUID prefix: the next 16 bytes are read as a GUID, which no registry issued here
    byte[] guidMagic = good.clone();
    guidMagic[0] = 1;
    assertThatThrownBy(() -> de.deserialize(TOPIC, guidMagic))
        .isInstanceOf(SerializationException.class).hasMessageContaining(TOPIC).hasMessageContaining("schema GUID")
        .hasMessageContaining("is unknown");

    byte[] unknownId = good.clone();
    ByteBuffer.wrap(unknownId).putInt(1, 987654);
    assertThatThrownBy(() -> de.deserialize(TOPIC, unknownId))
        .isInstanceOf(SerializationException.class).hasMessageContaining(TOPIC)
        .hasMessageContaining("schema id 987654 is unknown");

    for (int cut : new int[] {1, 10, 100, good.length - 6}) {
      byte[] truncated = Arrays.copyOf(good, good.length - cut);
      assertThatThrownBy(() -> de.deserialize(TOPIC, truncated)).as("cut %d bytes", cut)
          .isInstanceOf(SerializationException.class).hasMessageContaining(TOPIC).hasMessageContaining("truncated");
    }
    assertThatThrownBy(() -> de.deserialize(TOPIC, new byte[] {0, 0, 1}))
        .isInstanceOf(SerializationException.class).hasMessageContaining(TOPIC).hasMessageContaining("too short");
    assertThatThrownBy(() -> de.deserialize(TOPIC, new byte[0]))
        .isInstanceOf(SerializationException.class).hasMessageContaining("too short");

    byte[] trailing = Arrays.copyOf(good, good.length + 3);
    assertThatThrownBy(() -> de.deserialize(TOPIC, trailing))
        .isInstanceOf(SerializationException.class).hasMessageContaining(TOPIC).hasMessageContaining("trailing");
  }

  @Test
  void randomBytesBehindAValidHeaderNeverEscapeAsAnythingButSerializationException() {
    SpecificAvroSerde<LabeledExample> serde = exampleSerde();
    byte[] good = serde.serializer().serialize(TOPIC, SampleRecords.labeledExample(3, 64));
    Random r = new Random(42);
    int failures = 0;
    for (int i = 0; i < 2000; i++) {
      byte[] garbage = new byte[7 + r.nextInt(400)];
      r.nextBytes(garbage);
      System.arraycopy(good, 0, garbage, 0, 5);
      // Huge varint lengths are the dangerous case: a naive decoder would try to allocate them.
      if (i % 3 == 0) {
        garbage[6] = (byte) 0xfe;
      }
      Throwable t = catchThrowable(() -> serde.deserializer().deserialize(TOPIC, garbage));
      if (t != null) {
        assertThat(t).isInstanceOf(SerializationException.class).hasMessageContaining(TOPIC);
        failures++;
      }
    }
    assertThat(failures).isGreaterThan(1900);
  }

  @Test
  void genericRecordsRoundTripAndInteroperateWithSpecificOnes() {
    Schema schema = SchemaBuilder.record("Reading").namespace("test").fields()
        .requiredString("sensor").requiredDouble("value")
        .name("tags").type().array().items().intType().noDefault()
        .optionalLong("at").endRecord();
    GenericRecord rec = new GenericRecordBuilder(schema).set("sensor", "s1").set("value", 2.5)
        .set("tags", List.of(1, 2, 3)).set("at", 99L).build();
    GenericAvroSerde serde = new GenericAvroSerde();
    serde.configure(config(), false);
    byte[] bytes = serde.serializer().serialize("readings", rec);
    GenericRecord back = serde.deserializer().deserialize("readings", bytes);
    assertThat(back.getSchema()).isEqualTo(schema);
    assertThat(back.get("sensor")).isEqualTo(new Utf8("s1"));
    assertThat(back.get("value")).isEqualTo(2.5);
    assertThat(back.get("tags")).isEqualTo(new GenericData.Array<>(schema.getField("tags").schema(), List.of(1, 2, 3)));
    assertThat(back.get("at")).isEqualTo(99L);
    assertThat(back).isEqualTo(GenericData.get().deepCopy(schema, rec));

    // Written by the specific serde, read generically: same bytes, same schema id.
    LabeledExample ex = SampleRecords.labeledExample(4, 8);
    GenericRecord g = serde.deserializer().deserialize(TOPIC, exampleSerde().serializer().serialize(TOPIC, ex));
    assertThat(g.getSchema().getFullName()).isEqualTo(LabeledExample.getClassSchema().getFullName());
    assertThat(g.get("id").toString()).isEqualTo(ex.getId());
    assertThat(g.get("eventTime")).isEqualTo(ex.getEventTime().toEpochMilli());
    assertThat((List<?>) g.get("features")).hasSize(8);
    // And the generic serializer reuses the id the specific one registered.
    byte[] again = serde.serializer().serialize(TOPIC, g);
    assertThat(exampleSerde().deserializer().deserialize(TOPIC, again)).isEqualTo(ex);
  }

  @Test
  void useLatestVersionWritesWithTheSubjectsLatestSchema() {
    Schema v1 = LabeledExample.getClassSchema();
    // v2 = LabeledExample plus a field with a default: BACKWARD accepts it.
    List<Schema.Field> fields = new ArrayList<>();
    for (Schema.Field f : v1.getFields()) {
      fields.add(new Schema.Field(f, f.schema()));
    }
    fields.add(new Schema.Field("priority", Schema.create(Schema.Type.INT), "added in v2", 5));
    Schema v2 = Schema.createRecord(v1.getName(), v1.getDoc(), v1.getNamespace(), false, fields);
    int id1 = client.register(TOPIC + "-value", v1);
    int id2 = client.register(TOPIC + "-value", v2);

    LabeledExample ex = SampleRecords.labeledExample(5, 16);
    byte[] latest = exampleSerde(AvroSerdeConfig.USE_LATEST_VERSION, "true").serializer().serialize(TOPIC, ex);
    assertThat(ByteBuffer.wrap(latest, 1, 4).getInt()).isEqualTo(id2);
    GenericAvroDeserializer generic = new GenericAvroDeserializer(client);
    generic.configure(Map.of(), false);
    GenericRecord asV2 = generic.deserialize(TOPIC, latest);
    assertThat(asV2.getSchema()).isEqualTo(v2);
    assertThat(asV2.get("priority")).isEqualTo(5);
    assertThat(exampleSerde().deserializer().deserialize(TOPIC, latest)).isEqualTo(ex);

    // Without the option the record's own schema (v1) is used, and nothing new is registered.
    byte[] own = exampleSerde().serializer().serialize(TOPIC, ex);
    assertThat(ByteBuffer.wrap(own, 1, 4).getInt()).isEqualTo(id1);
    assertThat(client.listVersions(TOPIC + "-value")).containsExactly(1, 2);

    assertThatThrownBy(() -> exampleSerde(AvroSerdeConfig.USE_LATEST_VERSION, true).serializer().serialize("empty", ex))
        .isInstanceOf(SerializationException.class).hasMessageContaining("empty-value")
        .hasMessageContaining("use.latest.version");
  }

  @Test
  void autoRegisterOffNeedsARegisteredSchema() {
    SpecificAvroSerde<LabeledExample> noAuto = exampleSerde(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, "false");
    LabeledExample ex = SampleRecords.labeledExample(6, 4);
    assertThatThrownBy(() -> noAuto.serializer().serialize(TOPIC, ex))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining(TOPIC)
        .hasMessageContaining("not registered under subject 'examples.raw-value'")
        .hasMessageContaining("auto.register.schemas");
    assertThat(client.listSubjects()).isEmpty();

    int id = client.register(TOPIC + "-value", LabeledExample.getClassSchema());
    byte[] bytes = noAuto.serializer().serialize(TOPIC, ex);
    assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).isEqualTo(id);
  }

  @Test
  void readingARecordOfAnotherTypeFailsClearly() {
    SpecificAvroSerde<Prediction> predictions = new SpecificAvroSerde<>(Prediction.class);
    predictions.configure(config(), false);
    byte[] bytes = predictions.serializer().serialize("mixed", SampleRecords.prediction(1));
    assertThatThrownBy(() -> exampleSerde().deserializer().deserialize("mixed", bytes))
        .isInstanceOf(SerializationException.class).hasMessageContaining("mixed")
        .hasMessageContaining("cannot be read as io.lorastream.avro.LabeledExample");
  }

  @Test
  void classlessSpecificSerdeFindsTheGeneratedClassFromTheWriterSchema() {
    SpecificAvroSerde<Prediction> typed = new SpecificAvroSerde<>(Prediction.class);
    typed.configure(config(), false);
    var any = new SpecificAvroSerde<>();
    any.configure(config(), false);
    Object back = any.deserializer().deserialize("p", typed.serializer().serialize("p", SampleRecords.prediction(3)));
    assertThat(back).isEqualTo(SampleRecords.prediction(3));
  }

  @Test
  void unreachableRegistryFailsFastWithSerializationException() throws IOException {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    SpecificAvroSerde<LabeledExample> serde = new SpecificAvroSerde<>(LabeledExample.class);
    serde.configure(Map.of(RegistryClientConfig.URL, "http://127.0.0.1:" + deadPort,
        RegistryClientConfig.MAX_RETRIES, "1", RegistryClientConfig.RETRY_WAIT_MS, "1"), false);
    assertThatThrownBy(() -> serde.serializer().serialize(TOPIC, SampleRecords.labeledExample(1, 1)))
        .isInstanceOf(SerializationException.class).hasMessageContaining(TOPIC).hasMessageContaining("Schema Registry");
    byte[] framed = {0, 0, 0, 0, 1, 2};
    assertThatThrownBy(() -> serde.deserializer().deserialize(TOPIC, framed))
        .isInstanceOf(SerializationException.class).hasMessageContaining(TOPIC).hasMessageContaining("schema id 1");
  }

  @Test
  void serializingAnInvalidRecordNamesTheTopicAndLeavesTheSerdeUsable() {
    SpecificAvroSerde<LabeledExample> serde = exampleSerde();
    LabeledExample broken = SampleRecords.labeledExample(7, 4);
    broken.setId(null);
    assertThatThrownBy(() -> serde.serializer().serialize(TOPIC, broken))
        .isInstanceOf(SerializationException.class).hasMessageContaining(TOPIC);
    LabeledExample fine = SampleRecords.labeledExample(8, 4);
    assertThat(serde.deserializer().deserialize(TOPIC, serde.serializer().serialize(TOPIC, fine))).isEqualTo(fine);
  }

  @Test
  void unconfiguredSerdeSaysHowToConfigureIt() {
    SpecificAvroSerde<LabeledExample> serde = new SpecificAvroSerde<>(LabeledExample.class);
    assertThatThrownBy(() -> serde.serializer().serialize(TOPIC, SampleRecords.labeledExample(1, 1)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("configure");
  }

  @Test
  void isSafeToShareAcrossThreads() throws Exception {
    SpecificAvroSerde<LabeledExample> serde = exampleSerde();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Callable<Integer>> jobs = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int offset = t * 1000;
        jobs.add(() -> {
          for (int i = 0; i < 500; i++) {
            LabeledExample ex = SampleRecords.labeledExample(offset + i, 32);
            String topic = (i % 2 == 0) ? TOPIC : "examples.train";
            assertThat(serde.deserializer().deserialize(topic, serde.serializer().serialize(topic, ex))).isEqualTo(ex);
          }
          return 500;
        });
      }
      int total = 0;
      for (Future<Integer> f : pool.invokeAll(jobs)) {
        total += f.get();
      }
      assertThat(total).isEqualTo(2000);
    } finally {
      pool.shutdownNow();
    }
    assertThat(client.listSubjects()).containsExactly("examples.raw-value", "examples.train-value");
  }

  @Test
  void lorastreamSerdesShareOneClientAndCoverEveryRecordType() {
    LorastreamSerdes serdes = LorastreamSerdes.create(config());
    assertThat(serdes.labeledExample()).isSameAs(serdes.labeledExample());
    roundTrip(serdes.labeledExample(), SampleRecords.labeledExample(1, 64));
    roundTrip(serdes.adapterSnapshot(), SampleRecords.adapterSnapshot(2));
    roundTrip(serdes.inferenceRequest(), SampleRecords.inferenceRequest(3));
    roundTrip(serdes.prediction(), SampleRecords.prediction(4));
    roundTrip(serdes.pipelineMetric(), SampleRecords.pipelineMetric(5));
    assertThat(client.listSubjects()).hasSize(5);
    assertThatThrownBy(() -> LorastreamSerdes.create(Map.of()))
        .isInstanceOf(org.apache.kafka.common.config.ConfigException.class).hasMessageContaining("schema.registry.url");
  }

  private static <T extends org.apache.avro.specific.SpecificRecord> void roundTrip(SpecificAvroSerde<T> serde, T value) {
    String topic = "t-" + value.getSchema().getName();
    assertThat(serde.deserializer().deserialize(topic, serde.serializer().serialize(topic, value))).isEqualTo(value);
  }
}
