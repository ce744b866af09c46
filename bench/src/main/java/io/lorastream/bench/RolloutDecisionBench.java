package io.lorastream.bench;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.RolloutAction;
import io.lorastream.avro.RolloutMode;
import io.lorastream.config.CommonConfig;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.control.RolloutClient;
import io.lorastream.stream.control.RolloutController;
import io.lorastream.stream.rollout.RolloutConfig;
import io.lorastream.stream.serving.AdapterSubscriber;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Item 4b: rollout decision latency. A rollout controller and four consumers that follow it, in
 * manual mode, on topics of their own; an operator alternates promote and rollback between two
 * rank-16 versions. Latency = the moment each consumer serves the target (its swap listener's
 * activation time) - the command's issuedAt, per (consumer, command): the command's trip through
 * adapters.commands, the controller's transaction, and adapters.control to every consumer. The
 * merge is not on this path: both versions stay merged while retained.
 */
final class RolloutDecisionBench {
  private static final int COMMANDS = 40;

  private RolloutDecisionBench() {
  }

  static Map<String, Object> run(BenchContext ctx, double swapP50, double swapP99) throws Exception {
    String prefix = "bench.decide." + System.currentTimeMillis() + ".";
    Map<String, String> settings = Map.of(CommonConfig.TOPIC_PREFIX, prefix, RolloutConfig.MODE, "manual");
    CommonConfig common = ctx.common(settings);
    try (Admin admin = Admin.create(new HashMap<String, Object>(ctx.cluster.clientProperties()))) {
      common.catalog().createAll(admin, (short) 1);
    }
    ctx.progress("rollout decisions: controller + %d consumers, %d commands alternating promote and rollback",
        RolloutBench.CONSUMERS, COMMANDS);
    List<AutoCloseable> open = new ArrayList<>();
    List<Map<Long, List<Long>>> activations = new ArrayList<>(); // per consumer: version -> activation times
    try {
      RolloutController controller = RolloutController.start(ctx.pipeline(settings).rolloutConfig(), common,
          ctx.serdes, ctx.base);
      open.add(0, controller);
      if (!controller.awaitReady(Duration.ofSeconds(30))) {
        throw new IllegalStateException("the rollout controller was not ready within 30 s");
      }
      List<AdapterSubscriber> subs = new ArrayList<>();
      for (int i = 0; i < RolloutBench.CONSUMERS; i++) {
        Map<Long, List<Long>> mine = new ConcurrentHashMap<>();
        activations.add(mine);
        LorastreamSerdes own = LorastreamSerdes.create(Map.of("schema.registry.url", ctx.cluster.registryUrl()));
        AdapterSubscriber s = AdapterSubscriber.builder(ctx.base)
            .kafkaProperties(ctx.cluster.clientProperties())
            .topics(common.catalog())
            .deserializer(own.adapterSnapshot().deserializer())
            .rollouts(own.rolloutState().deserializer(), RolloutMode.MANUAL)
            .adapterId(BenchContext.TASK)
            .clientId(prefix + "consumer-" + (i + 1))
            .onSwap((id, version, at) -> mine.computeIfAbsent(version, k -> new java.util.concurrent.CopyOnWriteArrayList<>())
                .add(at))
            .start();
        open.add(0, s);
        subs.add(s);
      }
      for (AdapterSubscriber s : subs) {
        if (!s.awaitCaughtUp(Duration.ofSeconds(30))) {
          throw new IllegalStateException("subscriber " + s.name() + " did not catch up");
        }
      }
      RolloutClient ops = new RolloutClient(common, ctx.serdes, null, "bench");
      open.add(0, ops);
      for (long v = 1; v <= 2; v++) {
        publish(ctx, common, v);
        long version = v;
        awaitTrue(() -> controller.state(BenchContext.TASK).map(st -> Long.valueOf(version)
            .equals(st.getCandidateVersion())).orElse(false));
        require(ops.issue(RolloutClient.command(BenchContext.TASK, RolloutAction.PROMOTE), Duration.ofSeconds(30)));
        for (AdapterSubscriber s : subs) {
          s.swapper().awaitServing(BenchContext.TASK, v, Duration.ofSeconds(30));
        }
      }
      List<Double> promote = new ArrayList<>();
      List<Double> rollback = new ArrayList<>();
      List<Double> decision = new ArrayList<>();
      for (int n = 0; n < COMMANDS; n++) {
        boolean back = n % 2 == 0;
        long target = back ? 1 : 2;
        RolloutClient.Answer a = ops.issue(back ? RolloutClient.command(BenchContext.TASK, RolloutAction.ROLLBACK)
            : RolloutClient.command(BenchContext.TASK, RolloutAction.PROMOTE).setVersion(2L), Duration.ofSeconds(30));
        require(a);
        long issued = a.command().getIssuedAt().toEpochMilli();
        decision.add((double) (a.decision().getAt().toEpochMilli() - issued));
        for (int i = 0; i < subs.size(); i++) {
          if (!subs.get(i).swapper().awaitServing(BenchContext.TASK, target, Duration.ofSeconds(30))) {
            throw new IllegalStateException("consumer " + (i + 1) + " did not serve v" + target);
          }
          List<Long> times = activations.get(i).get(target);
          long at = times.get(times.size() - 1);
          (back ? rollback : promote).add((double) (at - issued));
        }
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("consumers", RolloutBench.CONSUMERS);
      m.put("commands", COMMANDS);
      m.put("promoteP50Ms", Stats.percentile(promote, 0.5));
      m.put("promoteP99Ms", Stats.percentile(promote, 0.99));
      m.put("promoteMaxMs", Stats.max(Stats.toArray(promote)));
      m.put("rollbackP50Ms", Stats.percentile(rollback, 0.5));
      m.put("rollbackP99Ms", Stats.percentile(rollback, 0.99));
      m.put("rollbackMaxMs", Stats.max(Stats.toArray(rollback)));
      m.put("decisionP50Ms", Stats.percentile(decision, 0.5));
      m.put("decisionP99Ms", Stats.percentile(decision, 0.99));
      m.put("decisionCounts", controller.decisionCounts());
      String why = String.format(Locale.ROOT, "command -> controller decision p50 %.1f ms, p99 %.1f ms (the "
          + "controller's poll and transaction); the rest is adapters.control reaching each consumer and one reference "
          + "write; swap commit->active in the same run p50 %.1f ms, p99 %.1f ms", decision.isEmpty() ? 0
          : Stats.percentile(decision, 0.5), Stats.percentile(decision, 0.99), swapP50, swapP99);
      double pp99 = (Double) m.get("promoteP99Ms");
      double rp99 = (Double) m.get("rollbackP99Ms");
      ctx.report.add(Figure.of("4b", "rollout p99 promote command->served (4 consumers)", pp99, "ms",
          "swap p99 commit->active", swapP99).withTarget("< 50 ms", pp99 < 50, why));
      ctx.report.add(Figure.of("4b", "rollout p99 rollback command->served (4 consumers)", rp99, "ms",
          "swap p99 commit->active", swapP99).withTarget("< 50 ms", rp99 < 50, why));
      ctx.report.markdown("4b. Rollout decisions", String.format(Locale.ROOT, "A rollout controller and %d consumers in "
          + "manual mode; %d commands alternate rollback (v2 -> v1) and promote (v1 -> v2), rank 16. Latency = "
          + "activation on each consumer - the command's issuedAt.%n%n| command | samples | p50 ms | p99 ms | max ms |%n"
          + "|---|---|---|---|---|%n| promote | %d | %.1f | %.1f | %.1f |%n| rollback | %d | %.1f | %.1f | %.1f |%n%n%s.%n",
          RolloutBench.CONSUMERS, COMMANDS, promote.size(), m.get("promoteP50Ms"), pp99, m.get("promoteMaxMs"),
          rollback.size(), m.get("rollbackP50Ms"), rp99, m.get("rollbackMaxMs"), why));
      return m;
    } finally {
      for (AutoCloseable c : open) {
        try {
          c.close();
        } catch (Exception e) {
          ctx.progress("rollout decisions: closing %s failed: %s", c, e);
        }
      }
    }
  }

  private static void require(RolloutClient.Answer a) {
    if (!a.accepted()) {
      throw new IllegalStateException("the controller refused " + a.command().getAction() + ": "
          + a.decision().getReason());
    }
  }

  private static void awaitTrue(java.util.function.BooleanSupplier c) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!c.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the rollout controller did not see the published version within 30 s");
      }
      Thread.sleep(10);
    }
  }

  private static void publish(BenchContext ctx, CommonConfig common, long version) throws Exception {
    Map<String, Object> p = new HashMap<>(ctx.cluster.clientProperties());
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, common.prefixed("bench-decide-trainer-" + version));
    try (LoraModel lora = LoraModel.create(ctx.base, AdapterConfig.defaults().withRank(16));
        KafkaProducer<String, AdapterSnapshot> producer = new KafkaProducer<>(p, new StringSerializer(),
            ctx.serdes.adapterSnapshot().serializer())) {
      AdapterSnapshot s = SnapshotCodec.encode(lora, SnapshotMeta.of(BenchContext.TASK, version, "bench-decide"), null);
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(common.catalog().adapters.name(), BenchContext.TASK, s));
      producer.commitTransaction();
    }
  }
}
