package io.lorastream.bench;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.stream.ingest.IngestService;
import io.lorastream.stream.ingest.StreamAppConfig;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Item 1: validated examples per second through the real ingest service (Kafka Streams, Avro with
 * the registry, validation, de-duplication, holdout routing, exactly-once), against the raw
 * producer-to-consumer rate of the very same record bytes on the same broker. Ingest reads a
 * pre-produced {@code examples.raw}, and its rate is taken from the first committed output to the
 * last, so stream-thread start-up and rebalancing are excluded. The same input is also run with
 * at-least-once processing, which isolates what the exactly-once transactions cost, and the stream
 * thread is sampled to show where its time goes.
 */
final class IngestBench {
  private static final String RAW_PIPE = "bench.rawpipe";
  private static final String WARMUP_RAW = "bench.ingest-warmup";

  private IngestBench() {
  }

  static void run(BenchContext ctx) throws Exception {
    int n = ctx.plan.ingestExamples();
    ctx.progress("ingest: generating %d examples of %d floats", n, BenchPlan.INPUT_SIZE);
    List<Example> examples = ExampleData.generate(n, ctx.plan.seed() + 101);
    String rawTopic = ctx.common(Map.of()).catalog().examplesRaw.name();
    List<byte[]> values = ExampleData.serialize(examples, "bench-ingest", ctx.serdes.labeledExample().serializer(), rawTopic);
    List<byte[]> keys = new ArrayList<>(n);
    for (Example e : examples) {
      keys.add(e.id().getBytes(StandardCharsets.UTF_8));
    }
    long bytes = values.stream().mapToLong(v -> v.length).sum() + keys.stream().mapToLong(k -> k.length).sum();

    ctx.progress("ingest: raw producer->consumer pipe of the same %d records (%d bytes each)", n, values.get(0).length);
    ctx.createTopic(RAW_PIPE, 2, false);
    double rawRate = rawPipe(ctx, keys, values);
    ctx.progress("ingest: raw pipe %.0f records/s", rawRate);

    ctx.progress("ingest: pre-producing the records to %s", rawTopic);
    double produceSecs = ctx.produce(rawTopic, keys, values);

    // Unmeasured passes over a fifth of the records on their own topic, until the JIT compiler threads
    // go quiet (at most four): otherwise the measured app runs while C2 compiles Streams, RocksDB and
    // Avro paths on the other core (0.67 cores of it in the window on 2026-12-04).
    int warm = Math.max(1000, n / 5);
    ctx.createTopic(WARMUP_RAW, 2, false);
    ctx.produce(WARMUP_RAW, keys.subList(0, warm), values.subList(0, warm));
    List<Object> warmJit = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Map<String, Object> w = ingest(ctx, "warmup-" + i, StreamAppConfig.Guarantee.EXACTLY_ONCE_V2, warm,
          Map.of("topic.examples.raw", WARMUP_RAW));
      w.remove("profileObject");
      @SuppressWarnings("unchecked")
      double jit = TrainerRuns.compilerCores((Map<String, Double>) w.get("coresByThreadGroup"));
      warmJit.add(Report.round(jit));
      if (jit < TrainerRuns.JIT_QUIET_CORES) {
        break;
      }
    }
    ctx.progress("ingest: %d warm-up app(s), compiler threads at %s cores", warmJit.size(), warmJit);

    Map<String, Object> eos = ingest(ctx, "eos", StreamAppConfig.Guarantee.EXACTLY_ONCE_V2, n);
    Map<String, Object> alos = ingest(ctx, "alos", StreamAppConfig.Guarantee.AT_LEAST_ONCE, n);

    double eosRate = (Double) eos.get("examplesPerSecond");
    double alosRate = (Double) alos.get("examplesPerSecond");
    StackSampler.Profile prof = (StackSampler.Profile) eos.remove("profileObject");
    alos.remove("profileObject");
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("examples", n);
    data.put("recordBytes", values.get(0).length);
    data.put("rawPipeRecordsPerSecond", Report.round(rawRate));
    data.put("producerOnlyRecordsPerSecond", Report.round(n / produceSecs));
    data.put("warmupCompilerCores", warmJit);
    data.put("exactlyOnce", eos);
    data.put("atLeastOnce", alos);
    ctx.report.section("ingest", data);

