package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.kafka.DlqHeaders;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.pipeline.LocalPipeline;
import io.lorastream.pipeline.RunningTrainer;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.inference.InferenceConfig;
import io.lorastream.stream.inference.InferenceService;
import io.lorastream.stream.ingest.DlqReason;
import io.lorastream.stream.ingest.IngestMetrics;
import io.lorastream.stream.ingest.IngestService;
import io.lorastream.stream.ingest.IngestTopology;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.testing.LocalStackExtension;
import io.lorastream.trainer.AdapterTrainer;
import io.lorastream.trainer.TrainerConfig;
import io.lorastream.trainer.TrainerListener;
import io.lorastream.trainer.TrainerStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario 3 of the reliability issue (hostile input) end to end, on the real embedded broker and
 * HTTP registry: ingest, the trainer and an inference consumer run while a raw byte producer
 * writes 3,000 valid examples to {@code examples.raw}, shuffled together with 1,200 malformed
 * records of 20 kinds (random bytes, wrong magic byte, unknown schema id, truncated Avro, wrong
 * feature size, NaN, Inf, empty arrays, arrays over the size limit, label out of range, null key,
 * null value, and eight more the validator knows) and 150 records repeating an id already sent.
 * Then, record for record: every valid example reaches {@code examples.train} or, by the
 * deterministic holdout rule, {@code examples.eval}, exactly once, and the trainer's final
 * snapshot counts exactly the training ones; every malformed record is on {@code examples.dlq}
 * byte for byte with the reason its kind must get (a reason header a producer forged is replaced);
 * every repeated id is dropped; no service crashed; and trained + holdout + dead-lettered +
 * deduplicated = produced. The figures go to {@code target/reliability/hostile.json}.
 */
class HostileInputPipelineIT {
  @RegisterExtension static LocalStackExtension stack = new LocalStackExtension(2);

  @TempDir static Path tmp;

  private static final String TASK = "hostile";
  private static final int D = 16;
  private static final int CLASSES = 4;
  private static final int VALID = 3_000;
  private static final int PER_KIND = 60;
  private static final int DUPLICATES = 150;
  private static final int MAX_RECORD_BYTES = 64 * 1024;
  private static final int MAX_FEATURES = 4096;
  private static final Duration LIMIT = Duration.ofSeconds(90);
  private static final String FORGED_REASON = "NONE";

