package io.lorastream.stream.inference;

import static io.lorastream.stream.serving.VersionedAdapters.X;
import static io.lorastream.stream.serving.VersionedAdapters.mismatch;
import static io.lorastream.stream.serving.VersionedAdapters.range;
import static io.lorastream.stream.serving.VersionedAdapters.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.avro.Prediction;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.snapshot.AdapterDeletion;
import io.lorastream.stream.serving.AdapterSubscriber;
import io.lorastream.stream.serving.RejectReason;
import io.lorastream.stream.serving.SwapStats;
import io.lorastream.stream.serving.VersionedAdapters;
import io.lorastream.testing.LocalStackExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * An inference consumer against the real embedded broker and registry: snapshots published the
 * way the trainer publishes them (transactionally, signed) are swapped in while requests flow;
 * every prediction names a published version and matches it; a forged snapshot and an aborted
 * transaction are never served; a consumer started later replays the topic to the same version.
 */
class InferenceIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension();

  private static final String ID = "rotating";
  private static final byte[] KEY = "integration-test-shared-secret-key".getBytes(StandardCharsets.UTF_8);
  private static final byte[] FORGER_KEY = "not-the-key-the-trainer-holds!!!".getBytes(StandardCharsets.UTF_8);

  @TempDir
  static Path stateDir;

  private static BaseModel base;

  @BeforeAll
  static void loadBase() {
    base = VersionedAdapters.zeroBase();
  }

  @AfterAll
  static void closeBase() {
    base.close();
  }

  @Test
  void swapsToEachCommittedSnapshotWhileServingAndNeverServesForgedOrAbortedOnes() throws Exception {
    CommonConfig common = new CommonConfig(LayeredConfig.load(CommonConfig.DEFAULTS, null, Map.of(), Map.of(
        CommonConfig.BOOTSTRAP, stack.bootstrapServers(),
        CommonConfig.REGISTRY_URL, stack.registryUrl(),
        CommonConfig.PARTITIONS, "2")));
    String appId = "inference-it-" + UUID.randomUUID();
    List<Long> swaps = new CopyOnWriteArrayList<>();
    try (KafkaProducer<String, AdapterSnapshot> trainer = transactionalProducer();
        KafkaProducer<String, InferenceRequest> client = requestProducer();
        KafkaConsumer<String, Prediction> reader = predictionConsumer();
        InferenceService first = InferenceService.start(config("inference-1", appId), common, stack.serdes(), base)) {
      first.subscriber().onSwap((id, v, at) -> swaps.add(v));
      await().atMost(Duration.ofSeconds(30)).until(() -> first.state() == KafkaStreams.State.RUNNING);
      Map<String, Prediction> seen = new HashMap<>();

      // Before any snapshot the frozen base answers, as version 0.
      List<String> batch0 = sendRequests(client, "base", 4);
      awaitPredictions(reader, seen, batch0);
      assertPredictions(seen, batch0, Set.of(0L));

      publish(trainer, snapshot(ID, 1, base.fingerprint(), List.of(range(0, 0, 50)), KEY), true);
      await().atMost(Duration.ofSeconds(20)).until(() -> first.subscriber().activeVersion() == 1);
      List<String> batch1 = sendRequests(client, "v1", 6);
      awaitPredictions(reader, seen, batch1);
      assertPredictions(seen, batch1, Set.of(1L));

      // A forged v2 (signed with the wrong key) is rejected; v1 keeps serving.
      publish(trainer, snapshot(ID, 2, base.fingerprint(), List.of(), FORGER_KEY), true);
      await().atMost(Duration.ofSeconds(20)).until(() -> first.subscriber().rejected(RejectReason.BAD_SIGNATURE) == 1);
      // A genuine v9 whose transaction aborts is invisible to read_committed.
      publish(trainer, snapshot(ID, 9, base.fingerprint(), List.of(), KEY), false);
      List<String> batch2 = sendRequests(client, "after-forgery", 6);
      awaitPredictions(reader, seen, batch2);
      assertPredictions(seen, batch2, Set.of(1L));
      assertThat(first.subscriber().activeVersion()).isEqualTo(1);

      // Requests keep flowing while v2 and v3 roll out: each names one of the live versions.
      List<String> during = new ArrayList<>(sendRequests(client, "rollout-a", 5));
      publish(trainer, snapshot(ID, 2, base.fingerprint(), List.of(range(0, 50, 80)), KEY), true);
      during.addAll(sendRequests(client, "rollout-b", 5));
      publish(trainer, snapshot(ID, 3, base.fingerprint(), List.of(range(0, 80, 120)), KEY), true);
      during.addAll(sendRequests(client, "rollout-c", 5));
      await().atMost(Duration.ofSeconds(20)).until(() -> first.subscriber().activeVersion() == 3);
      awaitPredictions(reader, seen, during);
      assertPredictions(seen, during, Set.of(1L, 2L, 3L));
      List<String> batch3 = sendRequests(client, "v3", 6);
      awaitPredictions(reader, seen, batch3);
      assertPredictions(seen, batch3, Set.of(3L));

      assertThat(swaps).containsExactly(1L, 2L, 3L);
      SwapStats stats = first.subscriber().stats();
      assertThat(stats.applied()).isEqualTo(3);
      assertThat(stats.rejected(RejectReason.BAD_SIGNATURE)).isEqualTo(1);
      assertThat(stats.rejectedTotal()).isEqualTo(1);
      assertThat(first.counters().predictions()).isEqualTo(seen.size());
      assertThat(first.counters().skippedTotal()).isZero();

      // The rejection is also a metric on the metrics topic, tagged with its reason and consumer.
      try (KafkaConsumer<String, PipelineMetric> metrics = metricsConsumer()) {
        await().atMost(Duration.ofSeconds(20)).until(() -> {
          for (ConsumerRecord<String, PipelineMetric> r : metrics.poll(Duration.ofMillis(100))) {
            PipelineMetric m = r.value();
            if (m.getName().equals(InferenceMetrics.REJECTED) && "BAD_SIGNATURE".equals(m.getTags().get("reason"))
                && "inference-1".equals(m.getTags().get(InferenceMetrics.TAG_CONSUMER)) && m.getValue() == 1.0) {
              return true;
            }
          }
          return false;
        });
      }

      // A consumer started now replays the compacted topic and serves v3 from its first request.
      try (InferenceService second = InferenceService.start(config("inference-2", "other-" + appId), common,
          stack.serdes(), base)) {
        assertThat(second.subscriber().activeVersion()).isEqualTo(3);
        assertThat(mismatch(3, second.subscriber().current().predictProba(X))).isNull();
      }
    }
  }

  @Test
  void withSigningOnlyASignedDeletionStopsServingAnAdapterAndARestartedConsumerAgrees() throws Exception {
    String id = "deletable";
    try (KafkaProducer<String, AdapterSnapshot> trainer = transactionalProducer();
        AdapterSubscriber first = subscriber(id, "deletion-1")) {
      publish(trainer, snapshot(id, 1, base.fingerprint(), List.of(), KEY), true);
      publish(trainer, snapshot(id, 2, base.fingerprint(), List.of(), KEY), true);
      await().atMost(Duration.ofSeconds(20)).until(() -> first.activeVersion() == 2);

      // A bare tombstone and one signed with the wrong key: both ignored and counted.
      tombstone(id, null);
      tombstone(id, AdapterDeletion.headers(id, 2, FORGER_KEY));
      await().atMost(Duration.ofSeconds(20)).until(() -> first.rejected(RejectReason.FORGED_DELETION) == 2);
      assertThat(first.activeVersion()).isEqualTo(2);

      // The operator's signed deletion: the frozen base serves again, and a stale copy of a
      // deleted version is never served; a newer version is.
      tombstone(id, AdapterDeletion.headers(id, 2, KEY));
      await().atMost(Duration.ofSeconds(20)).until(() -> first.activeVersion() == 0);
      publish(trainer, snapshot(id, 2, base.fingerprint(), List.of(), KEY), true);
      publish(trainer, snapshot(id, 3, base.fingerprint(), List.of(), KEY), true);
      await().atMost(Duration.ofSeconds(20)).until(() -> first.activeVersion() == 3);
      assertThat(first.stats().applied()).isEqualTo(3); // v1, v2, v3: the stale v2 copy was not applied

      // One more signed deletion, then a consumer started afterwards replays the topic to the same answer.
      tombstone(id, AdapterDeletion.headers(id, 3, KEY));
      await().atMost(Duration.ofSeconds(20)).until(() -> first.activeVersion() == 0);
      try (AdapterSubscriber second = subscriber(id, "deletion-2")) {
        assertThat(second.awaitCaughtUp(Duration.ofSeconds(20))).isTrue();
        assertThat(second.activeVersion()).isZero();
        assertThat(second.rejected(RejectReason.FORGED_DELETION)).isEqualTo(2);
      }
    }
  }

  @Test
  void everyKeyedRequestGetsExactlyOneAnswerAndUndecodableOnesAreDeadLettered() throws Exception {
    // Own request/prediction/DLQ topics, so that the other test's consumer never answers these requests.
    CommonConfig common = new CommonConfig(LayeredConfig.load(CommonConfig.DEFAULTS, null, Map.of(), Map.of(
        CommonConfig.BOOTSTRAP, stack.bootstrapServers(), CommonConfig.REGISTRY_URL, stack.registryUrl(),
        "topic.inference.requests", "answers.requests", "topic.inference.predictions", "answers.predictions",
        "topic.inference.dlq", "answers.dlq")));
    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
        Map.<String, Object>of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()))) {
      common.catalog().createAll(admin, (short) 1);
    }
    String appId = "inference-answers-" + UUID.randomUUID();
    try (KafkaProducer<String, InferenceRequest> client = requestProducer();
        KafkaProducer<String, byte[]> raw = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            stack.bootstrapServers()), new StringSerializer(),
            new org.apache.kafka.common.serialization.ByteArraySerializer());
        KafkaConsumer<String, Prediction> reader = predictionConsumer(common.catalog().inferencePredictions.name());
        InferenceService svc = InferenceService.start(config("answers-1", appId), common, stack.serdes(), base)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> svc.state() == KafkaStreams.State.RUNNING);
      String topic = common.catalog().inferenceRequests.name();
      String run = UUID.randomUUID().toString().substring(0, 8);
      Map<String, List<Float>> dense = new HashMap<>();
      dense.put("wrong-size-" + run, List.of(1f, 2f, 3f, 4f, 5f, 6f, 7f));
      dense.put("nan-" + run, java.util.Collections.nCopies(X.length, Float.NaN));
      dense.put("good-" + run, toList(X));
      for (Map.Entry<String, List<Float>> e : dense.entrySet()) {
        client.send(new ProducerRecord<>(topic, e.getKey(), InferenceRequest.newBuilder().setRequestId(e.getKey())
            .setTask(ID).setFeatures(e.getValue()).setSentAt(Instant.now()).build()));
      }
      client.send(new ProducerRecord<>(topic, "unknown-task-" + run, InferenceRequest.newBuilder()
          .setRequestId("unknown-task-" + run).setTask("nobody-serves-this").setFeatures(toList(X))
          .setSentAt(Instant.now()).build()));
      client.flush();
      raw.send(new ProducerRecord<>(topic, "garbage-" + run, new byte[] {0, 0, 0, 0, 1, 9, 9})).get();

      Map<String, Prediction> seen = new HashMap<>();
      List<String> ids = List.of("wrong-size-" + run, "nan-" + run, "good-" + run, "unknown-task-" + run,
          "garbage-" + run);
      awaitPredictions(reader, seen, ids);
      assertThat(seen.get("good-" + run).getError()).isNull();
      assertThat(seen.get("wrong-size-" + run).getError()).startsWith("WRONG_FEATURE_SIZE: 7 features");
      assertThat(seen.get("nan-" + run).getError()).startsWith("NON_FINITE: ");
      assertThat(seen.get("unknown-task-" + run).getError()).startsWith("UNKNOWN_TASK: ");
      assertThat(seen.get("garbage-" + run).getError()).startsWith("UNDECODABLE: ");
      // Exactly one: nothing more arrives for these ids (awaitPredictions fails on a second answer).
      reader.poll(Duration.ofSeconds(1)).forEach(r -> assertThat(ids).doesNotContain(r.key()));

      try (KafkaConsumer<String, byte[]> dlq = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
          stack.bootstrapServers(), ConsumerConfig.GROUP_ID_CONFIG, "dlq-" + run,
          ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(),
          new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
        dlq.subscribe(List.of(common.catalog().inferenceDlq.name()));
        List<ConsumerRecord<String, byte[]>> dead = new ArrayList<>();
        await().atMost(Duration.ofSeconds(20)).until(() -> {
          dlq.poll(Duration.ofMillis(200)).forEach(r -> {
            if (("garbage-" + run).equals(r.key())) {
              dead.add(r);
            }
          });
          return !dead.isEmpty();
        });
        assertThat(dead).hasSize(1);
        assertThat(dead.get(0).value()).containsExactly(0, 0, 0, 0, 1, 9, 9);
        assertThat(io.lorastream.kafka.DlqHeaders.text(dead.get(0).headers(), io.lorastream.kafka.DlqHeaders.REASON))
            .isEqualTo("UNDECODABLE");
      }
    }
  }

  private static List<Float> toList(float[] x) {
    List<Float> out = new ArrayList<>();
    for (float f : x) {
      out.add(f);
    }
    return out;
  }

  private static AdapterSubscriber subscriber(String adapterId, String clientId) {
    return AdapterSubscriber.builder(base).bootstrapServers(stack.bootstrapServers()).topics(stack.catalog())
        .deserializer(stack.serdes().adapterSnapshot().deserializer()).adapterId(adapterId).hmacKey(KEY)
        .clientId(clientId).start();
  }

  private static void tombstone(String adapterId, org.apache.kafka.common.header.Headers headers) throws Exception {
    try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        stack.bootstrapServers()), new StringSerializer(), new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      p.send(new ProducerRecord<>(stack.catalog().adapters.name(), null, adapterId, null,
          headers == null ? List.of() : headers)).get();
    }
  }

  private InferenceConfig config(String consumerId, String appId) {
    return InferenceConfig.of(Map.of(
        InferenceConfig.ADAPTER_ID, ID,
        InferenceConfig.CONSUMER_ID, consumerId,
        InferenceConfig.APPLICATION_ID, appId,
        InferenceConfig.HMAC_KEY, new String(KEY, StandardCharsets.UTF_8),
        InferenceConfig.METRICS_INTERVAL_MS, "200",
        InferenceConfig.STATE_DIR, stateDir.toString()));
  }

  private static void publish(KafkaProducer<String, AdapterSnapshot> trainer, AdapterSnapshot s, boolean commit) {
    trainer.beginTransaction();
    trainer.send(new ProducerRecord<>(stack.catalog().adapters.name(), s.getAdapterId(), s));
    if (commit) {
      trainer.commitTransaction();
    } else {
      trainer.flush();
      trainer.abortTransaction();
    }
  }

  private static List<String> sendRequests(KafkaProducer<String, InferenceRequest> client, String prefix, int n) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String id = prefix + "-" + i;
      List<Float> features = new ArrayList<>();
      for (float f : X) {
        features.add(f);
      }
      client.send(new ProducerRecord<>(stack.catalog().inferenceRequests.name(), id, InferenceRequest.newBuilder()
          .setRequestId(id).setTask(ID).setFeatures(features).setLabel(i % 3).setSentAt(Instant.now()).build()));
      ids.add(id);
    }
    client.flush();
    return ids;
  }

  private static void awaitPredictions(KafkaConsumer<String, Prediction> reader, Map<String, Prediction> seen,
      List<String> ids) {
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      for (ConsumerRecord<String, Prediction> r : reader.poll(Duration.ofMillis(100))) {
        Prediction previous = seen.put(r.key(), r.value());
        assertThat(previous).as("one prediction per request %s", r.key()).isNull();
      }
      return seen.keySet().containsAll(ids);
    });
  }

  private static void assertPredictions(Map<String, Prediction> seen, List<String> ids, Set<Long> allowed) {
    for (String id : ids) {
      Prediction p = seen.get(id);
      assertThat(p.getRequestId()).isEqualTo(id);
      assertThat(p.getAdapterId()).isEqualTo(ID);
      assertThat(p.getConsumerId()).isEqualTo("inference-1");
      assertThat(allowed).as("version named by %s", id).contains(p.getAdapterVersion());
      float[] probs = new float[p.getProbabilities().size()];
      for (int i = 0; i < probs.length; i++) {
        probs[i] = p.getProbabilities().get(i);
      }
      assertThat(mismatch(p.getAdapterVersion(), probs)).as(id).isNull();
      int expectedClass = p.getAdapterVersion() == 0 ? 0 : VersionedAdapters.targetClass(p.getAdapterVersion());
      assertThat(p.getPredictedClass()).as(id).isEqualTo(expectedClass);
      assertThat(p.getLabel()).isNotNull();
    }
  }

  private static KafkaProducer<String, AdapterSnapshot> transactionalProducer() {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "test-trainer-" + UUID.randomUUID());
    KafkaProducer<String, AdapterSnapshot> producer = new KafkaProducer<>(p, new StringSerializer(),
        stack.serdes().adapterSnapshot().serializer());
    producer.initTransactions();
    return producer;
  }

  private static KafkaProducer<String, InferenceRequest> requestProducer() {
    return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()),
        new StringSerializer(), stack.serdes().inferenceRequest().serializer());
  }

  private static KafkaConsumer<String, PipelineMetric> metricsConsumer() {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "metrics-reader-" + UUID.randomUUID());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    KafkaConsumer<String, PipelineMetric> c = new KafkaConsumer<>(p, new StringDeserializer(),
        stack.serdes().pipelineMetric().deserializer());
    c.subscribe(List.of(stack.catalog().metrics.name()));
    return c;
  }

  private static KafkaConsumer<String, Prediction> predictionConsumer() {
    return predictionConsumer(stack.catalog().inferencePredictions.name());
  }

  private static KafkaConsumer<String, Prediction> predictionConsumer(String topic) {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "prediction-reader-" + UUID.randomUUID());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    KafkaConsumer<String, Prediction> c = new KafkaConsumer<>(p, new StringDeserializer(),
        stack.serdes().prediction().deserializer());
    c.subscribe(List.of(topic));
    return c;
  }
}
