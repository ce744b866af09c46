package io.lorastream.stream.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.kafka.DlqHeaders;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.localstack.registry.EmbeddedSchemaRegistry;
import io.lorastream.serde.LorastreamSerdes;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ingest topology on TopologyTestDriver, with serdes talking HTTP to a real embedded schema
 * registry (in-memory store): every hostile input kind lands in the DLQ with its own reason and
 * full provenance headers, valid examples reach train or eval by the deterministic holdout rule,
 * duplicates are dropped within the window, and the counter metrics reconcile.
 */
class IngestTopologyTest {
  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

  private static EmbeddedSchemaRegistry registry;
  private static LorastreamSerdes serdes;

  @TempDir Path stateDir;
  private final TopicCatalog topics = TopicCatalog.defaults(2);
  private TopologyTestDriver driver;
  private TestInputTopic<byte[], byte[]> raw;
  private TestOutputTopic<String, LabeledExample> train;
  private TestOutputTopic<String, LabeledExample> eval;
  private TestOutputTopic<byte[], byte[]> dlq;
  private TestOutputTopic<String, PipelineMetric> metrics;
  private StreamAppConfig config;

  @BeforeAll
  static void startRegistry() {
    registry = EmbeddedSchemaRegistry.inMemory();
    serdes = LorastreamSerdes.create(Map.of("schema.registry.url", registry.url()));
  }

  @AfterAll
  static void stopRegistry() {
    registry.close();
  }

