package io.lorastream.localstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lorastream.avro.LabeledExample;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.localstack.registry.KafkaSchemaStore;
import io.lorastream.localstack.registry.StoreException;
import io.lorastream.registry.SchemaRegistryClient;
import io.lorastream.testing.LocalStackExtension;
import io.lorastream.testing.LogCapture;
import io.lorastream.testing.SampleRecords;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The embedded stack with SASL/PLAIN on the broker's client listener (issue 6, "security
 * passthrough"): unauthenticated and wrongly authenticated clients are refused, the right
 * credentials produce and consume (plain, Avro through the registry, and transactionally, which
 * needs the broker's own inter-broker login), the Kafka-backed registry persists and replays over
 * the secured listener, and no credential reaches any log line. Logs are captured from before the
 * broker starts; the last test inspects them.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SaslEmbeddedKafkaIT {
  private static final String USER = "svc-trainer";
  // Quote, backslash and space exercise the JAAS quoting on both the broker and the client side.
  private static final String PASSWORD = "Tr41n\"er pw\\q8Zx";
  private static final String WRONG_PASSWORD = "N0t-The-Pw-5531";

  @RegisterExtension @Order(1) static final LogCapture logs = LogCapture.withOurDebugLogs();
  @RegisterExtension @Order(2) static final LocalStackExtension stack = LocalStackExtension.withSasl(USER, PASSWORD);

  @Test
  @Order(1)
  void anUnauthenticatedClientCannotProduceOrReadMetadata() {
    String topic = stack.catalog().metrics.name();
    long endBefore = endOffset(topic, 0);

    Map<String, Object> plain = new HashMap<>();
    plain.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    plain.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 3000);
    plain.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000);
    plain.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 3000);
    try (KafkaProducer<String, String> p = new KafkaProducer<>(plain, new StringSerializer(), new StringSerializer())) {
      assertThatThrownBy(() -> p.send(new ProducerRecord<>(topic, 0, "k", "unauthenticated")).get())
          .satisfies(e -> assertThat(chain(e)).anyMatch(t -> t instanceof org.apache.kafka.common.errors.TimeoutException));
    }
    Map<String, Object> adminPlain = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000, AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000);
    try (Admin admin = Admin.create(adminPlain)) {
      assertThatThrownBy(() -> admin.listTopics().names().get()).isInstanceOf(java.util.concurrent.ExecutionException.class);
    }
    assertThat(endOffset(topic, 0)).as("nothing was written by the unauthenticated producer").isEqualTo(endBefore);
  }

  @Test
  @Order(2)
  void aWrongPasswordOrUnknownUserFailsWithSaslAuthenticationException() {
    String topic = stack.catalog().metrics.name();
    for (Map<String, String> creds : List.of(
        EmbeddedKafka.saslClientProperties(USER, WRONG_PASSWORD),
        EmbeddedKafka.saslClientProperties("nobody", PASSWORD))) {
      Map<String, Object> cfg = new HashMap<>(creds);
      cfg.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
      cfg.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
      try (KafkaProducer<String, String> p = new KafkaProducer<>(cfg, new StringSerializer(), new StringSerializer())) {
        assertThatThrownBy(() -> p.send(new ProducerRecord<>(topic, 0, "k", "v")).get())
            .satisfies(e -> assertThat(chain(e)).anyMatch(t -> t instanceof SaslAuthenticationException))
            .satisfies(e -> assertThat(chain(e)).noneMatch(t -> String.valueOf(t.getMessage()).contains(PASSWORD)
                || String.valueOf(t.getMessage()).contains(WRONG_PASSWORD)));
      }
      Map<String, Object> cc = new HashMap<>(creds);
      cc.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
      cc.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
      try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cc, new StringDeserializer(), new StringDeserializer())) {
        c.assign(List.of(new TopicPartition(topic, 0)));
        assertThatThrownBy(() -> c.poll(Duration.ofSeconds(10))).isInstanceOf(SaslAuthenticationException.class);
      }
    }
  }

  @Test
  @Order(3)
  void theRightCredentialsProduceAndConsumeAvroAndTransactionally() throws Exception {
    String examples = stack.catalog().examplesRaw.name();
    LabeledExample ex = SampleRecords.labeledExample(11, 16);
    try (KafkaProducer<String, LabeledExample> p = new KafkaProducer<>(objects(stack.clientProperties()),
        new StringSerializer(), stack.serdes().labeledExample().serializer())) {
      p.send(new ProducerRecord<>(examples, 0, "e1", ex)).get();
    }
    assertThat(consume(examples, 1, stack.serdes().labeledExample().deserializer(), "read_uncommitted"))
        .containsExactly(ex);

    // Transaction markers travel over the broker's own (admin) login on the SASL listener.
    String metrics = stack.catalog().metrics.name();
    Map<String, Object> tx = objects(stack.clientProperties());
    tx.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "sasl-it-tx");
    tx.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
    try (KafkaProducer<String, String> p = new KafkaProducer<>(tx, new StringSerializer(), new StringSerializer())) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>(metrics, 0, "k", "aborted"));
      p.abortTransaction();
      p.beginTransaction();
      p.send(new ProducerRecord<>(metrics, 0, "k", "committed-1"));
      p.send(new ProducerRecord<>(metrics, 0, "k", "committed-2"));
      p.commitTransaction();
    }
    assertThat(consume(metrics, 2, new StringDeserializer(), "read_committed"))
        .containsExactly("committed-1", "committed-2");
  }

  @Test
  @Order(4)
  void theKafkaBackedRegistryPersistsAndReplaysOverTheSecuredListener() throws Exception {
    Schema first = SchemaBuilder.record("SaslProbe").namespace("io.lorastream.test").fields()
        .requiredString("id").endRecord();
    SchemaRegistryClient client = stack.newRegistryClient();
    int id = client.register("sasl-probe-value", first);

    // The registration is in _schemas, written by the registry's authenticated producer.
    List<String> keys = new ArrayList<>();
    for (byte[] k : consume("_schemas", 1, new ByteArrayDeserializer(), "read_committed", true)) {
      keys.add(new String(k, java.nio.charset.StandardCharsets.UTF_8));
    }
    assertThat(keys).anyMatch(k -> k.contains("\"sasl-probe-value\""));

    // A new registry instance replays the topic over SASL and serves the same id.
    stack.restartRegistry();
    assertThat(stack.newRegistryClient().getSchemaById(id)).isEqualTo(first);

    // After a broker restart the store's clients log in again and can write.
    stack.kafka().stop();
    stack.kafka().start();
    Schema second = SchemaBuilder.record("SaslProbe").namespace("io.lorastream.test").fields()
        .requiredString("id").optionalString("note").endRecord();
    int id2 = stack.newRegistryClient().register("sasl-probe-value", second);
    assertThat(id2).isNotEqualTo(id);
    stack.restartRegistry();
    assertThat(stack.newRegistryClient().listVersions("sasl-probe-value")).containsExactly(1, 2);

    // A store with a wrong password fails with a clear error instead of hanging or leaking it.
    Map<String, String> wrong = EmbeddedKafka.saslClientProperties(EmbeddedKafka.SASL_ADMIN_USER, WRONG_PASSWORD);
    KafkaSchemaStore bad = new KafkaSchemaStore(stack.bootstrapServers(), "_schemas", wrong, (short) 1, Duration.ofSeconds(10));
    try {
      assertThatThrownBy(bad::replay).isInstanceOf(StoreException.class)
          .satisfies(e -> assertThat(chain(e)).anyMatch(t -> t instanceof SaslAuthenticationException))
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain(WRONG_PASSWORD));
    } finally {
      bad.close();
    }
  }

  @Test
  @Order(5)
  void kafkaPassThroughSettingsFromTheEnvironmentWorkAndAreRedacted() throws Exception {
    // What a container gets: LORASTREAM_KAFKA_* variables, mapped to kafka.* keys.
    Map<String, String> env = new HashMap<>();
    stack.kafkaSettings().forEach((k, v) -> env.put(LayeredConfig.keyToEnv(k), v));
    LayeredConfig layered = LayeredConfig.load(CommonConfig.DEFAULTS, null, env, Map.of("registry.url", stack.registryUrl()));
    CommonConfig common = new CommonConfig(layered);
    assertThat(common.kafkaProperties()).containsEntry("sasl.mechanism", "PLAIN")
        .containsEntry("security.protocol", "SASL_PLAINTEXT");

    String topic = stack.catalog().examplesEval.name();
    try (KafkaProducer<String, String> p = new KafkaProducer<>(objects(common.kafkaProperties()),
        new StringSerializer(), new StringSerializer())) {
      p.send(new ProducerRecord<>(topic, 0, "k", "via-pass-through")).get();
    }
    assertThat(consume(topic, 1, new StringDeserializer(), "read_committed")).containsExactly("via-pass-through");

    Map<String, String> shown = layered.redactedView();
    assertThat(shown).containsEntry("kafka.sasl.jaas.config", "<redacted>");
    assertThat(shown.toString()).doesNotContain(PASSWORD);
    // The startup line every service prints; the last test proves it leaked nothing.
    LoggerFactory.getLogger(SaslEmbeddedKafkaIT.class).info("service configuration {}", shown);
  }

  @Test
  @Order(6)
  void noCredentialEverReachedALogLine() {
    List<String> lines = logs.lines();
    // The capture really saw our loggers and Kafka's configuration dumps (at INFO during this class).
    assertThat(lines).anyMatch(l -> l.contains("embedded Kafka ready") && l.contains("SASL_PLAINTEXT/PLAIN"));
    assertThat(lines).anyMatch(l -> l.contains("service configuration") && l.contains("<redacted>"));
    assertThat(lines).anyMatch(l -> l.contains("sasl.jaas.config = [hidden]"));
    assertThat(lines).noneMatch(l -> l.contains(PASSWORD));
    assertThat(lines).noneMatch(l -> l.contains(WRONG_PASSWORD));
    // Any JAAS text at all (e.g. the broker's listener entry with the generated admin password).
    assertThat(lines).noneMatch(l -> l.contains("password=\"") || l.contains("user_admin"));
  }

  // ---------------------------------------------------------------------------------------------

  private static long endOffset(String topic, int partition) {
    Map<String, Object> cc = objects(stack.cluster().clientProperties());
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cc, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, partition);
      return c.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
    }
  }

  private static <T> List<T> consume(String topic, int atLeast, Deserializer<T> values, String isolation) {
    return consume(topic, atLeast, values, isolation, false);
  }

  /** Reads partition 0 (or only its keys) from the beginning as the test user until enough arrived. */
  @SuppressWarnings("unchecked")
  private static <T> List<T> consume(String topic, int atLeast, Deserializer<T> values, String isolation, boolean keys) {
    Map<String, Object> cc = objects(stack.clientProperties());
    cc.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    List<T> out = new CopyOnWriteArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cc, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          out.add(keys ? (T) r.key() : values.deserialize(topic, r.value()));
        }
        return out.size() >= atLeast;
      });
    }
    return out;
  }

  private static Map<String, Object> objects(Map<String, String> m) {
    return new HashMap<>(m);
  }

  private static List<Throwable> chain(Throwable t) {
    List<Throwable> out = new ArrayList<>();
    for (Throwable c = t; c != null && !out.contains(c); c = c.getCause()) {
      out.add(c);
    }
    return out;
  }
}