  @Test
  void everyValidRecordIsTrainedEveryHostileOneIsDeadLetteredWithItsReasonAndTheCountsReconcile() throws Exception {
    long t0 = System.nanoTime();
    Path baseFile = tmp.resolve("hostile-base.lsbase");
    try (BaseModel b = BaseModel.create(ModelSpec.mlp(D, List.of(32), CLASSES, 5L), Device.cpu())) {
      b.save(baseFile);
    }
    LocalPipeline pipeline = pipeline(baseFile);
    LayeredConfig cfg = pipeline.config();
    CommonConfig common = pipeline.common();
    StreamAppConfig app = pipeline.streamAppConfig();
    LorastreamSerdes serdes = pipeline.serdes();
    Plan plan = new Plan(app.ingest().holdoutFraction(), new Random(6));
    List<ProducerRecord<byte[], byte[]>> records = plan.build();
    long produced = records.size();
    long malformed = plan.dlq.size();

    AdapterTrainer trainer;
    TrainerStatus atEnd;
    long finalVersion;
    try (BaseModel base = BaseModel.load(baseFile, Device.cpu());
        InferenceService consumer = InferenceService.start(InferenceConfig.from(cfg), common, serdes, base);
        IngestService ingest = pipeline.startIngest();
        MetricsCollector metrics = new MetricsCollector(common.kafkaProperties(), common.catalog().metrics.name(),
            serdes.pipelineMetric().deserializer()).start()) {
      RunningTrainer running = pipeline.startTrainer(TrainerListener.NONE, "hostile-it-trainer");
      trainer = running.trainer();
      try {
        assertThat(ingest.awaitRunning(LIMIT)).as("ingest reached RUNNING").isTrue();
        produce(common, records);

        await("ingest processed all " + produced + " records and published its counters").atMost(LIMIT)
            .failFast("ingest stopped", () -> stopped(ingest.state()))
            .failFast("the trainer failed", () -> trainer.failure().isPresent())
            .untilAsserted(() -> {
              assertThat(metrics.ingestTotal(IngestMetrics.PROCESSED)).isEqualTo(produced);
              assertThat(metrics.ingestTotal(IngestMetrics.TRAIN)).isEqualTo(plan.train.size());
              assertThat(metrics.ingestTotal(IngestMetrics.HOLDOUT)).isEqualTo(plan.holdout.size());
              assertThat(metrics.ingestTotal(IngestMetrics.DLQ)).isEqualTo(malformed);
              assertThat(metrics.ingestTotal(IngestMetrics.DUPLICATES)).isEqualTo(DUPLICATES);
              assertThat(metrics.dlqByReason()).isEqualTo(plan.dlqByReason);
            });
        await("the trainer read every routed example").atMost(LIMIT)
            .failFast("the trainer failed", () -> trainer.failure().isPresent())
            .until(() -> {
              TrainerStatus s = trainer.status();
              return s.examplesSeen() + s.examplesBuffered() == plan.train.size() && s.inputLag() == 0;
            });
        assertThat(trainer.status().state()).isEqualTo(TrainerStatus.State.RUNNING);
      } finally {
        running.stop(LIMIT); // publishes the final snapshot
      }
      atEnd = trainer.status();
      assertThat(trainer.failure()).as("the trainer stopped cleanly").isEmpty();
      assertThat(atEnd.state()).isEqualTo(TrainerStatus.State.STOPPED);
      finalVersion = atEnd.lastCommittedVersion();
      assertThat(finalVersion).isPositive();

      // The consumer followed every version and refused none; no stream app died or lost a thread.
      assertThat(consumer.subscriber().awaitVersion(TASK, finalVersion, LIMIT)).as("consumer reached v%d", finalVersion)
          .isTrue();
      assertThat(consumer.subscriber().rejectedTotal()).isZero();
      assertThat(consumer.subscriber().isRunning()).isTrue();
      assertThat(consumer.subscriber().failure()).isEmpty();
      assertThat(consumer.state()).isEqualTo(KafkaStreams.State.RUNNING);
      assertThat(ingest.state()).isEqualTo(KafkaStreams.State.RUNNING);
      assertThat(ingest.lastThreadFailure()).as("no ingest stream thread died").isNull();
    }

    // ---- what the topics hold, record for record -----------------------------------------------
    Deserializer<LabeledExample> examples = serdes.labeledExample().deserializer();
    Map<String, Integer> trainIds = ids(common, common.catalog().examplesTrain.name(), examples);
    Map<String, Integer> evalIds = ids(common, common.catalog().examplesEval.name(), examples);
    assertThat(trainIds.keySet()).as("examples.train holds exactly the valid non-holdout ids").isEqualTo(plan.train);
    assertThat(trainIds.values()).as("each once").allMatch(n -> n == 1);
    assertThat(evalIds.keySet()).as("examples.eval holds exactly the valid holdout ids").isEqualTo(plan.holdout);
    assertThat(evalIds.values()).as("each once").allMatch(n -> n == 1);

    List<ConsumerRecord<byte[], byte[]>> dead = CommittedRecords.readAll(common.kafkaProperties(),
        common.catalog().examplesDlq.name());
    Map<String, Long> deadByReason = new TreeMap<>();
    List<String> deadFingerprints = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> d : dead) {
      List<String> reasons = new ArrayList<>();
      d.headers().headers(DlqHeaders.REASON).forEach(h -> reasons.add(new String(h.value(), StandardCharsets.UTF_8)));
      assertThat(reasons).as("exactly one reason header (a forged one is dropped): %s", reasons).hasSize(1)
          .doesNotContain(FORGED_REASON);
      String reason = reasons.get(0);
      assertThat(DlqHeaders.text(d.headers(), DlqHeaders.DETAIL)).as(reason).isNotBlank();
      assertThat(DlqHeaders.text(d.headers(), DlqHeaders.EXCEPTION_CLASS)).isNotBlank();
      assertThat(DlqHeaders.text(d.headers(), DlqHeaders.SOURCE_TOPIC)).isEqualTo(common.catalog().examplesRaw.name());
      assertThat(DlqHeaders.text(d.headers(), DlqHeaders.SOURCE_PARTITION)).matches("[01]");
      assertThat(DlqHeaders.text(d.headers(), DlqHeaders.SOURCE_OFFSET)).matches("\\d+");
      assertThat(DlqHeaders.text(d.headers(), "x-origin")).as("the producer's own headers are kept").isEqualTo("hostile-it");
      deadByReason.merge(reason, 1L, Long::sum);
      deadFingerprints.add(fingerprint(reason, d.key(), d.value()));
    }
    assertThat(deadByReason).as("dead-lettered by reason").isEqualTo(plan.dlqByReason);
    assertThat(deadFingerprints).as("every malformed record, byte for byte, with the reason of its kind")
        .containsExactlyInAnyOrderElementsOf(plan.dlq);