  @BeforeEach
  void start() {
    startDriver(Map.of());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  private void startDriver(Map<String, String> overrides) {
    startDriver(overrides, serdes);
  }

  private void startDriver(Map<String, String> overrides, LorastreamSerdes topologySerdes) {
    if (driver != null) {
      driver.close();
    }
    config = StreamAppConfig.of(overrides);
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "ingest-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    driver = new TopologyTestDriver(
        IngestTopology.build(config, topics, topologySerdes.labeledExample(), topologySerdes.pipelineMetric()), p, T0);
    raw = driver.createInputTopic(topics.examplesRaw.name(), new ByteArraySerializer(), new ByteArraySerializer(),
        T0, Duration.ofMillis(1));
    train = driver.createOutputTopic(topics.examplesTrain.name(), new StringDeserializer(),
        serdes.labeledExample().deserializer());
    eval = driver.createOutputTopic(topics.examplesEval.name(), new StringDeserializer(),
        serdes.labeledExample().deserializer());
    dlq = driver.createOutputTopic(topics.examplesDlq.name(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    metrics = driver.createOutputTopic(topics.metrics.name(), new StringDeserializer(),
        serdes.pipelineMetric().deserializer());
  }

  // ---------------------------------------------------------------- helpers

  static LabeledExample.Builder example(String id) {
    List<Float> f = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      f.add((float) Math.sin(i + id.hashCode()));
    }
    return LabeledExample.newBuilder().setId(id).setTask("mlp").setFeatures(f).setLabel(Math.floorMod(id.hashCode(), 4))
        .setEventTime(T0).setAttributes(Map.of("phase", "0"));
  }

  private byte[] bytes(LabeledExample ex) {
    return serdes.labeledExample().serializer().serialize(topics.examplesRaw.name(), ex);
  }

  private static byte[] key(String id) {
    return id.getBytes(StandardCharsets.UTF_8);
  }

  private void pipe(String id, LabeledExample ex) {
    raw.pipeInput(key(id), bytes(ex));
  }

  private static List<Float> floats(int n, float fill) {
    Float[] a = new Float[n];
    Arrays.fill(a, fill);
    return Arrays.asList(a);
  }

  private static String header(TestRecord<byte[], byte[]> r, String name) {
    return DlqHeaders.text(r.headers(), name);
  }

  /** Latest value of each counter, keyed "name" or "name#reason", summed over partitions. */
  private Map<String, Long> latestCounters() {
    Map<String, PipelineMetric> latest = new LinkedHashMap<>();
    for (PipelineMetric m : metrics.readValuesToList()) {
      String reason = m.getTags().get(IngestMetrics.TAG_REASON);
      latest.put(m.getName() + (reason == null ? "" : "#" + reason) + "@" + m.getTags().get(IngestMetrics.TAG_PARTITION), m);
    }
    Map<String, Long> sums = new HashMap<>();
    latest.forEach((k, m) -> sums.merge(k.substring(0, k.indexOf('@')), (long) m.getValue(), Long::sum));
    return sums;
  }

  // ---------------------------------------------------------------- tests

  @Test
  void validRecordsReachTrainOrEvalByTheDeterministicHoldoutRule() {
    Set<String> expectedEval = new HashSet<>();
    Set<String> expectedTrain = new HashSet<>();
    for (int i = 0; i < 300; i++) {
      String id = "valid-" + i;
      pipe(id, example(id).build());
      (IngestTopology.isHoldout(id, 0.1) ? expectedEval : expectedTrain).add(id);
    }
    List<TestRecord<String, LabeledExample>> trained = train.readRecordsToList();
    List<TestRecord<String, LabeledExample>> held = eval.readRecordsToList();
    assertThat(trained).allSatisfy(r -> assertThat(r.key()).isEqualTo("mlp"));
    assertThat(held).allSatisfy(r -> assertThat(r.key()).isEqualTo("mlp"));
    assertThat(trained.stream().map(r -> r.value().getId()).collect(Collectors.toSet())).isEqualTo(expectedTrain);
    assertThat(held.stream().map(r -> r.value().getId()).collect(Collectors.toSet())).isEqualTo(expectedEval);
    assertThat(trained).hasSize(expectedTrain.size());
    assertThat(held).hasSize(expectedEval.size());
    assertThat(expectedEval).isNotEmpty();
    // The routed value is the example itself, not a re-encoding that lost anything.
    LabeledExample first = trained.get(0).value();
    assertThat(first).isEqualTo(example(first.getId()).build());
    assertThat(dlq.isEmpty()).isTrue();
  }

  @Test
  void everyHostileKindIsDeadLetteredWithItsOwnReasonAndProvenance() {
    startDriver(Map.of("ingest.tasks", "mlp,text", "ingest.task.text.feature.kind", "tokens",
        "ingest.task.text.input.size", "100"));
    byte[] valid = bytes(example("template").build());
    Random rnd = new Random(42);
    Map<String, DlqReason> expected = new LinkedHashMap<>();
    List<byte[][]> records = new ArrayList<>();

    byte[] random = new byte[64];
    rnd.nextBytes(random);
    random[0] = (byte) 0x5a;
    add(records, expected, "random-bytes", random, DlqReason.NOT_WIRE_FORMAT);
    byte[] wrongMagic = bytes(example("wrong-magic").build());
    wrongMagic[0] = 1;
    add(records, expected, "wrong-magic", wrongMagic, DlqReason.WRONG_MAGIC_BYTE);
    byte[] unknownSchema = valid.clone();
    unknownSchema[1] = 0x7f;
    unknownSchema[2] = 0x12;
    add(records, expected, "unknown-schema", unknownSchema, DlqReason.UNKNOWN_SCHEMA);
    byte[] truncatedExample = bytes(example("truncated").build());
    add(records, expected, "truncated", Arrays.copyOf(truncatedExample, truncatedExample.length - 60), DlqReason.TRUNCATED);
    add(records, expected, "short-header", new byte[] {0, 0, 1}, DlqReason.TRUNCATED);
    byte[] trailing = Arrays.copyOf(valid, valid.length + 3);
    add(records, expected, "template", trailing, DlqReason.DESERIALIZATION);
    PipelineMetric notAnExample = PipelineMetric.newBuilder().setName("x").setTask("").setValue(1).setService("s")
        .setTimestamp(T0).build();
    add(records, expected, "other-type",
        serdes.pipelineMetric().serializer().serialize(topics.examplesRaw.name() + "-other", notAnExample),
        DlqReason.DESERIALIZATION);
    add(records, expected, "empty-payload", new byte[0], DlqReason.EMPTY_PAYLOAD);
    add(records, expected, "too-big", new byte[600 * 1024], DlqReason.RECORD_TOO_LARGE);
    add(records, expected, "wrong-size", bytes(example("wrong-size").setFeatures(floats(31, 0.5f)).build()),
        DlqReason.FEATURE_SIZE);
    List<Float> nan = new ArrayList<>(floats(32, 0.5f));
    nan.set(7, Float.NaN);
    add(records, expected, "nan", bytes(example("nan").setFeatures(nan).build()), DlqReason.NON_FINITE);
    List<Float> inf = new ArrayList<>(floats(32, 0.5f));
    inf.set(31, Float.NEGATIVE_INFINITY);
    add(records, expected, "inf", bytes(example("inf").setFeatures(inf).build()), DlqReason.NON_FINITE);
    add(records, expected, "empty-arrays", bytes(example("empty-arrays").setFeatures(List.of()).build()),
        DlqReason.EMPTY_FEATURES);
    add(records, expected, "over-limit", bytes(example("over-limit").setFeatures(floats(5000, 0.1f)).build()),
        DlqReason.TOO_LARGE);
    add(records, expected, "tokens-over-limit",
        bytes(example("tokens-over-limit").setTask("text").setFeatures(List.of())
            .setTokens(java.util.Collections.nCopies(5000, 0)).build()), DlqReason.TOO_LARGE);
    add(records, expected, "label-high", bytes(example("label-high").setLabel(6).build()), DlqReason.LABEL_OUT_OF_RANGE);
    add(records, expected, "label-negative", bytes(example("label-negative").setLabel(-1).build()),
        DlqReason.LABEL_OUT_OF_RANGE);
    add(records, expected, "unknown-task", bytes(example("unknown-task").setTask("nope").build()), DlqReason.UNKNOWN_TASK);
    add(records, expected, "empty-task", bytes(example("empty-task").setTask("").build()), DlqReason.UNKNOWN_TASK);
    add(records, expected, "", bytes(example("").build()), DlqReason.MISSING_ID);
    add(records, expected, "someone-else", bytes(example("key-mismatch").build()), DlqReason.KEY_MISMATCH);
    add(records, expected, "dense-with-tokens", bytes(example("dense-with-tokens").setTokens(List.of(1, 2)).build()),
        DlqReason.WRONG_FEATURE_KIND);
    add(records, expected, "tokens-out-of-range",
        bytes(example("tokens-out-of-range").setTask("text").setFeatures(List.of()).setTokens(List.of(1, 100)).build()),
        DlqReason.TOKEN_OUT_OF_RANGE);
    add(records, expected, "dense-with-text", bytes(example("dense-with-text").setFeatures(List.of()).setText("hi")
        .build()), DlqReason.WRONG_FEATURE_KIND);
    add(records, expected, "blank-text", bytes(example("blank-text").setTask("text").setFeatures(List.of())
        .setText("  ").build()), DlqReason.EMPTY_FEATURES);
    add(records, expected, "bad-weight", bytes(example("bad-weight").setWeight(Float.NaN).build()), DlqReason.INVALID_WEIGHT);
    add(records, expected, null, valid, DlqReason.NULL_KEY);
    add(records, expected, "null-value", null, DlqReason.NULL_VALUE);

    RecordHeaders forged = new RecordHeaders();
    forged.add(DlqHeaders.REASON, "FORGED".getBytes(StandardCharsets.UTF_8));
    forged.add("trace-id", "abc".getBytes(StandardCharsets.UTF_8));
    for (byte[][] r : records) {
      raw.pipeInput(new TestRecord<>(r[0], r[1], forged, T0));
    }
    // A valid tokens example proves the tokens path accepts what it should.
    pipe("tokens-ok", example("tokens-ok").setTask("text").setFeatures(List.of()).setTokens(List.of(0, 5, 99)).build());
    // Raw text for a text task passes through untokenized: the trainer tokenizes with its base's tokenizer.
    pipe("text-ok", example("text-ok").setTask("text").setFeatures(List.of()).setText("Free entry, win a prize").build());

    List<TestRecord<byte[], byte[]>> dead = dlq.readRecordsToList();
    assertThat(dead).hasSize(records.size());
    List<DlqReason> wanted = new ArrayList<>(expected.values());
    for (int i = 0; i < dead.size(); i++) {
      TestRecord<byte[], byte[]> d = dead.get(i);
      byte[][] original = records.get(i);
      assertThat(header(d, DlqHeaders.REASON)).as("reason of record %d (%s)", i, header(d, DlqHeaders.DETAIL))
          .isEqualTo(wanted.get(i).name());
      assertThat(d.headers().headers(DlqHeaders.REASON)).hasSize(1);
      assertThat(header(d, DlqHeaders.DETAIL)).isNotBlank();
      assertThat(header(d, DlqHeaders.SOURCE_TOPIC)).isEqualTo(topics.examplesRaw.name());
      assertThat(header(d, DlqHeaders.SOURCE_PARTITION)).isEqualTo("0");
      assertThat(header(d, DlqHeaders.SOURCE_OFFSET)).isEqualTo(String.valueOf(i));
      assertThat(header(d, DlqHeaders.EXCEPTION_CLASS)).isNotBlank();
      assertThat(header(d, "trace-id")).isEqualTo("abc");
      assertThat(d.key()).isEqualTo(original[0]);
      assertThat(d.value()).isEqualTo(original[1]);
    }
    // Reasons are pairwise distinct across the issue's hostile kinds.
    assertThat(Set.of(DlqReason.NOT_WIRE_FORMAT, DlqReason.WRONG_MAGIC_BYTE, DlqReason.UNKNOWN_SCHEMA, DlqReason.TRUNCATED,
        DlqReason.FEATURE_SIZE, DlqReason.NON_FINITE, DlqReason.EMPTY_FEATURES, DlqReason.TOO_LARGE,
        DlqReason.LABEL_OUT_OF_RANGE, DlqReason.NULL_KEY, DlqReason.NULL_VALUE)).hasSize(11);
    // Decoder failures name the decoder's exception; content failures the validator's.
    assertThat(header(dead.get(2), DlqHeaders.EXCEPTION_CLASS)).isEqualTo(
        "org.apache.kafka.common.errors.SerializationException");
    assertThat(header(dead.get(10), DlqHeaders.EXCEPTION_CLASS)).isEqualTo(InvalidExampleException.class.getName());

    List<LabeledExample> trainedOrHeld = new ArrayList<>(train.readValuesToList());
    trainedOrHeld.addAll(eval.readValuesToList());
    assertThat(trainedOrHeld).extracting(LabeledExample::getId).containsExactly("tokens-ok", "text-ok");
    assertThat(trainedOrHeld.get(1).getText()).isEqualTo("Free entry, win a prize");

    driver.advanceWallClockTime(config.ingest().metricsInterval());
    Map<String, Long> c = latestCounters();
    assertThat(c.get(IngestMetrics.PROCESSED)).isEqualTo(records.size() + 2L);
    assertThat(c.get(IngestMetrics.DLQ)).isEqualTo(records.size());
    assertThat(c.get(IngestMetrics.VALID)).isEqualTo(2L);
    Map<String, Long> perReason = expected.values().stream()
        .collect(Collectors.groupingBy(DlqReason::name, Collectors.counting()));
    perReason.forEach((reason, n) -> assertThat(c.get(IngestMetrics.DLQ_BY_REASON + "#" + reason)).as(reason).isEqualTo(n));
  }

  @Test
  void everySchemaIdFormCurrentConfluentClientsWriteIsReadAndAnUnsupportedOneIsDeadLetteredNamingIt() {
    String topic = topics.examplesRaw.name();
    io.lorastream.serde.SpecificAvroSerializer<LabeledExample> headerSer =
        new io.lorastream.serde.SpecificAvroSerializer<>();
    headerSer.configure(Map.of("schema.registry.url", registry.url(), "value.schema.id.serializer",
        "io.confluent.kafka.serializers.schema.id.HeaderSchemaIdSerializer"), false);
    // 1. the GUID in header __value_schema_id, bare Avro (Confluent's HeaderSchemaIdSerializer)
    RecordHeaders h1 = new RecordHeaders();
    byte[] bare = headerSer.serialize(topic, h1, example("in-header").build());
    raw.pipeInput(new TestRecord<>(key("in-header"), bare, h1, T0));
    // 2. the GUID as the payload prefix (magic byte 1)
    byte[] classic = bytes(example("guid-prefix").build());
    int id = io.lorastream.serde.WireFormat.schemaId(classic);
    java.util.UUID guid = new io.lorastream.registry.SchemaRegistryClient(registry.url()).getGuid(id);
    byte[] guidPrefixed = concat(io.lorastream.serde.SchemaRef.guidBytes(guid), Arrays.copyOfRange(classic, 5, classic.length));
    raw.pipeInput(key("guid-prefix"), guidPrefixed);
    // 3. the 4-byte id in the header
    byte[] idHeaderBody = bytes(example("id-header").build());
    RecordHeaders h3 = new RecordHeaders();
    h3.add("__value_schema_id", Arrays.copyOf(idHeaderBody, 5));
    raw.pipeInput(new TestRecord<>(key("id-header"), Arrays.copyOfRange(idHeaderBody, 5, idHeaderBody.length), h3, T0));
    // 4. a header in no known form, and 5. a GUID no registry issued
    RecordHeaders h4 = new RecordHeaders();
    h4.add("__value_schema_id", new byte[] {2, 1, 2});
    raw.pipeInput(new TestRecord<>(key("odd-header"), bare, h4, T0));
    byte[] unknownGuid = concat(io.lorastream.serde.SchemaRef.guidBytes(new java.util.UUID(0x7fffffff00000000L, 42L)),
        Arrays.copyOfRange(classic, 5, classic.length));
    raw.pipeInput(key("unknown-guid"), unknownGuid);

    List<TestRecord<String, LabeledExample>> routed = new ArrayList<>(train.readRecordsToList());
    routed.addAll(eval.readRecordsToList());
    assertThat(routed).extracting(r -> r.value().getId()).containsExactlyInAnyOrder("in-header", "guid-prefix", "id-header");
    for (TestRecord<String, LabeledExample> r : routed) {
      assertThat(r.value()).isEqualTo(example(r.value().getId()).build());
      assertThat(r.headers().lastHeader("__value_schema_id")).as("the input's schema-id header is not carried over a"
          + " prefixed output").isNull();
    }
    List<TestRecord<byte[], byte[]>> dead = dlq.readRecordsToList();
    assertThat(dead).extracting(r -> new String(r.key(), StandardCharsets.UTF_8) + "=" + header(r, DlqHeaders.REASON))
        .containsExactly("odd-header=UNSUPPORTED_SCHEMA_ID", "unknown-guid=UNKNOWN_SCHEMA");
    assertThat(header(dead.get(0), DlqHeaders.DETAIL)).contains("__value_schema_id", "3 byte(s) starting 0x02",
        "16-byte GUID");
    assertThat(header(dead.get(1), DlqHeaders.DETAIL)).contains("schema GUID 7fffffff-0000-0000-0000-00000000002a");
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static void add(List<byte[][]> records, Map<String, DlqReason> expected, String key, byte[] value,
      DlqReason reason) {
    records.add(new byte[][] {key == null ? null : key(key), value});
    expected.put(records.size() + ":" + key, reason);
  }

  @Test
  void duplicatesWithinTheWindowAreDroppedAndCountedButExpiredIdsAreAcceptedAgain() {
    LabeledExample a = example("dup-a").build();
    LabeledExample b = example("dup-b").build();
    raw.pipeInput(key("dup-a"), bytes(a), T0);
    raw.pipeInput(key("dup-b"), bytes(b), T0.plusSeconds(1));
    raw.pipeInput(key("dup-a"), bytes(a), T0.plusSeconds(2));
    raw.pipeInput(key("dup-a"), bytes(a), T0.plusSeconds(1800));
    raw.pipeInput(key("dup-b"), bytes(b), T0.plusSeconds(3599));
    // Beyond the one-hour window the id is new again.
    raw.pipeInput(key("dup-a"), bytes(a), T0.plusSeconds(2 * 3600 + 5));
    List<String> routed = new ArrayList<>();
    train.readValuesToList().forEach(e -> routed.add(e.getId()));
    eval.readValuesToList().forEach(e -> routed.add(e.getId()));
    assertThat(routed).containsExactlyInAnyOrder("dup-a", "dup-b", "dup-a");

    // An invalid duplicate is dead-lettered every time: dedupe only applies to valid examples.
    byte[] nan = bytes(example("dup-nan").setFeatures(floats(32, Float.NaN)).build());
    raw.pipeInput(key("dup-nan"), nan, T0.plusSeconds(2 * 3600 + 6));
    raw.pipeInput(key("dup-nan"), nan, T0.plusSeconds(2 * 3600 + 7));
    assertThat(dlq.readRecordsToList()).hasSize(2);

    driver.advanceWallClockTime(config.ingest().metricsInterval());
    Map<String, Long> c = latestCounters();
    assertThat(c.get(IngestMetrics.DUPLICATES)).isEqualTo(3L);
    assertThat(c.get(IngestMetrics.VALID)).isEqualTo(3L);
    assertThat(c.get(IngestMetrics.PROCESSED)).isEqualTo(8L);
    assertThat(c.get(IngestMetrics.PROCESSED))
        .isEqualTo(c.get(IngestMetrics.VALID) + c.get(IngestMetrics.DLQ) + c.get(IngestMetrics.DUPLICATES));
    assertThat(c.get(IngestMetrics.VALID))
        .isEqualTo(c.getOrDefault(IngestMetrics.TRAIN, 0L) + c.getOrDefault(IngestMetrics.HOLDOUT, 0L));
  }

  @Test
  void countersArePublishedPeriodicallyOnlyWhenTheyChangeAndAreCumulative() {
    pipe("m-1", example("m-1").build());
    assertThat(metrics.isEmpty()).isTrue();
    driver.advanceWallClockTime(config.ingest().metricsInterval());
    List<PipelineMetric> first = metrics.readValuesToList();
    assertThat(first).extracting(PipelineMetric::getName).contains(IngestMetrics.PROCESSED, IngestMetrics.VALID);
    assertThat(first).allSatisfy(m -> {
      assertThat(m.getService()).isEqualTo("lorastream-ingest");
      assertThat(m.getTags()).containsEntry(IngestMetrics.TAG_PARTITION, "0");
    });
    driver.advanceWallClockTime(config.ingest().metricsInterval());
    assertThat(metrics.isEmpty()).as("nothing changed, nothing published").isTrue();
    pipe("m-2", example("m-2").build());
    driver.advanceWallClockTime(config.ingest().metricsInterval());
    assertThat(latestCounters()).containsEntry(IngestMetrics.PROCESSED, 2L).containsEntry(IngestMetrics.VALID, 2L);
  }

  @Test
  void aRegistryOutageFailsTheTaskInsteadOfDeadLetteringAGoodRecord() {
    byte[] good = bytes(example("good").build());
    // Nothing listens on port 1: every schema lookup fails to connect.
    LorastreamSerdes unreachable = LorastreamSerdes.create(Map.of("schema.registry.url", "http://127.0.0.1:1",
        "max.retries", "0", "http.connect.timeout.ms", "500"));
    startDriver(Map.of(), unreachable);
    assertThatThrownBy(() -> raw.pipeInput(key("good"), good))
        .hasStackTraceContaining("RegistryUnavailableException");
    assertThat(dlq.isEmpty()).isTrue();
    assertThat(train.isEmpty()).isTrue();
  }

  @Test
  void holdoutFractionZeroSendsEverythingToTrain() {
    startDriver(Map.of("ingest.holdout.fraction", "0"));
    for (int i = 0; i < 50; i++) {
      pipe("all-" + i, example("all-" + i).build());
    }
    assertThat(train.readRecordsToList()).hasSize(50);
    assertThat(eval.isEmpty()).isTrue();
  }
}
