package io.lorastream.stream.inference;

import static io.lorastream.stream.serving.VersionedAdapters.X;
import static io.lorastream.stream.serving.VersionedAdapters.mismatch;
import static io.lorastream.stream.serving.VersionedAdapters.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.Prediction;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.model.BaseModel;
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
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Many adapters in one inference consumer, on a cluster of its own (its requests reach no other consumer). */
class ManyAdaptersIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension();

  private static final byte[] KEY = "integration-test-shared-secret-key".getBytes(StandardCharsets.UTF_8);

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

  /**
   * One consumer serving every adapter ({@code inference.adapter.id=*}) routes each request by its
   * task: 100 adapters at versions 1..5 each answer with their own version's function, and a task
   * with no adapter is answered by the frozen base as version 0.
   */
  @Test
  void oneConsumerServesAHundredAdaptersEachRequestByItsTask() throws Exception {
    CommonConfig common = new CommonConfig(LayeredConfig.load(CommonConfig.DEFAULTS, null, Map.of(), Map.of(
        CommonConfig.BOOTSTRAP, stack.bootstrapServers(), CommonConfig.REGISTRY_URL, stack.registryUrl())));
    int n = 100;
    Map<String, Object> tx = new HashMap<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
        ProducerConfig.TRANSACTIONAL_ID_CONFIG, "many-trainer"));
    try (KafkaProducer<String, AdapterSnapshot> trainer = new KafkaProducer<>(tx, new StringSerializer(),
        stack.serdes().adapterSnapshot().serializer())) {
      trainer.initTransactions();
      trainer.beginTransaction();
      for (int i = 0; i < n; i++) {
        AdapterSnapshot s = snapshot("many-" + i, 1 + i % 5, base.fingerprint(), List.of(), KEY);
        trainer.send(new ProducerRecord<>(stack.catalog().adapters.name(), s.getAdapterId(), s));
      }
      trainer.commitTransaction();
    }
    InferenceConfig all = InferenceConfig.of(Map.of(InferenceConfig.ADAPTER_ID, "*",
        InferenceConfig.CONSUMER_ID, "inference-all", InferenceConfig.APPLICATION_ID, "inference-all-" + UUID.randomUUID(),
        InferenceConfig.HMAC_KEY, new String(KEY, StandardCharsets.UTF_8), InferenceConfig.STATE_DIR,
        stateDir.resolve("all").toString()));
    Map<String, Object> rp = new HashMap<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "many-reader", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"));
    try (KafkaProducer<String, InferenceRequest> client = new KafkaProducer<>(Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()), new StringSerializer(),
            stack.serdes().inferenceRequest().serializer());
        KafkaConsumer<String, Prediction> reader = new KafkaConsumer<>(rp, new StringDeserializer(),
            stack.serdes().prediction().deserializer());
        InferenceService svc = InferenceService.start(all, common, stack.serdes(), base)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        for (int i = 0; i < n; i++) {
          if (svc.subscriber().activeVersion("many-" + i) != 1 + i % 5) {
            return false;
          }
        }
        return true;
      });
      List<String> ids = new ArrayList<>();
      List<Float> features = new ArrayList<>();
      for (float f : X) {
        features.add(f);
      }
      for (int i = 0; i <= n; i++) {
        String task = i < n ? "many-" + i : "many-none";
        String id = "many-request-" + i;
        client.send(new ProducerRecord<>(stack.catalog().inferenceRequests.name(), id, InferenceRequest.newBuilder()
            .setRequestId(id).setTask(task).setFeatures(features).setSentAt(Instant.now()).build()));
        ids.add(id);
      }
      client.flush();
      reader.subscribe(List.of(stack.catalog().inferencePredictions.name()));
      Map<String, Prediction> seen = new HashMap<>();
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        for (ConsumerRecord<String, Prediction> r : reader.poll(Duration.ofMillis(100))) {
          assertThat(seen.put(r.key(), r.value())).as("one prediction per request %s", r.key()).isNull();
        }
        return seen.keySet().containsAll(ids);
      });
      for (int i = 0; i <= n; i++) {
        Prediction p = seen.get("many-request-" + i);
        long expected = i < n ? 1 + i % 5 : 0;
        assertThat(p.getError()).isNull();
        assertThat(p.getAdapterId()).isEqualTo(i < n ? "many-" + i : "many-none");
        assertThat(p.getAdapterVersion()).as("version serving many-%d", i).isEqualTo(expected);
        float[] probs = new float[p.getProbabilities().size()];
        for (int k = 0; k < probs.length; k++) {
          probs[k] = p.getProbabilities().get(k);
        }
        assertThat(mismatch(expected, probs)).as("many-%d", i).isNull();
      }
    }
  }

  /**
   * A hundred adapters under a merge budget of ten adapters' merged weights: the consumer keeps at
   * most that much merged, and a request to an evicted (cold) adapter merges it again and is
   * answered by its own version, every time.
   */
  @Test
  void aMergeBudgetBoundsMergedMemoryAndColdAdaptersAreMergedAgainOnTheirFirstRequest() throws Exception {
    int n = 100;
    Map<String, Object> tx = new HashMap<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
        ProducerConfig.TRANSACTIONAL_ID_CONFIG, "cold-trainer"));
    try (KafkaProducer<String, AdapterSnapshot> trainer = new KafkaProducer<>(tx, new StringSerializer(),
        stack.serdes().adapterSnapshot().serializer())) {
      trainer.initTransactions();
      trainer.beginTransaction();
      for (int i = 0; i < n; i++) {
        AdapterSnapshot s = snapshot("cold-" + i, 1 + i % 5, base.fingerprint(), List.of(), KEY);
        trainer.send(new ProducerRecord<>(stack.catalog().adapters.name(), s.getAdapterId(), s));
      }
      trainer.commitTransaction();
    }
    long perAdapter = 4L * (2 * 2 + 3 * 2); // fc0 (2x2) and head (3x2) merged, float32
    try (io.lorastream.stream.serving.AdapterSubscriber sub = io.lorastream.stream.serving.AdapterSubscriber
        .builder(base).bootstrapServers(stack.bootstrapServers()).topics(stack.catalog())
        .deserializer(stack.serdes().adapterSnapshot().deserializer())
        .rollouts(stack.serdes().rolloutState().deserializer(), io.lorastream.avro.RolloutMode.AUTO)
        .adapterId("*").hmacKey(KEY).clientId("cold-consumer").mergeBudgetBytes(10 * perAdapter).start()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        for (int i = 0; i < n; i++) {
          if (sub.activeVersion("cold-" + i) != 1 + i % 5) {
            return false;
          }
        }
        return true;
      });
      var budget = sub.swapper().mergeBudget();
      assertThat(budget.mergedBytes()).isLessThanOrEqualTo(10 * perAdapter);
      assertThat(budget.evictions()).isGreaterThanOrEqualTo(n - 10);
      long coldBefore = budget.coldMerges();
      List<Long> nanos = new ArrayList<>();
      for (int round = 0; round < 2; round++) {
        for (int i = 0; i < n; i++) {
          long t = System.nanoTime();
          var routed = sub.forRequest("cold-" + i, "q-" + round + "-" + i).orElseThrow();
          float[] p = routed.model().predictProba(X);
          nanos.add(System.nanoTime() - t);
          assertThat(routed.model().version()).isEqualTo(1 + i % 5);
          assertThat(mismatch(1 + i % 5, p)).as("cold-%d", i).isNull();
          assertThat(budget.mergedBytes()).isLessThanOrEqualTo(10 * perAdapter);
        }
      }
      // Cycling through 100 adapters with room for 10 makes every request a cold one.
      assertThat(budget.coldMerges() - coldBefore).isEqualTo(2L * n);
      nanos.sort(null);
      System.out.printf("merge budget: %d adapters, %d merged at most (%d B merged per adapter; A and B kept for "
          + "all: %d B per adapter); first request to a cold adapter p50 %.3f ms, max %.3f ms (merge alone mean "
          + "%.3f ms)%n", n, budget.mergedVersions(), perAdapter, 4L * (2 + 2 + 4 + 6), nanos.get(nanos.size() / 2) / 1e6,
          nanos.get(nanos.size() - 1) / 1e6, budget.coldMergeMeanMillis());
    }
  }

}
