package io.lorastream.stream.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.kafka.DlqHeaders;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.testing.LocalStackExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ingest service on a real embedded KRaft broker and HTTP schema registry, exactly-once v2:
 * valid examples mixed with every hostile kind and with duplicates are produced to examples.raw;
 * every valid example lands exactly once on train or eval (by the holdout rule), every invalid one
 * on the DLQ with its reason, the service never stops, and the published counters reconcile
 * exactly: valid + dead-lettered + deduplicated == produced. Valid examples come in each schema-id
 * form current Confluent clients write (id prefix, GUID prefix, GUID in a header); a header in
 * another form is dead-lettered as UNSUPPORTED_SCHEMA_ID.
 */
class IngestIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(2);

  @TempDir Path stateDir;

  private static final Instant T0 = Instant.now();
  private static final int VALID = 300;
  private static final int PER_HOSTILE_KIND = 8;
  private static final int DUPLICATES = 40;

  @Test
  void mixedValidHostileAndDuplicateInputReconcilesExactly() throws Exception {
    TopicCatalog topics = stack.catalog();
    CommonConfig common = new CommonConfig(LayeredConfig.load(CommonConfig.DEFAULTS, null, Map.of(), Map.of(
        CommonConfig.BOOTSTRAP, stack.bootstrapServers(),
        CommonConfig.REGISTRY_URL, stack.registryUrl(),
        CommonConfig.PARTITIONS, "2")));
    StreamAppConfig config = StreamAppConfig.of(Map.of(
        StreamAppConfig.INGEST_APPLICATION_ID, "ingest-it",
        StreamAppConfig.INGEST_STATE_DIR, stateDir.toString(),
        StreamAppConfig.METRICS_INTERVAL_MS, "200",
        StreamAppConfig.INGEST_COMMIT_INTERVAL_MS, "100"));

    // ---- what we will produce, and what each record must become
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    Set<String> expectTrain = new HashSet<>();
    Set<String> expectEval = new HashSet<>();
    Map<String, DlqReason> expectDlqByKey = new HashMap<>();
    int nullKeys = 0;
    Random rnd = new Random(2024);
    String raw = topics.examplesRaw.name();
    List<byte[]> validBytes = new ArrayList<>();
    io.lorastream.registry.SchemaRegistryClient registry = new io.lorastream.registry.SchemaRegistryClient(stack.registryUrl());
    for (int i = 0; i < VALID; i++) {
      String id = "ok-" + i;
      byte[] v = encode(IngestTopologyTest.example(id).setEventTime(T0).build());
      validBytes.add(v);
      byte[] avro = Arrays.copyOfRange(v, io.lorastream.serde.WireFormat.HEADER_SIZE, v.length);
      byte[] guid = io.lorastream.serde.SchemaRef.guidBytes(registry.getGuid(io.lorastream.serde.WireFormat.schemaId(v)));
      if (i % 7 == 3) { // Confluent's header form: the GUID in __value_schema_id, bare Avro
        org.apache.kafka.common.header.internals.RecordHeaders h = new org.apache.kafka.common.header.internals.RecordHeaders();
        h.add(io.lorastream.serde.SchemaRef.VALUE_HEADER, guid);
        records.add(new ProducerRecord<>(raw, null, key(id), avro, h));
      } else if (i % 11 == 5) { // the GUID as the payload prefix
        byte[] prefixed = Arrays.copyOf(guid, guid.length + avro.length);
        System.arraycopy(avro, 0, prefixed, guid.length, avro.length);
        records.add(new ProducerRecord<>(raw, key(id), prefixed));
      } else {
        records.add(new ProducerRecord<>(raw, key(id), v));
      }
      (IngestTopology.isHoldout(id, config.ingest().holdoutFraction()) ? expectEval : expectTrain).add(id);
    }
    for (int i = 0; i < PER_HOSTILE_KIND; i++) {
      byte[] random = new byte[20 + rnd.nextInt(200)];
      rnd.nextBytes(random);
      random[0] = (byte) (2 + rnd.nextInt(254)); // neither magic byte (0: schema id, 1: schema GUID)
      bad(records, expectDlqByKey, "random-" + i, random, DlqReason.NOT_WIRE_FORMAT);
      byte[] magic = encode(IngestTopologyTest.example("magic-" + i).build());
      magic[0] = (byte) (1 + rnd.nextInt(255));
      bad(records, expectDlqByKey, "magic-" + i, magic, DlqReason.WRONG_MAGIC_BYTE);
      byte[] unknown = encode(IngestTopologyTest.example("schema-" + i).build());
      unknown[1] = 0x40;
      unknown[4] = (byte) i;
      bad(records, expectDlqByKey, "schema-" + i, unknown, DlqReason.UNKNOWN_SCHEMA);
      byte[] whole = encode(IngestTopologyTest.example("trunc-" + i).build());
      bad(records, expectDlqByKey, "trunc-" + i, Arrays.copyOf(whole, 30 + rnd.nextInt(whole.length - 60)),
          DlqReason.TRUNCATED);
      bad(records, expectDlqByKey, "size-" + i, encode(IngestTopologyTest.example("size-" + i)
          .setFeatures(Collections.nCopies(1 + rnd.nextInt(31), 0.1f)).build()), DlqReason.FEATURE_SIZE);
      List<Float> nan = new ArrayList<>(Collections.nCopies(32, 0.2f));
      nan.set(rnd.nextInt(32), Float.NaN);
      bad(records, expectDlqByKey, "nan-" + i, encode(IngestTopologyTest.example("nan-" + i).setFeatures(nan).build()),
          DlqReason.NON_FINITE);
      List<Float> inf = new ArrayList<>(Collections.nCopies(32, 0.2f));
      inf.set(rnd.nextInt(32), i % 2 == 0 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY);
      bad(records, expectDlqByKey, "inf-" + i, encode(IngestTopologyTest.example("inf-" + i).setFeatures(inf).build()),
          DlqReason.NON_FINITE);
      bad(records, expectDlqByKey, "empty-" + i, encode(IngestTopologyTest.example("empty-" + i).setFeatures(List.of())
          .build()), DlqReason.EMPTY_FEATURES);
      bad(records, expectDlqByKey, "huge-" + i, encode(IngestTopologyTest.example("huge-" + i)
          .setFeatures(Collections.nCopies(4097 + i, 0.3f)).build()), DlqReason.TOO_LARGE);
      bad(records, expectDlqByKey, "label-" + i, encode(IngestTopologyTest.example("label-" + i)
          .setLabel(i % 2 == 0 ? 6 + i : -1 - i).build()), DlqReason.LABEL_OUT_OF_RANGE);
      records.add(new ProducerRecord<>(raw, null, encode(IngestTopologyTest.example("nullkey-" + i).build())));
      nullKeys++;
      bad(records, expectDlqByKey, "nullvalue-" + i, null, DlqReason.NULL_VALUE);
      org.apache.kafka.common.header.internals.RecordHeaders odd = new org.apache.kafka.common.header.internals.RecordHeaders();
      odd.add(io.lorastream.serde.SchemaRef.VALUE_HEADER, new byte[] {(byte) (2 + i % 5), 7});
      records.add(new ProducerRecord<>(raw, null, key("odd-header-" + i),
          encode(IngestTopologyTest.example("odd-header-" + i).build()), odd));
      expectDlqByKey.put("odd-header-" + i, DlqReason.UNSUPPORTED_SCHEMA_ID);
    }
    int invalid = expectDlqByKey.size() + nullKeys;
    for (int i = 0; i < DUPLICATES; i++) {
      int which = rnd.nextInt(VALID);
      records.add(new ProducerRecord<>(raw, key("ok-" + which), validBytes.get(which)));
    }
    // Shuffle hostile records among valid ones, but keep each duplicate after its original.
    List<ProducerRecord<byte[], byte[]>> firsts = new ArrayList<>(records.subList(0, records.size() - DUPLICATES));
    Collections.shuffle(firsts, rnd);
    List<ProducerRecord<byte[], byte[]>> ordered = new ArrayList<>(firsts);
    ordered.addAll(records.subList(records.size() - DUPLICATES, records.size()));
    int produced = ordered.size();

    try (IngestService service = new IngestService(common, config)) {
      assertThat(service.properties().getProperty("processing.guarantee")).isEqualTo("exactly_once_v2");
      service.start();
      try (KafkaProducer<byte[], byte[]> producer = producer()) {
        for (ProducerRecord<byte[], byte[]> r : ordered) {
          producer.send(r);
        }
        producer.flush();
      }

      Map<String, Integer> trainIds = new HashMap<>();
      Map<String, Integer> evalIds = new HashMap<>();
      List<ConsumerRecord<byte[], byte[]>> dead = new ArrayList<>();
      Map<String, PipelineMetric> latestMetric = new HashMap<>();
      try (KafkaConsumer<String, byte[]> out = consumer("out"); KafkaConsumer<byte[], byte[]> dlq = rawConsumer("dlq");
          KafkaConsumer<String, byte[]> met = consumer("met")) {
        out.subscribe(List.of(topics.examplesTrain.name(), topics.examplesEval.name()));
        dlq.subscribe(List.of(topics.examplesDlq.name()));
        met.subscribe(List.of(topics.metrics.name()));
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
          for (ConsumerRecord<String, byte[]> r : out.poll(Duration.ofMillis(200))) {
            LabeledExample ex = stack.serdes().labeledExample().deserializer().deserialize(r.topic(), r.value());
            (r.topic().equals(topics.examplesTrain.name()) ? trainIds : evalIds).merge(ex.getId(), 1, Integer::sum);
          }
          dlq.poll(Duration.ofMillis(100)).forEach(dead::add);
          for (ConsumerRecord<String, byte[]> r : met.poll(Duration.ofMillis(100))) {
            PipelineMetric m = stack.serdes().pipelineMetric().deserializer().deserialize(r.topic(), r.value());
            if (m.getName().startsWith("ingest.")) {
              latestMetric.put(m.getName() + "#" + m.getTags().get(IngestMetrics.TAG_REASON) + "@"
                  + m.getTags().get(IngestMetrics.TAG_PARTITION), m);
            }
          }
          assertThat(trainIds.size() + evalIds.size()).isEqualTo(VALID);
          assertThat(dead).hasSize(invalid);
          // Counters only grow, so once they match they stay matched.
          assertThat(sum(latestMetric, IngestMetrics.PROCESSED)).isEqualTo(produced);
          assertThat(sum(latestMetric, IngestMetrics.VALID)).isEqualTo(VALID);
          assertThat(sum(latestMetric, IngestMetrics.DLQ)).isEqualTo(invalid);
          assertThat(sum(latestMetric, IngestMetrics.DUPLICATES)).isEqualTo(DUPLICATES);
        });
      }

      // Every valid example exactly once, in the right place.
      assertThat(trainIds.keySet()).isEqualTo(expectTrain);
      assertThat(evalIds.keySet()).isEqualTo(expectEval);
      assertThat(trainIds.values()).allMatch(n -> n == 1);
      assertThat(evalIds.values()).allMatch(n -> n == 1);
      // Every invalid record with its reason and provenance.
      int seenNullKeys = 0;
      for (ConsumerRecord<byte[], byte[]> d : dead) {
        String reason = DlqHeaders.text(d.headers(), DlqHeaders.REASON);
        assertThat(DlqHeaders.text(d.headers(), DlqHeaders.SOURCE_TOPIC)).isEqualTo(raw);
        assertThat(DlqHeaders.text(d.headers(), DlqHeaders.SOURCE_OFFSET)).matches("\\d+");
        assertThat(DlqHeaders.text(d.headers(), DlqHeaders.SOURCE_PARTITION)).matches("[01]");
        assertThat(DlqHeaders.text(d.headers(), DlqHeaders.EXCEPTION_CLASS)).isNotBlank();
        if (d.key() == null) {
          assertThat(reason).isEqualTo(DlqReason.NULL_KEY.name());
          seenNullKeys++;
        } else {
          String k = new String(d.key(), StandardCharsets.UTF_8);
          assertThat(reason).as("reason for %s: %s", k, DlqHeaders.text(d.headers(), DlqHeaders.DETAIL))
              .isEqualTo(expectDlqByKey.get(k).name());
        }
      }
      assertThat(seenNullKeys).isEqualTo(nullKeys);
      Set<String> dlqKeys = new HashSet<>();
      dead.stream().filter(d -> d.key() != null).forEach(d -> dlqKeys.add(new String(d.key(), StandardCharsets.UTF_8)));
      assertThat(dlqKeys).isEqualTo(expectDlqByKey.keySet());

      // The published counters reconcile exactly with what was produced.
      long valid = sum(latestMetric, IngestMetrics.VALID);
      long dlqCount = sum(latestMetric, IngestMetrics.DLQ);
      long dups = sum(latestMetric, IngestMetrics.DUPLICATES);
      assertThat(valid).isEqualTo(VALID);
      assertThat(dlqCount).isEqualTo(invalid);
      assertThat(dups).isEqualTo(DUPLICATES);
      assertThat(valid + dlqCount + dups).isEqualTo(produced);
      assertThat(sum(latestMetric, IngestMetrics.TRAIN)).isEqualTo(expectTrain.size());
      assertThat(sum(latestMetric, IngestMetrics.HOLDOUT)).isEqualTo(expectEval.size());
      assertThat(service.state()).isEqualTo(KafkaStreams.State.RUNNING);
      assertThat(service.lastThreadFailure()).isNull();
    }
  }

  private static long sum(Map<String, PipelineMetric> latest, String name) {
    return latest.entrySet().stream().filter(e -> e.getKey().startsWith(name + "#null@"))
        .mapToLong(e -> (long) e.getValue().getValue()).sum();
  }

  private static void bad(List<ProducerRecord<byte[], byte[]>> records, Map<String, DlqReason> expect, String key,
      byte[] value, DlqReason reason) {
    records.add(new ProducerRecord<>(stack.catalog().examplesRaw.name(), key(key), value));
    expect.put(key, reason);
  }

  private static byte[] encode(LabeledExample ex) {
    return stack.serdes().labeledExample().serializer().serialize(stack.catalog().examplesRaw.name(), ex);
  }

  private static byte[] key(String id) {
    return id.getBytes(StandardCharsets.UTF_8);
  }

  private static KafkaProducer<byte[], byte[]> producer() {
    return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.ACKS_CONFIG, "all"),
        new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static Map<String, Object> consumerProps(String group) {
    return Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "ingest-it-" + group,
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
  }

  private static KafkaConsumer<String, byte[]> consumer(String group) {
    return new KafkaConsumer<>(consumerProps(group), new StringDeserializer(), new ByteArrayDeserializer());
  }

  private static KafkaConsumer<byte[], byte[]> rawConsumer(String group) {
    return new KafkaConsumer<>(consumerProps(group), new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }
}
