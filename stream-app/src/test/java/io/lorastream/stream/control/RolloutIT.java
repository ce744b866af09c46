package io.lorastream.stream.control;

import static io.lorastream.stream.serving.VersionedAdapters.X;
import static io.lorastream.stream.serving.VersionedAdapters.snapshot;
import static io.lorastream.stream.serving.VersionedAdapters.targetClass;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.RolloutAction;
import io.lorastream.avro.RolloutMode;
import io.lorastream.avro.RolloutState;
import io.lorastream.avro.VersionStatus;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.stream.rollout.RolloutConfig;
import io.lorastream.stream.serving.AdapterSubscriber;
import io.lorastream.stream.serving.AdapterSwapper;
import io.lorastream.stream.serving.RejectReason;
import io.lorastream.stream.serving.VersionedAdapters;
import io.lorastream.testing.LocalStackExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Rollouts end to end on the embedded broker: a real controller, signed commands, and two
 * consumers whose served versions are checked after every decision (and, where it matters, every
 * version they ever served, through their swap listeners).
 */
class RolloutIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension();

  private static final byte[] KEY = "rollout-integration-shared-secret".getBytes(StandardCharsets.UTF_8);
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int GATE_EXAMPLES = 40;

  private static BaseModel base;
  private static CommonConfig common;
  private static RolloutController controller;
  private static RolloutClient ops;
  private static KafkaProducer<String, AdapterSnapshot> trainer;
  private static KafkaProducer<String, LabeledExample> examples;
  private static final List<AutoCloseable> open = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    base = VersionedAdapters.zeroBase();
    common = new CommonConfig(LayeredConfig.load(CommonConfig.DEFAULTS, null, Map.of(), Map.of(
        CommonConfig.BOOTSTRAP, stack.bootstrapServers(), CommonConfig.REGISTRY_URL, stack.registryUrl())));
    Map<String, String> settings = new HashMap<>(RolloutConfig.DEFAULTS);
    settings.put(RolloutConfig.MODE, "gated");
    settings.put(RolloutConfig.GATE_EXAMPLES, String.valueOf(GATE_EXAMPLES));
    settings.put(RolloutConfig.HMAC_KEY, new String(KEY, StandardCharsets.UTF_8));
    RolloutConfig cfg = RolloutConfig.from(LayeredConfig.of(settings));
    controller = RolloutController.start(cfg, common, stack.serdes(), base);
    assertThat(controller.awaitReady(WAIT)).as("controller ready").isTrue();
    ops = new RolloutClient(common, stack.serdes(), KEY, "ops@rollout-it");
    Map<String, Object> tx = new HashMap<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
        ProducerConfig.TRANSACTIONAL_ID_CONFIG, "rollout-it-trainer"));
    trainer = new KafkaProducer<>(tx, new StringSerializer(), stack.serdes().adapterSnapshot().serializer());
    trainer.initTransactions();
    examples = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()),
        new StringSerializer(), stack.serdes().labeledExample().serializer());
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    examples.close();
    trainer.close();
    ops.close();
    controller.close();
    base.close();
  }

  /** A consumer of {@code adapterId} that follows the controller; it records every version it serves. */
  private static Consumer consumer(String adapterId, String name, String adaptersTopic) {
    List<Long> served = new CopyOnWriteArrayList<>();
    AdapterSubscriber s = AdapterSubscriber.builder(base)
        .bootstrapServers(stack.bootstrapServers())
        .topics(stack.catalog())
        .topic(adaptersTopic)
        .deserializer(stack.serdes().adapterSnapshot().deserializer())
        .rollouts(stack.serdes().rolloutState().deserializer(), RolloutMode.GATED)
        .adapterId(adapterId)
        .hmacKey(KEY)
        .clientId(name)
        .consumerId(name)
        .onSwap((id, version, at) -> served.add(version))
        .start();
    open.add(s);
    return new Consumer(s, served);
  }

  private static Consumer consumer(String adapterId, String name) {
    return consumer(adapterId, name, stack.catalog().adapters.name());
  }

  private record Consumer(AdapterSubscriber subscriber, List<Long> served) {
    long serving(String id) {
      return subscriber.swapper().current(id).version();
    }
  }

  private static void publish(String adapterId, long... versions) {
    trainer.beginTransaction();
    for (long v : versions) {
      AdapterSnapshot s = snapshot(adapterId, v, base.fingerprint(), List.of(), KEY);
      trainer.send(new ProducerRecord<>(stack.catalog().adapters.name(), adapterId, s));
    }
    trainer.commitTransaction();
  }

  /** Holdout examples of {@code task} whose right answer is {@code label} for the input {@link VersionedAdapters#X}. */
  private static void holdout(String task, int label, int n) {
    List<Float> f = new ArrayList<>();
    for (float x : X) {
      f.add(x);
    }
    for (int i = 0; i < n; i++) {
      String id = task + "-eval-" + System.nanoTime();
      examples.send(new ProducerRecord<>(stack.catalog().examplesEval.name(), id, LabeledExample.newBuilder()
          .setId(id).setTask(task).setFeatures(f).setLabel(label).setEventTime(Instant.now()).build()));
    }
    examples.flush();
  }

  private static RolloutState state(String id) {
    return controller.state(id).orElseThrow();
  }

  private static VersionStatus status(String id, long v) {
    return state(id).getVersions().stream().filter(e -> e.getVersion() == v).findFirst().orElseThrow().getStatus();
  }

  private static RolloutClient.Answer command(String id, RolloutAction a, Long version) throws Exception {
    return ops.issue(RolloutClient.command(id, a).setVersion(version), WAIT);
  }

  private static void mode(String id, String mode) throws Exception {
    assertThat(ops.issue(RolloutClient.command(id, RolloutAction.MODE).setMode(mode), WAIT).accepted()).isTrue();
  }

  /** Feeds holdout examples until the gate has decided on {@code version} of {@code id}. */
  private static void gateDecides(String id, long version, int label) {
    await().atMost(WAIT).until(() -> {
      VersionStatus st = status(id, version);
      if (st == VersionStatus.CANDIDATE) {
        holdout(id, label, GATE_EXAMPLES / 4);
        return false;
      }
      return true;
    });
  }

  @Test
  void theGateRejectsABadCandidateThatNoConsumerEverServesAndPromotesAGoodOne() throws Exception {
    String id = "gate-a";
    Consumer one = consumer(id, "gate-one");
    Consumer two = consumer(id, "gate-two");
    assertThat(one.subscriber().awaitCaughtUp(WAIT)).isTrue();
    assertThat(two.subscriber().awaitCaughtUp(WAIT)).isTrue();
    int right = targetClass(1); // what v1 (and v4) predict for X; v2 predicts another class

    publish(id, 1);
    await().atMost(WAIT).until(() -> controller.state(id).map(s -> Long.valueOf(1).equals(s.getCandidateVersion()))
        .orElse(false));
    assertThat(one.serving(id)).as("a candidate is not served before the gate decides").isZero();
    gateDecides(id, 1, right);
    assertThat(status(id, 1)).isEqualTo(VersionStatus.ACTIVE);
    await().atMost(WAIT).until(() -> one.serving(id) == 1 && two.serving(id) == 1);

    publish(id, 2);
    await().atMost(WAIT).until(() -> controller.state(id).map(s -> Long.valueOf(2).equals(s.getCandidateVersion()))
        .orElse(false));
    gateDecides(id, 2, right);
    RolloutState s = state(id);
    assertThat(status(id, 2)).isEqualTo(VersionStatus.REJECTED);
    var decision = s.getDecisions().get(s.getDecisions().size() - 1);
    assertThat(decision.getAction()).isEqualTo("REJECT");
    assertThat(decision.getActor()).isEqualTo(RolloutController.GATE);
    assertThat(decision.getFigures()).containsEntry(CandidateGate.CANDIDATE_ACCURACY, 0.0)
        .containsEntry(CandidateGate.ACTIVE_ACCURACY, 1.0);
    assertThat(decision.getFigures().get(CandidateGate.N)).isGreaterThanOrEqualTo(GATE_EXAMPLES);

    publish(id, 4);
    await().atMost(WAIT).until(() -> controller.state(id).map(x -> Long.valueOf(4).equals(x.getCandidateVersion()))
        .orElse(false));
    gateDecides(id, 4, right);
    await().atMost(WAIT).until(() -> one.serving(id) == 4 && two.serving(id) == 4);
    for (Consumer c : List.of(one, two)) {
      assertThat(c.served()).as("versions served by %s", c.subscriber().name()).containsExactly(1L, 4L);
    }
  }

  @Test
  void aCanaryServesItsShareByAStableHashOfTheRequestIdAndANamedConsumerServesItToAll() throws Exception {
    String id = "canary-a";
    mode(id, "manual");
    Consumer one = consumer(id, "canary-one");
    Consumer two = consumer(id, "canary-two");
    publish(id, 1);
    await().atMost(WAIT).until(() -> controller.state(id).map(s -> s.getCandidateVersion() != null).orElse(false));
    assertThat(command(id, RolloutAction.PROMOTE, null).accepted()).isTrue();
    publish(id, 2);
    await().atMost(WAIT).until(() -> Long.valueOf(2).equals(state(id).getCandidateVersion()));
    RolloutClient.Answer canary = ops.issue(RolloutClient.command(id, RolloutAction.CANARY).setShare(0.3)
        .setConsumers(List.of("canary-two")), WAIT);
    assertThat(canary.accepted()).as(canary.decision().getReason()).isTrue();
    await().atMost(WAIT).until(() -> one.subscriber().swapper().canary(id).isPresent()
        && two.subscriber().swapper().canary(id).isPresent() && one.serving(id) == 1 && two.serving(id) == 1);

    int n = 4000;
    int toCanary = 0;
    Consumer third = consumer(id, "canary-three");
    assertThat(third.subscriber().awaitCaughtUp(WAIT)).isTrue();
    await().atMost(WAIT).until(() -> third.subscriber().swapper().canary(id).isPresent());
    for (int i = 0; i < n; i++) {
      String req = "req-" + i;
      AdapterSwapper.Routed r = one.subscriber().forRequest(id, req).orElseThrow();
      assertThat(r.model().version()).isEqualTo(r.role().equals(AdapterSwapper.Routed.CANARY) ? 2 : 1);
      if (r.role().equals(AdapterSwapper.Routed.CANARY)) {
        toCanary++;
      }
      assertThat(third.subscriber().forRequest(id, req).orElseThrow().role()).as("same route on every consumer")
          .isEqualTo(r.role());
      AdapterSwapper.Routed named = two.subscriber().forRequest(id, req).orElseThrow();
      assertThat(named.role()).isEqualTo(AdapterSwapper.Routed.CANARY);
      assertThat(named.model().version()).isEqualTo(2);
    }
    // 0.3 of 4000 requests: a binomial sd of 29 requests, so +-0.04 is more than five of them.
    assertThat(toCanary / (double) n).isBetween(0.26, 0.34);

    assertThat(command(id, RolloutAction.PROMOTE, null).accepted()).isTrue();
    await().atMost(WAIT).until(() -> one.serving(id) == 2 && two.serving(id) == 2
        && one.subscriber().swapper().canary(id).isEmpty() && two.subscriber().swapper().canary(id).isEmpty());
  }

  @Test
  void aRollbackUnderLoadReachesEveryConsumerAndAPinOutlastsNewSnapshotsUntilUnpinned() throws Exception {
    String id = "roll-a";
    mode(id, "auto");
    Consumer one = consumer(id, "roll-one");
    Consumer two = consumer(id, "roll-two");
    publish(id, 1, 2, 3);
    await().atMost(WAIT).until(() -> one.serving(id) == 3 && two.serving(id) == 3);

    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong answered = new AtomicLong();
    Set<Long> seen = ConcurrentHashMap.newKeySet();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    Thread load = new Thread(() -> {
      long i = 0;
      while (running.get()) {
        for (Consumer c : List.of(one, two)) {
          try {
            AdapterSwapper.Routed r = c.subscriber().forRequest(id, "load-" + i++).orElseThrow();
            r.model().predictProba(X);
            seen.add(r.model().version());
            answered.incrementAndGet();
          } catch (Throwable t) {
            errors.add(t);
          }
        }
      }
    }, "rollout-load");
    load.start();
    try {
      await().atMost(WAIT).until(() -> answered.get() > 1000);
      long sent = System.nanoTime();
      RolloutClient.Answer back = command(id, RolloutAction.ROLLBACK, null);
      assertThat(back.accepted()).as(back.decision().getReason()).isTrue();
      assertThat(back.state().getActiveVersion()).isEqualTo(2);
      assertThat(back.state().getPinnedVersion()).as("auto mode pins the rollback target").isEqualTo(2);
      assertThat(one.subscriber().swapper().awaitServing(id, 2, WAIT)).isTrue();
      assertThat(two.subscriber().swapper().awaitServing(id, 2, WAIT)).isTrue();
      System.out.printf("rollback under load: command to served on both consumers in %.1f ms%n",
          (System.nanoTime() - sent) / 1e6);

      publish(id, 4, 5);
      await().atMost(WAIT).until(() -> state(id).getLatestVersion() == 5);
      await().atMost(WAIT).until(() -> one.subscriber().swapper().preparedVersions(id).contains(5L)
          && two.subscriber().swapper().preparedVersions(id).contains(5L));
      assertThat(one.serving(id)).as("the pin outlasts new snapshots").isEqualTo(2);
      assertThat(two.serving(id)).isEqualTo(2);
    } finally {
      running.set(false);
      load.join();
    }
    assertThat(errors).isEmpty();
    assertThat(seen).isSubsetOf(1L, 2L, 3L);
    assertThat(command(id, RolloutAction.UNPIN, null).accepted()).isTrue();
    await().atMost(WAIT).until(() -> one.serving(id) == 5 && two.serving(id) == 5);
    assertThat(one.served()).containsSubsequence(3L, 2L, 5L).doesNotContain(4L);
  }

  @Test
  void aRestartedConsumerRestoresTheRolloutFromTheTopicsEvenAfterCompactionDroppedOldSnapshots() throws Exception {
    String id = "restart-a";
    mode(id, "auto");
    Consumer first = consumer(id, "restart-one");
    publish(id, 1, 2, 3);
    await().atMost(WAIT).until(() -> first.serving(id) == 3);
    assertThat(command(id, RolloutAction.ROLLBACK, 1L).accepted()).isTrue();
    await().atMost(WAIT).until(() -> first.serving(id) == 1);
    first.subscriber().close();

    // What compaction leaves of the adapters topic: only the newest snapshot of the adapter.
    String compacted = "restart-adapters-compacted";
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(compacted, 1, (short) 1))).all().get();
    }
    trainer.beginTransaction();
    trainer.send(new ProducerRecord<>(compacted, id, snapshot(id, 3, base.fingerprint(), List.of(), KEY)));
    trainer.commitTransaction();

    Consumer restarted = consumer(id, "restart-two", compacted);
    assertThat(restarted.subscriber().awaitCaughtUp(WAIT)).isTrue();
    assertThat(restarted.serving(id)).as("the rolled-back-to version, read from adapters.retained").isEqualTo(1);
    assertThat(restarted.served()).as("never the newest snapshot first").containsExactly(1L);
  }

  @Test
  void unsignedCommandsAreRefusedAndForgedStatesAreIgnored() throws Exception {
    String id = "signed-a";
    mode(id, "auto");
    Consumer one = consumer(id, "signed-one");
    publish(id, 1, 2);
    await().atMost(WAIT).until(() -> one.serving(id) == 2);
    try (RolloutClient intruder = new RolloutClient(common, stack.serdes(), null, "intruder")) {
      RolloutClient.Answer a = intruder.issue(RolloutClient.command(id, RolloutAction.PIN).setVersion(1L), WAIT);
      assertThat(a.accepted()).isFalse();
      assertThat(a.decision().getReason()).startsWith("UNSIGNED");
      assertThat(a.state().getPinnedVersion()).isNull();
    }
    RolloutState forged = RolloutState.newBuilder(state(id)).setPinnedVersion(1L)
        .setRevision(state(id).getRevision() + 100).setSignature(null).build();
    try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        stack.bootstrapServers()), new StringSerializer(), new ByteArraySerializer())) {
      p.send(new ProducerRecord<>(stack.catalog().adaptersControl.name(), id,
          stack.serdes().rolloutState().serializer().serialize(stack.catalog().adaptersControl.name(), forged))).get();
    }
    await().atMost(WAIT).until(() -> one.subscriber().rejected(RejectReason.FORGED_STATE) >= 1);
    assertThat(one.serving(id)).isEqualTo(2);
  }
}