    // ---- the trainer's published state ----------------------------------------------------------
    AdapterSnapshot last = lastSnapshot(common, serdes);
    assertThat(last.getVersion()).isEqualTo(finalVersion);
    assertThat(last.getExamplesSeen()).as("the final snapshot counts every trained example once")
        .isEqualTo(plan.train.size());
    try (BaseModel base = BaseModel.load(baseFile, Device.cpu())) {
      DecodedAdapter decoded = SnapshotCodec.decode(last, base, null); // verifies checksum, shapes, finiteness
      assertThat(decoded.version()).isEqualTo(finalVersion);
    }
    assertThat(atEnd.examplesSeen()).isEqualTo(plan.train.size());
    assertThat(atEnd.examplesBuffered()).isZero();
    assertThat(atEnd.badRecords()).as("nothing malformed got past ingest").isZero();
    assertThat(atEnd.skippedNonFiniteBatches()).isZero();

    // ---- exact reconciliation --------------------------------------------------------------------
    long trained = last.getExamplesSeen();
    long holdout = evalIds.size();
    long deadLettered = dead.size();
    long lost = produced - (trained + holdout + deadLettered + DUPLICATES);
    assertThat(trained + holdout + deadLettered + DUPLICATES).as("trained + holdout + dead-lettered + deduplicated")
        .isEqualTo(produced);