    Figure f = Figure.of("1", "ingest validated examples/s (exactly-once)", eosRate, "ex/s",
        "raw producer->consumer of the same records", rawRate);
    f = f.withReason(String.format(Locale.ROOT, "stream thread on CPU %s of the window; its time by activity: %s;"
            + " this JVM's CPU by thread group (cores): %s; at-least-once runs %.0f ex/s (%.2fx), so exactly-once"
            + " transactions cost %s of the rate; GC %s",
        Report.pct((Double) eos.get("streamThreadOnCpuShare")), topShares(prof, 6), eos.get("coresByThreadGroup"), alosRate,
        alosRate / eosRate, Report.pct(1 - eosRate / alosRate), eos.get("gc")));
    ctx.report.add(f.withTarget(">= 0.60", eosRate / rawRate >= 0.60, f.reason()));
    ctx.report.add(Figure.of("1", "ingest validated examples/s (at-least-once)", alosRate, "ex/s",
        "raw producer->consumer of the same records", rawRate));
    ctx.report.markdown("1. Ingest", String.join("\n",
        String.format(Locale.ROOT, "%d LabeledExample records with 64 floats (%d bytes in wire format, %.1f MB in all)"
            + " pre-produced to `examples.raw`; IngestService (Kafka Streams, 1 stream thread, Avro + registry,"
            + " validation, de-duplication, 10%% holdout) with its defaults except `ingest.task.default.input.size=64`,"
            + " after unmeasured warm-up apps over a fifth of the records on a topic of their own until the JIT"
            + " compiler threads used under 0.1 cores (compiler cores per warm-up app: %s).",
            n, values.get(0).length, bytes / 1e6, warmJit),
        "",
        "| run | ex/s | vs raw pipe | stream-thread CPU share | GC pauses in window |",
        "|---|---|---|---|---|",
        String.format(Locale.ROOT, "| raw producer->consumer (same bytes, acks=all, idempotent) | %.0f | 1.000 | - | - |", rawRate),
        String.format(Locale.ROOT, "| ingest, exactly_once_v2 (default) | %.0f | %.3f | %s | %s |", eosRate, eosRate / rawRate,
            Report.pct((Double) eos.get("streamThreadOnCpuShare")), pauses(eos)),
        String.format(Locale.ROOT, "| ingest, at_least_once | %.0f | %.3f | %s | %s |", alosRate, alosRate / rawRate,
            Report.pct((Double) alos.get("streamThreadOnCpuShare")), pauses(alos)),
        "",
        "Where the exactly-once stream thread's time goes (share of stack samples):",
        "",
        profileTable(prof),
        "CPU of this JVM by thread group during the exactly-once window (cores; the stream thread's kernel name is"
            + " its application id cut to 15 characters): " + eos.get("coresByThreadGroup"),
        "",
        "Same for at-least-once: " + alos.get("coresByThreadGroup")));
  }

  /**
   * Produces the records while a plain consumer reads them; rate = records / (first send .. last
   * receive). A first pass over a quarter of the records warms the JIT and the connections and is
   * not timed; the producer is connected before the clock starts.
   */
  private static double rawPipe(BenchContext ctx, List<byte[]> keys, List<byte[]> values) throws InterruptedException {
    int warm = Math.min(values.size(), Math.max(1000, values.size() / 4));
    pipe(ctx, keys.subList(0, warm), values.subList(0, warm));
    return pipe(ctx, keys, values);
  }

  private static double pipe(BenchContext ctx, List<byte[]> keys, List<byte[]> values) throws InterruptedException {
    int n = values.size();
    AtomicLong lastReceive = new AtomicLong();
    java.util.concurrent.CountDownLatch positioned = new java.util.concurrent.CountDownLatch(1);
    Thread reader = new Thread(() -> {
      try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerProps(ctx, "bench-rawpipe", false),
          new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
        List<TopicPartition> tps = c.partitionsFor(RAW_PIPE).stream().map(p -> new TopicPartition(RAW_PIPE, p.partition())).toList();
        c.assign(tps);
        c.seekToEnd(tps);
        tps.forEach(c::position);
        positioned.countDown();
        long got = 0;
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (got < n && System.nanoTime() < deadline) {
          got += c.poll(Duration.ofMillis(50)).count();
        }
        lastReceive.set(System.nanoTime());
      }
    }, "bench-rawpipe-reader");
    reader.start();
    positioned.await();
    long t0;
    try (org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> p = new org.apache.kafka.clients.producer.KafkaProducer<>(
        ctx.producerConfig(), new org.apache.kafka.common.serialization.ByteArraySerializer(),
        new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      p.partitionsFor(RAW_PIPE); // connect and fetch metadata before the clock starts
      t0 = System.nanoTime();
      List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> pending = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        pending.add(p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(RAW_PIPE, keys.get(i), values.get(i))));
        if (pending.size() >= 5000) {
          BenchContext.await(pending);
        }
      }
      p.flush();
      BenchContext.await(pending);
    }
    reader.join();
    return n / ((lastReceive.get() - t0) / 1e9);
  }

  private static Map<String, Object> ingest(BenchContext ctx, String variant, StreamAppConfig.Guarantee g, int n)
      throws Exception {
    return ingest(ctx, variant, g, n, Map.of());
  }

  private static Map<String, Object> ingest(BenchContext ctx, String variant, StreamAppConfig.Guarantee g, int n,
      Map<String, String> extra) throws Exception {
    String appId = "bench-ingest-" + variant + "-" + System.currentTimeMillis();
    Map<String, String> o = new HashMap<>(extra);
    o.put(StreamAppConfig.INGEST_APPLICATION_ID, appId);
    o.put(StreamAppConfig.INGEST_PROCESSING_GUARANTEE, g.streamsValue());
    o.put(StreamAppConfig.INGEST_STATE_DIR, ctx.work.resolve("streams-" + variant).toString());
    o.put(StreamAppConfig.TASK_PREFIX + StreamAppConfig.DEFAULT_TASK + StreamAppConfig.INPUT_SIZE_SUFFIX,
        String.valueOf(BenchPlan.INPUT_SIZE));
    LayeredConfig cfg = ctx.config(o);
    CommonConfig common = new CommonConfig(cfg);
    List<String> outputs = List.of(common.catalog().examplesTrain.name(), common.catalog().examplesEval.name());
    ctx.progress("ingest: IngestService with %s over %d pre-produced records", g.streamsValue(), n);
    try (KafkaConsumer<byte[], byte[]> counter = new KafkaConsumer<>(consumerProps(ctx, "bench-ingest-count-" + variant, true),
        new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> tps = new ArrayList<>();
      for (String t : outputs) {
        counter.partitionsFor(t).forEach(p -> tps.add(new TopicPartition(t, p.partition())));
      }
      counter.assign(tps);
      counter.seekToEnd(tps);
      tps.forEach(counter::position);
      java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
      StackSampler sampler = null; // started with the measured window, so start-up is not in the profile
      long created = System.nanoTime();
      try (IngestService svc = new IngestService(common, StreamAppConfig.from(cfg), ctx.serdes).start()) {
        long count = 0;
        long firstNanos = 0;
        long firstCount = 0;
        long firstWall = 0;
        long cpuFirst = 0;
        Thread stream = null;
        ProcInfo.Tasks tasksStart = null;
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (count < n && System.nanoTime() < deadline) {
          count += counter.poll(Duration.ofMillis(20)).count();
          if (count > 0 && firstNanos == 0) {
            tasksStart = ProcInfo.tasks();
            firstNanos = System.nanoTime();
            firstWall = System.currentTimeMillis();
            firstCount = count;
            stream = findThread(appId);
            cpuFirst = stream == null ? 0 : mx.getThreadCpuTime(stream.getId());
            sampler = new StackSampler("ingest-" + variant, name -> name.startsWith(appId) && name.contains("StreamThread"),
                ingestRules(), 5000).start();
          }
        }
        long endNanos = System.nanoTime();
        long endWall = System.currentTimeMillis();
        ProcInfo.Tasks tasksEnd = ProcInfo.tasks();
        long cpuEnd = stream == null ? 0 : mx.getThreadCpuTime(stream.getId());
        if (sampler == null) {
          throw new IllegalStateException("ingest " + variant + " produced no output within 5 minutes");
        }
        StackSampler.Profile prof = sampler.profile();
        sampler.close();
        if (count < n) {
          throw new IllegalStateException("ingest " + variant + " delivered only " + count + " of " + n + " examples");
        }
        double secs = (endNanos - firstNanos) / 1e9;
        double rate = (n - firstCount) / secs;
        ctx.progress("ingest: %s %.0f validated ex/s (first output after %.1f s)", g.streamsValue(), rate,
            (firstNanos - created) / 1e9);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("guarantee", g.streamsValue());
        m.put("examplesPerSecond", rate);
        m.put("measuredExamples", n - firstCount);
        m.put("seconds", Report.round(secs));
        m.put("startupSeconds", Report.round((firstNanos - created) / 1e9));
        m.put("outputsCounted", count);
        m.put("streamThreadOnCpuShare", (cpuEnd - cpuFirst) / 1e9 / secs);
        m.put("gc", ctx.gc.summary(firstWall, endWall));
        m.put("coresByThreadGroup", tasksStart == null ? Map.of() : ProcInfo.coresByThreadGroup(tasksStart, tasksEnd, 10));
        m.put("profile", prof.toMap());
        m.put("profileObject", prof);
        return m;
      }
    }
  }

  private static Thread findThread(String appId) {
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith(appId) && t.getName().contains("StreamThread")) {
        return t;
      }
    }
    return null;
  }

  static Map<String, Object> consumerProps(BenchContext ctx, String clientId, boolean readCommitted) {
    Map<String, Object> p = new HashMap<>(ctx.cluster.clientProperties());
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, readCommitted ? "read_committed" : "read_uncommitted");
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "20");
    return p;
  }

  /** Where a Kafka Streams ingest thread's samples go (first matching rule wins). */
  static List<StackSampler.Rule> ingestRules() {
    return List.of(
        StackSampler.Rule.of("metrics punctuation", "IngestProcessor.publishCounters"),
        StackSampler.Rule.of("counter store updates (RocksDB + changelog)", "IngestProcessor.increment"),
        StackSampler.Rule.of("output: serialize (Avro) + send", "SinkNode."),
        StackSampler.Rule.of("dedupe window store (RocksDB + changelog)", "IngestProcessor.route"),
        StackSampler.Rule.of("validate: Avro decode + checks", "ExampleValidator."),
        StackSampler.Rule.of("commit: EOS transaction + state flush", "TaskManager.commit", "maybeCommit",
            "commitTransaction", "StreamTask.prepareCommit", "StreamTask.postCommit", "TaskExecutor.commit"),
        StackSampler.Rule.of("poll: fetch records", "KafkaConsumer.poll", "StreamThread.pollRequests", "pollPhase"),
        StackSampler.Rule.of("Kafka Streams record handling", "org.apache.kafka.streams."));
  }

  static String topShares(StackSampler.Profile p, int k) {
    StringBuilder sb = new StringBuilder();
    p.byCategory().entrySet().stream().limit(k).forEach(e -> sb.append(sb.length() == 0 ? "" : ", ")
        .append(e.getKey()).append(' ').append(Report.pct(e.getValue() / (double) Math.max(1, p.samples()))));
    return sb.toString();
  }

  static String profileTable(StackSampler.Profile p) {
    StringBuilder sb = new StringBuilder("| activity | share of samples | hottest leaf frames |\n|---|---|---|\n");
    p.byCategory().forEach((cat, c) -> sb.append("| ").append(cat).append(" | ")
        .append(Report.pct(c / (double) Math.max(1, p.samples()))).append(" | ")
        .append(String.join(", ", p.topLeaves().getOrDefault(cat, Map.of()).keySet().stream().limit(3)
            .map(s -> "`" + s.substring(Math.max(0, s.lastIndexOf('.', s.lastIndexOf('.') - 1) + 1)) + "`").toList()))
        .append(" |\n"));
    sb.append("\n").append(p.samples()).append(" samples every 5 ms of threads ").append(p.threads()).append('\n');
    return sb.toString();
  }

  private static String pauses(Map<String, Object> run) {
    @SuppressWarnings("unchecked")
    Map<String, Object> gc = (Map<String, Object>) run.get("gc");
    return gc.get("pauses") + " (" + gc.get("pauseTotalMs") + " ms)";
  }
}
