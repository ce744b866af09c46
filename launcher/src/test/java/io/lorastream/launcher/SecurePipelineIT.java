package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.config.SigningKey;
import io.lorastream.localstack.EmbeddedKafka;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.testing.LocalStackExtension;
import io.lorastream.testing.LogCapture;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenarios 4 and 6 of the reliability issue end to end: the whole demo pipeline (ingest,
 * evaluation, trainer, two inference consumers) on a broker that requires SASL/PLAIN, given its
 * credentials only through {@code kafka.*} settings, with snapshots HMAC-signed by the trainer and
 * verified by every consumer under the same key. Clients without (or with wrong) credentials are
 * refused. In the middle of the run four hostile records are committed to {@code adapters} with
 * the pipeline's own credentials: a forged snapshot (signed with another key), an unsigned one, a
 * correctly signed one with a payload byte flipped (all three claiming versions far above the
 * trainer's) and random bytes. Every consumer (both inference consumers and the evaluation's)
 * refuses all four, counts them by reason in {@code lorastream_adapter_rejected_total}, logs why, keeps
 * serving the trainer's versions and follows the trainer to its final version, and no prediction
 * names a version the trainer did not publish. Every log event of the class (Kafka's configuration
 * dumps included), the demo's console and every file it writes are free of the SASL password and
 * of the HMAC keys.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecurePipelineIT {
  private static final String USER = "svc-lorastream";
  // Quote, backslash and space exercise the JAAS quoting on the client and broker side.
  private static final String PASSWORD = "Pipe\"l1ne pw\\Q7-zx";
  private static final String HMAC_KEY = "SecurePipelineIT-hmac-k3y-6a0f";
  private static final String WRONG_KEY = "an-attacker-s-own-hmac-key-77c1";
  private static final List<String> CONSUMERS = List.of("consumer-1", "consumer-2");
  private static final Duration LIMIT = Duration.ofSeconds(120);

  @RegisterExtension @Order(1) static final LogCapture logs = new LogCapture();
  @RegisterExtension @Order(2) static final LocalStackExtension stack = LocalStackExtension.withSasl(USER, PASSWORD);

  @TempDir Path tmp;
  @RegisterExtension final LiveDemo live = new LiveDemo();

  /** Clients the first test saw refused (plain producer, plain admin, wrong password), for the figures. */
  private static int refused;

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  @Order(1)
  void clientsWithoutTheRightCredentialsAreRefused() {
    String topic = stack.catalog().examplesRaw.name();
    Map<String, Object> plain = new HashMap<>();
    plain.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    plain.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 3000);
    plain.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000);
    plain.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 3000);
    try (KafkaProducer<String, String> p = new KafkaProducer<>(plain, new StringSerializer(), new StringSerializer())) {
      assertThatThrownBy(() -> p.send(new ProducerRecord<>(topic, "k", "unauthenticated")).get())
          .satisfies(e -> assertThat(chain(e)).anyMatch(t -> t instanceof TimeoutException));
      refused++;
    }
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000, AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000))) {
      assertThatThrownBy(() -> admin.listTopics().names().get()).isInstanceOf(java.util.concurrent.ExecutionException.class);
      refused++;
    }
    Map<String, Object> wrong = new HashMap<>(EmbeddedKafka.saslClientProperties(USER, "Wr0ng-pw-of-" + USER));
    wrong.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(wrong, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      assertThatThrownBy(() -> c.partitionsFor(stack.catalog().adapters.name(), Duration.ofSeconds(10)))
          .isInstanceOf(SaslAuthenticationException.class)
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain(PASSWORD));
      refused++;
    }
  }

  @Test
  @Order(2)
  void signedPipelineOverSaslRejectsForgedAndUnsignedSnapshotsAndLeaksNoSecret() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    Path out = tmp.resolve("out");
    Map<String, String> overrides = new HashMap<>(stack.kafkaSettings());
    overrides.put("trainer.hmac.key", HMAC_KEY);
    overrides.put("inference.hmac.key", HMAC_KEY);
    overrides.put("trainer.publish.steps", "10");
    overrides.put("trainer.publish.min.interval.ms", "0");
    DemoRun.Settings s = new DemoRun.Settings(6_000, 11, "steps:2@0,4@15,8@35,16@55", "cpu", out, 500, 0.02, 0.02,
        Path.of("target", "it-models"), new PrintStream(console, true, StandardCharsets.UTF_8), overrides, 600);
    DemoRun demo = new DemoRun(s, stack.bootstrapServers(), stack.registryUrl());
    // The consumers' rejections are read while the pipeline still runs: the replay's tail waits
    // until they were seen.
    FutureTask<DemoRun.Summary> running = live.start(demo, 1_500, LIMIT.multipliedBy(4), "secure-pipeline-demo");

    await().atMost(LIMIT).until(() -> demo.metricsUrls().size() == 4 || running.isDone());
    Map<String, String> urls = demo.metricsUrls();
    assertThat(urls).as(console.toString(StandardCharsets.UTF_8)).containsKeys("stream-app", "consumer-1", "consumer-2");
    await("both consumers serve a signed version >= 2").atMost(LIMIT)
        .failFast("the demo ended before the forgery could be injected", running::isDone).ignoreExceptions()
        .until(() -> CONSUMERS.stream().allMatch(c -> active(urls.get(c), c) >= 2));

    // ---- inject hostile snapshots, as someone with write access to the topic would ----------------
    // All claim versions far above anything the trainer publishes in this run, so a consumer that
    // skipped verification would swap them in at once.
    AdapterSnapshot template = latestSnapshot();
    long forgedVersion = template.getVersion() + 1000;
    AdapterSnapshot forged = SnapshotCodec.sign(resealed(template, forgedVersion), SigningKey.parse(WRONG_KEY).orElseThrow());
    AdapterSnapshot unsigned = resealed(template, forgedVersion + 1);
    // A correctly signed snapshot with one payload byte flipped on its way (corruption in transit).
    AdapterSnapshot corrupted = flippedByte(SnapshotCodec.sign(resealed(template, forgedVersion + 2),
        SigningKey.parse(HMAC_KEY).orElseThrow()));
    byte[] garbage = new byte[64];
    new java.util.Random(4).nextBytes(garbage);
    garbage[0] = 0x42; // not the wire format's magic byte
    Map<String, Integer> expectRejected = Map.of("BAD_SIGNATURE", 1, "UNSIGNED", 1, "CHECKSUM", 1, "UNDECODABLE", 1);
    Map<String, Long> servingBefore = new HashMap<>();
    for (String c : CONSUMERS) {
      servingBefore.put(c, active(urls.get(c), c));
    }
    String adapters = stack.catalog().adapters.name();
    org.apache.kafka.common.serialization.Serializer<AdapterSnapshot> values = stack.serdes().adapterSnapshot().serializer();
    Map<String, Object> tx = new HashMap<>(stack.clientProperties());
    tx.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "secure-pipeline-it-forger");
    try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(tx, new StringSerializer(),
        new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      p.initTransactions();
      p.beginTransaction();
      for (AdapterSnapshot bad : List.of(forged, unsigned, corrupted)) {
        p.send(new ProducerRecord<>(adapters, DemoRun.TASK, values.serialize(adapters, bad)));
      }
      p.send(new ProducerRecord<>(adapters, DemoRun.TASK, garbage));
      p.commitTransaction();
    }

    // Every consumer refuses each, by reason, and keeps serving a version the trainer signed.
    Map<String, String> followers = Map.of("consumer-1", urls.get("consumer-1"), "consumer-2", urls.get("consumer-2"),
        "eval", urls.get("stream-app"));
    await("every consumer rejected the injected snapshots").atMost(LIMIT).ignoreExceptions()
        .untilAsserted(() -> followers.forEach((c, url) -> {
          PromText m = scrape(url);
          expectRejected.forEach((reason, n) -> assertThat(m.value("lorastream_adapter_rejected_total", "consumer", c,
              "reason", reason)).as("%s %s", c, reason).isEqualTo(n.doubleValue()));
          assertThat(m.sum("lorastream_adapter_rejected_total", "consumer", c)).as(c).isEqualTo(4.0);
          assertThat(m.value("lorastream_adapter_active_version", "consumer", c)).as(c)
              .isLessThan(forgedVersion).isGreaterThanOrEqualTo(servingBefore.getOrDefault(c, 1L));
        }));

    live.releaseTail();
    DemoRun.Summary sm = running.get(LIMIT.toSeconds() * 2, TimeUnit.SECONDS);
    String text = console.toString(StandardCharsets.UTF_8);

    // ---- the pipeline worked, signed, over SASL ------------------------------------------------
    assertThat(sm.ok()).as(text).isTrue();
    assertThat(sm.reconciled()).isTrue();
    assertThat(sm.examplesTrained() + sm.examplesHoldout() + sm.examplesDeadLettered() + sm.examplesDuplicates())
        .isEqualTo(sm.examplesProduced());
    assertThat(sm.versionsPublished()).as("the trainer kept publishing after the forgery")
        .isGreaterThan((int) template.getVersion()).isGreaterThanOrEqualTo(3);
    assertThat(sm.extra().get("predictionsNamingUnpublishedVersion")).as("no prediction names a forged version")
        .isEqualTo(0L);
    long served = (Long) ((Map<?, ?>) sm.extra().get("rollout")).get("servedVersion");
    for (Map<String, Object> c : sm.consumers()) {
      assertThat((Integer) c.get("versionsApplied")).as(text).isGreaterThanOrEqualTo(2);
      assertThat((Long) c.get("activeVersion")).as("serves what the signed rollout state says").isEqualTo(served);
      assertThat(c.get("rejectedSnapshots")).as("%s rejected the 4 injected records", c.get("name")).isEqualTo(4L);
      PromText last = new PromText(Files.readString(out.resolve("metrics/" + c.get("name") + ".prom")));
      expectRejected.forEach((reason, n) -> assertThat(last.value("lorastream_adapter_rejected_total", "consumer",
          (String) c.get("name"), "reason", reason)).as("%s %s", c.get("name"), reason).isEqualTo(n.doubleValue()));
    }
    byte[] key = SigningKey.parse(HMAC_KEY).orElseThrow();
    List<Long> signedVersions = new ArrayList<>();
    for (AdapterSnapshot a : snapshots()) {
      if (a.getVersion() >= forgedVersion) {
        continue; // the injected ones
      }
      assertThat(a.getSignature()).as("v%d is signed", a.getVersion()).isNotNull();
      assertThat(a.getSignature()).as("v%d carries the trainer's HMAC under the shared key", a.getVersion())
          .isEqualTo(SnapshotCodec.sign(a, key).getSignature());
      signedVersions.add(a.getVersion());
    }
    assertThat(signedVersions).hasSize(sm.versionsPublished());

    // ---- the consumers said why, and no secret reached a log, the console or a result file ------
    List<String> lines = logs.lines();
    assertThat(lines.stream().anyMatch(l -> l.contains("sasl.jaas.config = [hidden]")))
        .as("Kafka's configuration dumps were captured (%d lines)", lines.size()).isTrue();
    assertThat(lines.stream().anyMatch(l -> l.contains("security.protocol = SASL_PLAINTEXT"))).isTrue();
    Map<String, Long> injected = Map.of("BAD_SIGNATURE", forgedVersion, "UNSIGNED", forgedVersion + 1,
        "CHECKSUM", forgedVersion + 2);
    injected.forEach((reason, version) -> {
      java.util.regex.Pattern why = java.util.regex.Pattern.compile("Rejected adapter " + reason + ": snapshot "
          + DemoRun.TASK + " v" + version + "\\b.*; still serving " + DemoRun.TASK + " v\\d+");
      assertThat(lines.stream().anyMatch(l -> why.matcher(l).find()))
          .as("a log line says why v%d was rejected (%s)", version, reason).isTrue();
    });
    assertThat(lines.stream().anyMatch(l -> l.contains("Rejected undecodable adapter record at " + adapters + "-")))
        .as("a log line says the random bytes were rejected").isTrue();
    List<String> secrets = secretForms();
    for (String secret : secrets) {
      // Only offending lines are shown, with the secret masked, so a failure does not leak it either.
      assertThat(lines.stream().filter(l -> l.contains(secret)).map(l -> l.replace(secret, "<SECRET>")).toList())
          .as("captured log lines containing a secret").isEmpty();
      assertThat(text.contains(secret)).as("the demo console contains a secret").isFalse();
    }
    assertThat(lines.stream().filter(l -> l.contains("password=\"")).map(l -> l.replaceAll("password=\".*?\"",
        "password=<SECRET>")).toList()).as("captured log lines with JAAS text").isEmpty();
    List<Path> files;
    try (Stream<Path> walk = Files.walk(out)) {
      files = walk.filter(Files::isRegularFile).toList();
    }
    assertThat(files).contains(out.resolve("summary.json"));
    for (Path f : files) {
      // Byte for byte (demo.png is binary): an ASCII secret would show up in any file as the same bytes.
      String content = new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1);
      for (String secret : secrets) {
        assertThat(content.contains(secret)).as("%s contains a secret", out.relativize(f)).isFalse();
      }
    }

    Map<String, Object> json = new java.util.LinkedHashMap<>();
    json.put("scenario", "snapshot authenticity + SASL passthrough (whole pipeline)");
    json.put("command", "mvn -B -pl launcher verify -Dit.test=SecurePipelineIT");
    json.put("unauthenticatedClientsRefused", refused);
    json.put("hostileSnapshotsInjected", expectRejected.size());
    json.put("hostileSnapshotsByKind", Map.of("forged signature", 1, "unsigned", 1, "corrupted in transit", 1,
        "undecodable bytes", 1));
    json.put("consumersChecked", followers.keySet().stream().sorted().toList());
    json.put("rejectionsPerConsumer", expectRejected);
    json.put("hostileSnapshotsServed", 0);
    json.put("versionsPublished", sm.versionsPublished());
    json.put("recordsProduced", sm.examplesProduced());
    json.put("recordsLost", sm.examplesProduced()
        - (sm.examplesTrained() + sm.examplesHoldout() + sm.examplesDeadLettered() + sm.examplesDuplicates()));
    json.put("logLinesScanned", lines.size());
    json.put("filesScanned", files.size());
    json.put("secretsFound", 0);
    ReliabilityFigures.write("secure-pipeline.json", json);
  }

  /** The password and the keys, verbatim and in the encodings a careless log line might use. */
  private static List<String> secretForms() {
    List<String> out = new ArrayList<>();
    for (String s : List.of(PASSWORD, HMAC_KEY, WRONG_KEY)) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      out.add(s);
      out.add(HexFormat.of().formatHex(b));
      out.add(Base64.getEncoder().encodeToString(b));
    }
    out.add(PASSWORD.replace("\\", "\\\\").replace("\"", "\\\"")); // JAAS-quoted
    return out;
  }

  private long active(String url, String consumer) {
    return (long) scrape(url).value("lorastream_adapter_active_version", "consumer", consumer);
  }

  private PromText scrape(String base) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      return new PromText(r.body());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Every committed, decodable snapshot of the demo's adapter, read with the pipeline's credentials. */
  private static List<AdapterSnapshot> snapshots() {
    String topic = stack.catalog().adapters.name();
    List<AdapterSnapshot> out = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : CommittedRecords.readAll(stack.clientProperties(), topic)) {
      AdapterSnapshot s;
      try {
        s = stack.serdes().adapterSnapshot().deserializer().deserialize(topic, r.value());
      } catch (org.apache.kafka.common.errors.SerializationException injectedGarbage) {
        continue;
      }
      if (s.getAdapterId().equals(DemoRun.TASK)) {
        out.add(s);
      }
    }
    return out;
  }

  private static AdapterSnapshot latestSnapshot() {
    return snapshots().stream().max(java.util.Comparator.comparingLong(AdapterSnapshot::getVersion)).orElseThrow();
  }

  /** A well-formed copy claiming {@code version}: checksum recomputed, no signature. */
  private static AdapterSnapshot resealed(AdapterSnapshot s, long version) {
    AdapterSnapshot copy = AdapterSnapshot.newBuilder(s).build();
    copy.setVersion(version);
    copy.setCreatedAt(Instant.now());
    copy.setSignature(null);
    copy.setChecksum(ByteBuffer.wrap(SnapshotCodec.checksum(copy)));
    return copy;
  }

  /** A copy with one byte of the first layer's A flipped and nothing else changed. */
  private static AdapterSnapshot flippedByte(AdapterSnapshot s) {
    AdapterSnapshot copy = AdapterSnapshot.newBuilder(s).build();
    io.lorastream.avro.LayerAdapter layer = copy.getLayers().get(0);
    ByteBuffer a = layer.getA().duplicate();
    byte[] bytes = new byte[a.remaining()];
    a.get(bytes);
    bytes[bytes.length / 2] ^= 0x10;
    layer.setA(ByteBuffer.wrap(bytes));
    return copy;
  }

  private static List<Throwable> chain(Throwable t) {
    List<Throwable> out = new ArrayList<>();
    for (Throwable c = t; c != null && !out.contains(c); c = c.getCause()) {
      out.add(c);
    }
    return out;
  }
}