    Map<String, Object> json = new LinkedHashMap<>();
    json.put("scenario", "hostile input (pipeline)");
    json.put("command", "mvn -B -pl launcher verify -Dit.test=HostileInputPipelineIT");
    json.put("recordsProduced", produced);
    json.put("validProduced", VALID);
    json.put("malformedProduced", malformed);
    json.put("duplicateIdsProduced", DUPLICATES);
    json.put("hostileRecordsTried", malformed + DUPLICATES);
    json.put("malformedByKind", plan.kinds);
    json.put("trained", trained);
    json.put("holdout", holdout);
    json.put("deadLettered", deadLettered);
    json.put("deadLetteredByReason", deadByReason);
    json.put("deduplicated", DUPLICATES);
    json.put("snapshotsPublished", finalVersion);
    json.put("trainerBadRecords", atEnd.badRecords());
    json.put("serviceCrashes", 0);
    json.put("recordsLost", lost);
    json.put("seconds", ReliabilityFigures.seconds(t0));
    ReliabilityFigures.write("hostile.json", json);
    System.out.printf("RELIABILITY hostile input: %d records = %d trained + %d holdout + %d dead-lettered + %d "
        + "deduplicated; %d malformed of %d kinds, %d reasons; lost %d%n", produced, trained, holdout, deadLettered,
        DUPLICATES, malformed, plan.kinds.size(), deadByReason.size(), lost);
  }

  private static LocalPipeline pipeline(Path baseFile) {
    Map<String, String> s = new HashMap<>(stack.kafkaSettings());
    s.put(CommonConfig.REGISTRY_URL, stack.registryUrl());
    s.put(StreamAppConfig.INGEST_APPLICATION_ID, "hostile-ingest");
    s.put(StreamAppConfig.INGEST_STATE_DIR, tmp.resolve("streams").toString());
    s.put(StreamAppConfig.INGEST_COMMIT_INTERVAL_MS, "100");
    s.put(StreamAppConfig.METRICS_INTERVAL_MS, "200");
    s.put(StreamAppConfig.INGEST_TASKS, TASK);
    s.put(StreamAppConfig.TASK_PREFIX + TASK + StreamAppConfig.INPUT_SIZE_SUFFIX, Integer.toString(D));
    s.put(StreamAppConfig.TASK_PREFIX + TASK + StreamAppConfig.CLASSES_SUFFIX, Integer.toString(CLASSES));
    s.put(StreamAppConfig.MAX_FEATURES, Integer.toString(MAX_FEATURES));
    s.put(StreamAppConfig.MAX_TOKENS, Integer.toString(MAX_FEATURES));
    s.put(StreamAppConfig.MAX_RECORD_BYTES, Integer.toString(MAX_RECORD_BYTES));
    s.put(TrainerConfig.ADAPTER_ID, TASK);
    s.put(TrainerConfig.ID, "hostile-trainer");
    s.put(TrainerConfig.BASE, baseFile.toString());
    s.put(TrainerConfig.DEVICE, "cpu");
    s.put(TrainerConfig.PUBLISH_STEPS, "10");
    s.put(TrainerConfig.PUBLISH_MIN_INTERVAL_MS, "0");
    s.put(TrainerConfig.POLL_TIMEOUT_MS, "50");
    s.put(InferenceConfig.ADAPTER_ID, TASK);
    s.put(InferenceConfig.CONSUMER_ID, "hostile-consumer");
    s.put(InferenceConfig.APPLICATION_ID, "hostile-inference");
    s.put(InferenceConfig.STATE_DIR, tmp.resolve("inference").toString());
    return LocalPipeline.of(s);
  }

  private static boolean stopped(KafkaStreams.State s) {
    return s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING
        || s == KafkaStreams.State.PENDING_ERROR || s == KafkaStreams.State.PENDING_SHUTDOWN;
  }

  private static void produce(CommonConfig common, List<ProducerRecord<byte[], byte[]>> records) {
    Map<String, Object> p = new HashMap<>(common.kafkaProperties());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    AtomicReference<Exception> failed = new AtomicReference<>();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
        new ByteArraySerializer())) {
      for (ProducerRecord<byte[], byte[]> r : records) {
        producer.send(r, (md, e) -> {
          if (e != null) {
            failed.compareAndSet(null, e);
          }
        });
      }
      producer.flush();
    }
    assertThat(failed.get()).as("every record was accepted by the broker").isNull();
  }

  /** Example id -> how often it occurs on {@code topic} (committed records only). */
  private static Map<String, Integer> ids(CommonConfig common, String topic, Deserializer<LabeledExample> values) {
    Map<String, Integer> out = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : CommittedRecords.readAll(common.kafkaProperties(), topic)) {
      assertThat(new String(r.key(), StandardCharsets.UTF_8)).as("routed records are keyed by task").isEqualTo(TASK);
      out.merge(values.deserialize(topic, r.value()).getId(), 1, Integer::sum);
    }
    return out;
  }

  private static AdapterSnapshot lastSnapshot(CommonConfig common, LorastreamSerdes serdes) {
    String topic = common.catalog().adapters.name();
    AdapterSnapshot last = null;
    for (ConsumerRecord<byte[], byte[]> r : CommittedRecords.readAll(common.kafkaProperties(), topic)) {
      AdapterSnapshot s = serdes.adapterSnapshot().deserializer().deserialize(topic, r.value());
      if (s.getAdapterId().equals(TASK) && (last == null || s.getVersion() > last.getVersion())) {
        last = s;
      }
    }
    assertThat(last).as("a committed snapshot of %s", TASK).isNotNull();
    return last;
  }

  private static String fingerprint(String reason, byte[] key, byte[] value) {
    return reason + " key=" + (key == null ? "<null>" : new String(key, StandardCharsets.UTF_8))
        + " value=" + (value == null ? "<null>" : value.length + "B:" + sha256(value));
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)).substring(0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * What the test produces and what each record must become: valid examples (labelled by a random
   * linear teacher, split into train and holdout by ingest's own deterministic rule), malformed
   * records of every kind with the {@link DlqReason} that kind must get, and repeats of valid ids
   * (exact copies and same id with other content), each placed after its original.
   */
  private static final class Plan {
    final Set<String> train = new java.util.HashSet<>();
    final Set<String> holdout = new java.util.HashSet<>();
    /** {@link #fingerprint} of every record that must reach the DLQ. */
    final List<String> dlq = new ArrayList<>();
    final Map<String, Long> dlqByReason = new TreeMap<>();
    final Map<String, Integer> kinds = new TreeMap<>();
    private final double holdoutFraction;
    private final Random rnd;
    private final float[][] teacher = new float[CLASSES][D];
    private final String raw = stack.catalog().examplesRaw.name();
    private final List<ProducerRecord<byte[], byte[]>> firsts = new ArrayList<>();
    private final List<ProducerRecord<byte[], byte[]>> valid = new ArrayList<>();

    Plan(double holdoutFraction, Random rnd) {
      this.holdoutFraction = holdoutFraction;
      this.rnd = rnd;
      for (float[] row : teacher) {
        for (int j = 0; j < D; j++) {
          row[j] = (float) rnd.nextGaussian();
        }
      }
    }

    List<ProducerRecord<byte[], byte[]>> build() {
      for (int i = 0; i < VALID; i++) {
        String id = String.format("ok-%05d", i);
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(raw, key(id), encode(example(id)));
        firsts.add(r);
        valid.add(r);
        (IngestTopology.isHoldout(id, holdoutFraction) ? holdout : train).add(id);
      }
      for (int i = 0; i < PER_KIND; i++) {
        hostile(i);
      }
      Collections.shuffle(firsts, rnd);
      List<ProducerRecord<byte[], byte[]>> ordered = new ArrayList<>(firsts);
      for (int i = 0; i < DUPLICATES; i++) {
        ProducerRecord<byte[], byte[]> original = valid.get(rnd.nextInt(valid.size()));
        byte[] value = original.value();
        if (i % 2 == 1) { // same id, other (still valid) content: a replay or a retry with fresh features
          String id = new String(original.key(), StandardCharsets.UTF_8);
          value = encode(example(id));
        }
        int at = indexOf(ordered, original);
        ordered.add(at + 1 + rnd.nextInt(ordered.size() - at), new ProducerRecord<>(raw, original.key(), value));
      }
      return ordered;
    }

    /** One record of every malformed kind, number {@code i}. */
    private void hostile(int i) {
      byte[] random = new byte[1 + rnd.nextInt(200)];
      rnd.nextBytes(random);
      random[0] = (byte) (2 + rnd.nextInt(254)); // neither magic byte (0: schema id, 1: schema GUID)
      bad("random bytes", DlqReason.NOT_WIRE_FORMAT, key("random-" + i), random);

      byte[] magic = encode(example("magic-" + i));
      magic[0] = (byte) (1 + rnd.nextInt(255));
      bad("wrong magic byte", DlqReason.WRONG_MAGIC_BYTE, key("magic-" + i), magic);

      byte[] unknown = encode(example("schema-" + i));
      // Ids never issued: far above the registry's, zero, and negative (the high bit set).
      int schemaId = switch (i % 4) {
        case 0 -> 0;
        case 1 -> -1 - rnd.nextInt(Integer.MAX_VALUE);
        default -> 1_000_000 + rnd.nextInt(1_000_000_000);
      };
      unknown[1] = (byte) (schemaId >>> 24);
      unknown[2] = (byte) (schemaId >>> 16);
      unknown[3] = (byte) (schemaId >>> 8);
      unknown[4] = (byte) schemaId;
      bad("unknown schema id", DlqReason.UNKNOWN_SCHEMA, key("schema-" + i), unknown);

      byte[] whole = encode(example("trunc-" + i));
      bad("truncated Avro", DlqReason.TRUNCATED, key("trunc-" + i),
          Arrays.copyOf(whole, 1 + rnd.nextInt(whole.length - 1)));

      int size = rnd.nextBoolean() ? 1 + rnd.nextInt(D - 1) : D + 1 + rnd.nextInt(4 * D);
      bad("wrong feature size", DlqReason.FEATURE_SIZE, key("size-" + i),
          encode(withFeatures(example("size-" + i), gaussian(size))));

      List<Float> nan = gaussian(D);
      nan.set(rnd.nextInt(D), Float.NaN);
      bad("NaN feature", DlqReason.NON_FINITE, key("nan-" + i), encode(withFeatures(example("nan-" + i), nan)));

      List<Float> inf = gaussian(D);
      inf.set(rnd.nextInt(D), i % 2 == 0 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY);
      bad("Inf feature", DlqReason.NON_FINITE, key("inf-" + i), encode(withFeatures(example("inf-" + i), inf)));

      bad("empty arrays", DlqReason.EMPTY_FEATURES, key("empty-" + i),
          encode(withFeatures(example("empty-" + i), List.of())));

      LabeledExample huge = example("huge-" + i);
      if (i % 2 == 0) {
        huge.setFeatures(gaussian(MAX_FEATURES + 1 + rnd.nextInt(64)));
      } else {
        huge.setTokens(Collections.nCopies(MAX_FEATURES + 1 + rnd.nextInt(64), 1));
      }
      bad("array over the size limit", DlqReason.TOO_LARGE, key("huge-" + i), encode(huge));

      LabeledExample label = example("label-" + i);
      label.setLabel(i % 2 == 0 ? CLASSES + rnd.nextInt(1000) : -1 - rnd.nextInt(1000));
      bad("label out of range", DlqReason.LABEL_OUT_OF_RANGE, key("label-" + i), encode(label));

      bad("null key", DlqReason.NULL_KEY, null, encode(example("nullkey-" + i)));
      bad("null value", DlqReason.NULL_VALUE, key("nullvalue-" + i), null);
      bad("empty payload", DlqReason.EMPTY_PAYLOAD, key("zero-" + i), new byte[0]);

      byte[] large = new byte[MAX_RECORD_BYTES + 1 + rnd.nextInt(8 * 1024)];
      rnd.nextBytes(large);
      System.arraycopy(encode(example("large-" + i)), 0, large, 0, 5);
      bad("record over the byte limit", DlqReason.RECORD_TOO_LARGE, key("large-" + i), large);

      byte[] other;
      if (i % 2 == 0) { // a registered schema of another record type on this topic
        other = stack.serdes().pipelineMetric().serializer().serialize("hostile-elsewhere", PipelineMetric.newBuilder()
            .setName("x").setTask(TASK).setValue(1.0).setTags(Map.of()).setService("hostile-it")
            .setTimestamp(Instant.now()).build());
      } else { // trailing garbage after a valid record
        byte[] ok = encode(example("undecodable-" + i));
        other = Arrays.copyOf(ok, ok.length + 1 + rnd.nextInt(8));
        other[ok.length] = 0x7f;
      }
      bad("undecodable Avro", DlqReason.DESERIALIZATION, key("undecodable-" + i), other);

      LabeledExample noId = example("noid-" + i);
      noId.setId(i % 2 == 0 ? "" : "   ");
      bad("missing id", DlqReason.MISSING_ID, key("noid-" + i), encode(noId));

      bad("key is not the id", DlqReason.KEY_MISMATCH, key("mismatch-" + i), encode(example("other-id-" + i)));

      LabeledExample task = example("task-" + i);
      task.setTask(i % 2 == 0 ? "" : "not-" + TASK);
      bad("unknown task", DlqReason.UNKNOWN_TASK, key("task-" + i), encode(task));

      LabeledExample tokens = example("tokens-" + i);
      tokens.setTokens(List.of(1, 2, 3));
      if (i % 2 == 0) {
        tokens.setFeatures(List.of());
      }
      bad("tokens for a dense task", DlqReason.WRONG_FEATURE_KIND, key("tokens-" + i), encode(tokens));

      LabeledExample weight = example("weight-" + i);
      weight.setWeight(switch (i % 3) {
        case 0 -> -1f - rnd.nextFloat();
        case 1 -> Float.NaN;
        default -> Float.POSITIVE_INFINITY;
      });
      bad("invalid weight", DlqReason.INVALID_WEIGHT, key("weight-" + i), encode(weight));
    }

    private void bad(String kind, DlqReason reason, byte[] key, byte[] value) {
      RecordHeaders headers = new RecordHeaders();
      headers.add("x-origin", "hostile-it".getBytes(StandardCharsets.UTF_8));
      // A producer trying to pre-empt the verdict; ingest must overwrite it with its own.
      headers.add(DlqHeaders.REASON, FORGED_REASON.getBytes(StandardCharsets.UTF_8));
      firsts.add(new ProducerRecord<>(raw, null, key, value, (Iterable<Header>) headers));
      dlq.add(fingerprint(reason.name(), key, value));
      dlqByReason.merge(reason.name(), 1L, Long::sum);
      kinds.merge(kind, 1, Integer::sum);
    }

    private LabeledExample example(String id) {
      float[] x = new float[D];
      for (int j = 0; j < D; j++) {
        x[j] = (float) rnd.nextGaussian();
      }
      int best = 0;
      double bestScore = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < CLASSES; c++) {
        double score = 0;
        for (int j = 0; j < D; j++) {
          score += teacher[c][j] * x[j];
        }
        if (score > bestScore) {
          bestScore = score;
          best = c;
        }
      }
      return new Example(id, x, best, 0).toLabeledExample(TASK, "hostile-it", java.time.Instant.now());
    }

    private static LabeledExample withFeatures(LabeledExample e, List<Float> features) {
      e.setFeatures(features);
      return e;
    }

    private List<Float> gaussian(int n) {
      List<Float> f = new ArrayList<>(n);
      for (int j = 0; j < n; j++) {
        f.add((float) rnd.nextGaussian());
      }
      return f;
    }

    private byte[] encode(LabeledExample e) {
      return stack.serdes().labeledExample().serializer().serialize(raw, e);
    }

    private static int indexOf(List<ProducerRecord<byte[], byte[]>> list, ProducerRecord<byte[], byte[]> r) {
      for (int i = 0; i < list.size(); i++) {
        if (list.get(i) == r) {
          return i;
        }
      }
      throw new IllegalStateException("original not in the list");
    }
  }

  private static byte[] key(String id) {
    return id.getBytes(StandardCharsets.UTF_8);
  }
}
