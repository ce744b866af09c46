package io.lorastream.bench;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.serving.AdapterSubscriber;
import io.lorastream.trainer.TrainerConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Item 4: rollout latency from a snapshot's transaction commit (the trainer's
 * {@code commitWallTimeMillis}) to the moment each of four {@link AdapterSubscriber}s has it
 * active (its swap listener's activation time), over at least 100 snapshots published by a real
 * trainer at rank 16. Four subscribers, one trainer, the broker and the registry share this JVM and
 * its two cores, as in the demo. Each sample is checked against the GC pauses that overlapped it,
 * and the subscriber threads' run-queue wait is read from the kernel, so the tail is explained by
 * measurement. The run is repeated for each {@code fetch.max.wait.ms} of the plan, and the swap work
 * itself (deserialize, verify, merge) is timed in isolation as the reference.
 */
final class RolloutBench {
  static final int CONSUMERS = 4;
  private static final int PUBLISH_STEPS = 4;
  /**
   * The first versions each subscriber ever applies run cold code (class loading, JIT); they are
   * reported separately and left out of the percentiles, which describe a running consumer.
   */
  static final int WARMUP_VERSIONS = 5;

  private RolloutBench() {
  }

  static void run(BenchContext ctx) throws Exception {
    ctx.trainExamples();
    Map<String, Object> swapWork = swapWork(ctx);
    double workMs = (Double) swapWork.get("totalMsMedian");
    List<Map<String, Object>> sweep = new ArrayList<>();
    for (int f : ctx.plan.fetchMaxWaits()) {
      sweep.add(measure(ctx, f));
    }
    Map<String, Object> head = sweep.get(0);
    double p50 = (Double) head.get("p50Ms");
    double p99 = (Double) head.get("p99Ms");
    double max = (Double) head.get("maxMs");
    String label = String.format(Locale.ROOT, "%d consumers x %d snapshots, fetch.max.wait.ms=%d",
        CONSUMERS, head.get("snapshots"), head.get("fetchMaxWaitMs"));
    String why = explain(head, sweep);
    ctx.report.add(Figure.of("4", "rollout p50 commit->active (" + label + ")", p50, "ms",
        "swap work alone (deserialize+verify+merge, r=16)", workMs));
    ctx.report.add(Figure.of("4", "rollout p99 commit->active", p99, "ms",
        "swap work alone (deserialize+verify+merge, r=16)", workMs).withTarget("< 50 ms", p99 < 50, why));
    ctx.report.add(Figure.of("4", "rollout max commit->active", max, "ms",
        "swap work alone (deserialize+verify+merge, r=16)", workMs).withReason(why));

    Map<String, Object> data = new LinkedHashMap<>();
    data.put("swapWork", swapWork);
    data.put("sweep", sweep);
    data.put("decisions", RolloutDecisionBench.run(ctx, p50, p99));
    ctx.report.section("rollout", data);
    StringBuilder md = new StringBuilder();
    md.append(String.format(Locale.ROOT, "A trainer at fixed rank 16 publishes a snapshot every %d optimizer steps; %d"
        + " AdapterSubscribers (each with its own serdes and consumer, read_committed) swap each version in. Latency ="
        + " activation wall time in the subscriber - the trainer's commitWallTimeMillis, per (consumer, version)."
        + " Swap work alone, measured in isolation on a %d-byte snapshot: deserialize %.3f ms + verify %.3f ms + merge"
        + " %.3f ms = %.3f ms (medians).%n%n", PUBLISH_STEPS, CONSUMERS, swapWork.get("snapshotBytes"),
        swapWork.get("deserializeMsMedian"), swapWork.get("verifyMsMedian"), swapWork.get("mergeMsMedian"), workMs));
    md.append("| fetch.max.wait.ms | snapshots | samples | p50 ms | p99 ms | max ms | Kafka delivery only p50 / p99 ms |"
        + " samples overlapping a GC pause | p99 without them | subscriber run-queue wait per wakeup |"
        + " trainer run-queue wait per wakeup |\n");
    md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Map<String, Object> r : sweep) {
      md.append(String.format(Locale.ROOT, "| %s | %s | %s | %.1f | %.1f | %.1f | %.1f / %.1f | %s (pauses total %s ms, max %s ms) |"
              + " %.1f | %.0f us | %.0f us |%n", r.get("fetchMaxWaitMs"), r.get("snapshots"), r.get("samples"), r.get("p50Ms"),
          r.get("p99Ms"), r.get("maxMs"), r.get("deliveryP50Ms"), r.get("deliveryP99Ms"), r.get("samplesOverlappingGc"),
          r.get("gcPauseTotalMs"), r.get("gcPauseMaxMs"), r.get("p99WithoutGcMs"), r.get("subscriberWaitMicrosPerWakeup"),
          r.get("trainerWaitMicrosPerWakeup")));
    }
    md.append("\nKafka delivery = commit -> the record reaching a fifth plain read_committed consumer (same fetch wait)"
        + " that does no swap work.\n");
    for (Map<String, Object> r : sweep) {
      md.append("\nCPU of this JVM by thread group, fetch.max.wait.ms=").append(r.get("fetchMaxWaitMs")).append(" (cores): ")
          .append(r.get("coresByThreadGroup")).append('\n');
    }
    md.append("\nSlowest samples of the headline run: ").append(head.get("slowest")).append('\n');
    md.append(String.format(Locale.ROOT, "%nVersions 1-%d of every run are warm-up (first swaps in fresh subscribers,"
        + " cold code paths) and are not in the percentiles; their latencies in the headline run were %s ms.%n",
        WARMUP_VERSIONS, head.get("warmupLatenciesMs")));
    md.append("\n").append(why).append('\n');
    ctx.report.markdown("4. Rollout latency", md.toString());
  }

  private static String explain(Map<String, Object> head, List<Map<String, Object>> sweep) {
    StringBuilder s = new StringBuilder();
    s.append(String.format(Locale.ROOT, "Kafka delivery alone (commit -> record at a plain read_committed consumer) p50"
        + " %.1f ms, p99 %.1f ms; ", head.get("deliveryP50Ms"), head.get("deliveryP99Ms")));
    s.append(String.format(Locale.ROOT, "p99 %.1f ms over %s samples; %s samples overlapped a GC pause (pauses in the run:"
            + " %s, total %s ms, longest %s ms), p99 of the others %.1f ms; subscriber threads waited %.0f us on the run"
            + " queue per wakeup (2 cores shared with the trainer at 100%% and the broker)",
        head.get("p99Ms"), head.get("samples"), head.get("samplesOverlappingGc"), head.get("gcPauses"),
        head.get("gcPauseTotalMs"), head.get("gcPauseMaxMs"), head.get("p99WithoutGcMs"),
        head.get("subscriberWaitMicrosPerWakeup")));
    if (sweep.size() > 1) {
      s.append("; fetch.max.wait.ms sweep (p50/p99 ms):");
      for (Map<String, Object> r : sweep) {
        s.append(String.format(Locale.ROOT, " %s -> %.1f/%.1f", r.get("fetchMaxWaitMs"), r.get("p50Ms"), r.get("p99Ms")));
      }
    }
    return s.toString();
  }

  private static Map<String, Object> measure(BenchContext ctx, int fetchMaxWait) throws Exception {
    String label = "rollout-f" + fetchMaxWait + "-" + System.currentTimeMillis();
    String topic = "bench.adapters." + label;
    ctx.createTopic(topic, 1, true);
    Map<Long, Long> committed = new ConcurrentHashMap<>();
    List<Map<Long, Long>> activated = new ArrayList<>();
    List<AdapterSubscriber> subs = new ArrayList<>();
    int snapshots = ctx.plan.rolloutSnapshots();
    ctx.progress("rollout: fetch.max.wait.ms=%d, %d subscribers, trainer publishing >= %d snapshots at r=16",
        fetchMaxWait, CONSUMERS, snapshots);
    try {
      for (int i = 0; i < CONSUMERS; i++) {
        Map<Long, Long> mine = new ConcurrentHashMap<>();
        activated.add(mine);
        LorastreamSerdes own = LorastreamSerdes.create(Map.of("schema.registry.url", ctx.cluster.registryUrl()));
        subs.add(AdapterSubscriber.builder(ctx.base)
            .kafkaProperties(ctx.cluster.clientProperties())
            .topic(topic)
            .trainTopic(BenchContext.TRAIN_TOPIC)
            .deserializer(own.adapterSnapshot().deserializer())
            .adapterId(BenchContext.TASK)
            .fetchMaxWaitMs(fetchMaxWait)
            .clientId("rollout-" + (i + 1) + "-" + label)
            .onSwap((id, version, at) -> mine.put(version, at))
            .start());
      }
      for (AdapterSubscriber s : subs) {
        if (!s.awaitCaughtUp(Duration.ofSeconds(30))) {
          throw new IllegalStateException("subscriber " + s.name() + " did not catch up with " + topic);
        }
      }
      Map<Long, Long> delivered = new ConcurrentHashMap<>();
      java.util.concurrent.atomic.AtomicBoolean probing = new java.util.concurrent.atomic.AtomicBoolean(true);
      Thread probe = deliveryProbe(ctx, topic, fetchMaxWait, delivered, probing);
      ProcInfo.Sched subBefore = ProcInfo.sched("adapter-subscriber");
      ProcInfo.Tasks tasksBefore = ProcInfo.tasks();
      java.util.concurrent.atomic.AtomicReference<ProcInfo.Sched> trainerFirst = new java.util.concurrent.atomic.AtomicReference<>();
      java.util.concurrent.atomic.AtomicReference<ProcInfo.Sched> trainerLast = new java.util.concurrent.atomic.AtomicReference<>();
      long examples = (long) (snapshots + WARMUP_VERSIONS + 5) * PUBLISH_STEPS * 2 * 16;
      TrainerRuns.Result tr = TrainerRuns.kafka(ctx, label, Map.of(TrainerConfig.RANK_SCHEDULE, "fixed:16",
          TrainerConfig.PUBLISH_STEPS, String.valueOf(PUBLISH_STEPS), TrainerConfig.PUBLISH_MIN_INTERVAL_MS, "0",
          TrainerConfig.MICROBATCH_SIZE, "16",
          TrainerConfig.ACCUMULATION_STEPS, "2"), examples, false, s -> {
            committed.put(s.version(), s.commitWallMs());
            ProcInfo.Sched now = ProcInfo.currentThread(); // the trainer thread itself
            trainerFirst.compareAndSet(null, now);
            trainerLast.set(now);
          });
      long last = committed.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
      for (AdapterSubscriber s : subs) {
        s.awaitVersion(BenchContext.TASK, last, Duration.ofSeconds(20));
      }
      ProcInfo.Sched subDelta = ProcInfo.sched("adapter-subscriber").minus(subBefore);
      Map<String, Double> cores = ProcInfo.coresByThreadGroup(tasksBefore, ProcInfo.tasks(), 8);
      probing.set(false);
      probe.join(5000);
      List<Double> delivery = new ArrayList<>();
      committed.forEach((v, c) -> {
        Long d = delivered.get(v);
        if (d != null && v > WARMUP_VERSIONS) {
          delivery.add((double) (d - c));
        }
      });
      ProcInfo.Sched trainerDelta = trainerLast.get() == null ? new ProcInfo.Sched(0, -1, -1, -1)
          : trainerLast.get().minus(trainerFirst.get());

      List<Double> lat = new ArrayList<>();
      List<Double> latNoGc = new ArrayList<>();
      List<String> slow = new ArrayList<>();
      List<double[]> all = new ArrayList<>(); // latency, gc overlap ms, consumer, version
      int missing = 0;
      List<Double> cold = new ArrayList<>();
      long firstCommit = Long.MAX_VALUE;
      long lastActivation = 0;
      Map<String, Object> perConsumer = new LinkedHashMap<>();
      for (int i = 0; i < CONSUMERS; i++) {
        List<Double> mine = new ArrayList<>();
        for (Map.Entry<Long, Long> c : committed.entrySet()) {
          Long at = activated.get(i).get(c.getKey());
          if (at == null) {
            missing++;
            continue;
          }
          double l = at - c.getValue();
          if (c.getKey() <= WARMUP_VERSIONS) {
            cold.add(l);
            continue;
          }
          long gcMs = ctx.gc.pausesOverlapping(c.getValue(), at).stream().mapToLong(GcMonitor.Event::durationMs).sum();
          boolean overlap = !ctx.gc.pausesOverlapping(c.getValue(), at).isEmpty();
          lat.add(l);
          mine.add(l);
          if (!overlap) {
            latNoGc.add(l);
          }
          all.add(new double[] {l, overlap ? gcMs : -1, i + 1, c.getKey()});
          firstCommit = Math.min(firstCommit, c.getValue());
          lastActivation = Math.max(lastActivation, at);
        }
        perConsumer.put("consumer-" + (i + 1), Map.of("p50Ms", Stats.percentile(mine, 0.5), "p99Ms",
            Stats.percentile(mine, 0.99), "maxMs", Stats.max(Stats.toArray(mine))));
      }
      all.sort((a, b) -> Double.compare(b[0], a[0]));
      for (double[] s : all.subList(0, Math.min(5, all.size()))) {
        slow.add(String.format(Locale.ROOT, "%.0f ms (consumer-%d v%d, %s)", s[0], (int) s[2], (long) s[3],
            s[1] >= 0 ? "overlapping " + (long) s[1] + " ms of GC pause" : "no GC pause overlap"));
      }
      Map<String, Object> gcSum = ctx.gc.summary(firstCommit, lastActivation);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("fetchMaxWaitMs", fetchMaxWait);
      m.put("snapshots", committed.size() - Math.min(WARMUP_VERSIONS, committed.size()));
      m.put("warmupVersionsExcluded", WARMUP_VERSIONS);
      m.put("warmupLatenciesMs", cold);
      m.put("samples", lat.size());
      m.put("missingActivations", missing);
      m.put("p50Ms", Stats.percentile(lat, 0.5));
      m.put("p99Ms", Stats.percentile(lat, 0.99));
      m.put("maxMs", Stats.max(Stats.toArray(lat)));
      m.put("meanMs", Report.round(Stats.mean(Stats.toArray(lat))));
      m.put("deliveryP50Ms", Stats.percentile(delivery, 0.5));
      m.put("deliveryP99Ms", Stats.percentile(delivery, 0.99));
      m.put("deliveryMaxMs", Stats.max(Stats.toArray(delivery)));
      m.put("samplesOverlappingGc", lat.size() - latNoGc.size());
      m.put("p99WithoutGcMs", Stats.percentile(latNoGc, 0.99));
      m.put("gcPauses", gcSum.get("pauses"));
      m.put("gcPauseTotalMs", gcSum.get("pauseTotalMs"));
      m.put("gcPauseMaxMs", gcSum.get("pauseMaxMs"));
      m.put("gcCollectors", gcSum.get("collectors"));
      m.put("subscriberWaitMicrosPerWakeup", subDelta.meanWaitMicrosPerSlice());
      m.put("subscriberCpuMs", Report.round(subDelta.cpuNanos() / 1e6));
      m.put("trainerWaitMicrosPerWakeup", trainerDelta.meanWaitMicrosPerSlice());
      m.put("trainerExamplesPerSecond", Report.round(tr.examplesPerSecond()));
      m.put("coresByThreadGroup", cores);
      m.put("perConsumer", perConsumer);
      m.put("slowest", slow);
      ctx.progress("rollout: fetch.max.wait.ms=%d -> p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d samples (%d overlap GC)",
          fetchMaxWait, m.get("p50Ms"), m.get("p99Ms"), m.get("maxMs"), lat.size(), lat.size() - latNoGc.size());
      return m;
    } finally {
      for (AdapterSubscriber s : subs) {
        s.close();
      }
    }
  }

  /**
   * A fifth, plain read_committed consumer of the adapters topic with the same fetch wait, that
   * only notes when each version's record reached it: commit -> delivery, without any swap work,
   * which splits the subscribers' latency into Kafka delivery and what happens after it.
   */
  private static Thread deliveryProbe(BenchContext ctx, String topic, int fetchMaxWait, Map<Long, Long> delivered,
      java.util.concurrent.atomic.AtomicBoolean running) throws InterruptedException {
    java.util.concurrent.CountDownLatch ready = new java.util.concurrent.CountDownLatch(1);
    Thread t = new Thread(() -> {
      Map<String, Object> p = IngestBench.consumerProps(ctx, "rollout-delivery-probe", true);
      p.put(org.apache.kafka.clients.consumer.ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, String.valueOf(fetchMaxWait));
      p.put(org.apache.kafka.clients.consumer.ConsumerConfig.FETCH_MIN_BYTES_CONFIG, "1");
      Deserializer<AdapterSnapshot> de = LorastreamSerdes.create(Map.of("schema.registry.url", ctx.cluster.registryUrl()))
          .adapterSnapshot().deserializer();
      try (org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> c = new org.apache.kafka.clients.consumer.KafkaConsumer<>(
          p, new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
          new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
        org.apache.kafka.common.TopicPartition tp = new org.apache.kafka.common.TopicPartition(topic, 0);
        c.assign(List.of(tp));
        c.seekToBeginning(List.of(tp));
        c.position(tp);
        ready.countDown();
        while (running.get()) {
          var records = c.poll(Duration.ofMillis(100));
          long now = System.currentTimeMillis();
          for (var r : records) {
            if (r.value() != null) {
              delivered.putIfAbsent(de.deserialize(topic, r.value()).getVersion(), now);
            }
          }
        }
      } finally {
        ready.countDown();
      }
    }, "rollout-delivery-probe");
    t.setDaemon(true);
    t.start();
    ready.await();
    return t;
  }

  /** Deserialize, verify and merge of one rank-16 snapshot, timed in isolation (medians of 300 runs). */
  static Map<String, Object> swapWork(BenchContext ctx) {
    TrainerConfig tc = TrainerRuns.trainerConfig(ctx, Map.of(TrainerConfig.RANK_SCHEDULE, "fixed:16"));
    ExampleData.Batches batches = ExampleData.batches(ctx.trainExamples(), 16);
    byte[] wire;
    try (OnlineLearner learner = OnlineLearner.create(ctx.base, tc.adapterConfig(), tc.learnerConfig())) {
      for (int i = 0; i < 40; i++) {
        learner.trainMicroBatch(batches.features().get(i), batches.labels().get(i), null);
      }
      learner.flush();
      AdapterSnapshot snap = SnapshotCodec.encode(learner, SnapshotMeta.of(BenchContext.TASK, 1, "bench"));
      wire = ctx.serdes.adapterSnapshot().serializer().serialize("bench.adapters.swapwork", snap);
    }
    Deserializer<AdapterSnapshot> de = ctx.serdes.adapterSnapshot().deserializer();
    int reps = 300;
    double[] des = new double[reps];
    double[] ver = new double[reps];
    double[] mer = new double[reps];
    for (int i = -100; i < reps; i++) {
      long t0 = System.nanoTime();
      AdapterSnapshot s = de.deserialize("bench.adapters.swapwork", wire);
      long t1 = System.nanoTime();
      DecodedAdapter d = SnapshotCodec.decode(s, ctx.base, null);
      long t2 = System.nanoTime();
      d.merge(ctx.base);
      long t3 = System.nanoTime();
      if (i >= 0) {
        des[i] = (t1 - t0) / 1e6;
        ver[i] = (t2 - t1) / 1e6;
        mer[i] = (t3 - t2) / 1e6;
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("snapshotBytes", wire.length);
    m.put("deserializeMsMedian", Stats.median(des));
    m.put("verifyMsMedian", Stats.median(ver));
    m.put("mergeMsMedian", Stats.median(mer));
    m.put("totalMsMedian", Stats.median(des) + Stats.median(ver) + Stats.median(mer));
    return m;
  }
}
