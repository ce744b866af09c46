package io.lorastream.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.Prediction;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.Devices;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.train.Pretrainer;
import io.lorastream.metrics.MetricsConfig;
import io.lorastream.pipeline.LocalPipeline;
import io.lorastream.pipeline.RunningTrainer;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.eval.EvalMetrics;
import io.lorastream.stream.eval.EvalService;
import io.lorastream.stream.inference.InferenceConfig;
import io.lorastream.stream.inference.InferenceService;
import io.lorastream.stream.ingest.IngestMetrics;
import io.lorastream.stream.ingest.IngestService;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.RolloutMode;
import io.lorastream.stream.control.RolloutController;
import io.lorastream.stream.rollout.RolloutConfig;
import io.lorastream.stream.rollout.RolloutRules;
import io.lorastream.stream.serving.AdapterSubscriber;
import io.lorastream.trainer.AdapterTrainer;
import io.lorastream.trainer.StepStats;
import io.lorastream.trainer.TrainerConfig;
import io.lorastream.trainer.TrainerListener;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * One demo run against a running broker and registry: base model, services, replay, live
 * status, drain, summary. Separate from {@link DemoCommand} so the end-to-end test can run a
 * small demo on the embedded stack and assert on the returned {@link Summary}. Every count in the
 * summary comes from the pipeline's own metrics and listeners, never from the replay's intent,
 * so the reconciliation line is a real check.
 */
final class DemoRun {
  static final String TASK = "drift";
  private static final List<String> CONSUMERS = List.of("consumer-1", "consumer-2");

  /** Flags of a run. */
  record Settings(long examples, long seed, String rankSchedule, String device, Path out, double rate,
      double duplicates, double malformed, Path modelCache, PrintStream console, Map<String, String> overrides,
      long maxLag) {
    Settings {
      overrides = Map.copyOf(overrides);
    }
  }

  /** What the run measured; {@link #ok()} is the exit status. */
  record Summary(List<Map<String, Object>> phases, Map<String, Integer> finalRanks, int versionsPublished,
      List<Map<String, Object>> consumers, Map<String, Long> swapLatencyMs, long examplesProduced,
      long examplesTrained, long examplesHoldout, long examplesDeadLettered, long examplesDuplicates,
      boolean reconciled, boolean ok, Map<String, Object> extra) {}

  private final Settings s;
  private final String bootstrap;
  private final String registryUrl;
  private final SwapRecorder swaps = new SwapRecorder();
  private final AtomicReference<StepStats> lastStep = new AtomicReference<>();
  private final List<Map<String, Object>> rankTrajectory = new ArrayList<>();
  private final AtomicLong lastVersion = new AtomicLong();
  /** Examples the newest committed snapshot was trained on; -1 before the first. */
  private final AtomicLong lastCommittedExamples = new AtomicLong(-1);
  private final Map<String, Long> predictionsByConsumer = new ConcurrentHashMap<>();
  private final Map<Long, Long> predictionsByVersion = new ConcurrentHashMap<>();
  private final AtomicLong producedValid = new AtomicLong();
  /** Every version each inference consumer ever served. */
  private final Map<String, java.util.Set<Long>> servedVersions = new ConcurrentHashMap<>();
  /** The injected bad candidate's version; 0 when none was injected. */
  private final AtomicLong badVersion = new AtomicLong();
  /** See {@link #holdReplayTail}; null when nobody holds the replay. */
  private volatile TailHold tailHold;
  private final List<String> timeseries = new ArrayList<>();
  /** Where demo.png went, or why it was skipped. */
  private volatile String chart = "not drawn";
  /** One metrics endpoint per service role: stream-app, trainer, and one per inference consumer. */
  private final Map<String, ServiceMetrics> roleMetrics = new ConcurrentHashMap<>();

  DemoRun(Settings s, String bootstrap, String registryUrl) {
    this.s = s;
    this.bootstrap = bootstrap;
    this.registryUrl = registryUrl;
  }

  Summary run() throws Exception {
    long t0 = System.nanoTime();
    PrintStream out = s.console();
    Files.createDirectories(s.out());
    Path work = Files.createTempDirectory("lorastream-demo-");
    out.printf("lorastream demo: bootstrap=%s registry=%s out=%s%n", bootstrap, registryUrl, s.out());

    RotatingSubspaceStream.Config genCfg = RotatingSubspaceStream.Config.defaults(s.seed())
        .withExamplesPerPhase(Math.max(1, s.examples() / RotatingSubspaceStream.Config.defaults(s.seed()).phases()));
    Path basePath = ensureBase(genCfg, out);

    Map<String, String> cli = new HashMap<>();
    cli.put(TrainerConfig.ADAPTER_ID, TASK);
    cli.put(TrainerConfig.ID, "demo-trainer");
    cli.put(TrainerConfig.BASE, basePath.toString());
    cli.put(TrainerConfig.DEVICE, s.device());
    DemoScale scale = scale();
    if (unset(TrainerConfig.MICROBATCH_SIZE)) {
      // As many optimizer steps per phase as the default run takes, whatever the length.
      cli.put(TrainerConfig.MICROBATCH_SIZE, String.valueOf(scale.microBatch()));
    }
    if (s.rankSchedule() != null) {
      cli.put(TrainerConfig.RANK_SCHEDULE, s.rankSchedule());
    } else if (unset(TrainerConfig.RANK_SCHEDULE)) {
      cli.put(TrainerConfig.RANK_SCHEDULE, scale.rankSchedule());
    }
    if (unset(TrainerConfig.PUBLISH_STEPS)) {
      // As many snapshots, and so gate decisions, per phase as in the default run.
      cli.put(TrainerConfig.PUBLISH_STEPS, String.valueOf(scale.publishSteps()));
    }
    cli.put(StreamAppConfig.INGEST_STATE_DIR, work.resolve("streams").toString());
    cli.put(StreamAppConfig.EVAL_STATE_DIR, work.resolve("streams").toString());
    cli.put(InferenceConfig.STATE_DIR, work.resolve("inference").toString());
    cli.put(InferenceConfig.ADAPTER_ID, TASK);
    // Ingest validates the drift task against the generator's actual shape.
    cli.put(StreamAppConfig.TASK_PREFIX + TASK + StreamAppConfig.INPUT_SIZE_SUFFIX, Integer.toString(genCfg.inputSize()));
    cli.put(StreamAppConfig.TASK_PREFIX + TASK + StreamAppConfig.CLASSES_SUFFIX, Integer.toString(genCfg.numClasses()));
    // The demo rolls out through the gate: each snapshot is scored on the holdout stream before it serves.
    cli.put(RolloutConfig.MODE, "gated");
    if (unset(RolloutConfig.GATE_EXAMPLES)) {
      cli.put(RolloutConfig.GATE_EXAMPLES, String.valueOf(scale.gateExamples()));
    }
    cli.put(RolloutConfig.GATE_MARGIN, "0.05");
    cli.putAll(s.overrides()); // e.g. kafka.* credentials, trainer.hmac.key / inference.hmac.key
    LocalPipeline pipeline = LocalPipeline.on(bootstrap, registryUrl).environment(System.getenv()).setAll(cli).build();
    LayeredConfig cfg = KnownSettings.check(pipeline.config());
    pipeline.createTopics(); // the catalog's topics under any topic.prefix; existing ones are kept
    CommonConfig common = pipeline.common();
    StreamAppConfig app = pipeline.streamAppConfig();
    TrainerConfig tc = pipeline.trainerConfig();
    LorastreamSerdes serdes = pipeline.serdes();
    String predictionsTopic = common.catalog().inferencePredictions.name();

    List<AutoCloseable> open = new ArrayList<>();
    startMetrics(cfg, open, out);
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "lorastream-demo-status");
      t.setDaemon(true);
      return t;
    });
    try (BaseModel base = BaseModel.load(basePath, Devices.resolve(s.device()))) {
      Map<String, InferenceService> consumers = new LinkedHashMap<>();
      for (String name : CONSUMERS) {
        InferenceService svc = InferenceService.start(inferenceConfig(cfg, name), common, serdes, base,
            roleMetrics.get(name).kafkaClients());
        open.add(0, svc);
        svc.subscriber().onSwap((adapterId, version, at) -> {
          swaps.activated(name, version, at);
          servedVersions.computeIfAbsent(name, k -> ConcurrentHashMap.newKeySet()).add(version);
        });
        InferenceMeters.bind(roleMetrics.get(name), svc);
        consumers.put(name, svc);
      }
      AdapterSubscriber evalModels = InferenceService.startSubscriber(inferenceConfig(cfg, "eval"), common,
          serdes, base, roleMetrics.get("stream-app").kafkaClients(), AdapterMeters.EVAL_ADAPTERS);
      open.add(0, evalModels);
      EvalService eval = new EvalService(common, app, serdes, evalModels).start();
      open.add(0, eval);
      RolloutController controller = pipeline.startRolloutController(base, roleMetrics.get("stream-app").kafkaClients());
      open.add(0, controller);
      RolloutConfig rollout = pipeline.rolloutConfig();
      if (!controller.awaitReady(Duration.ofSeconds(30))) {
        out.println("warning: the rollout controller is not ready after 30 s; snapshots wait for it");
      }
      long badAt = rollout.mode() == RolloutMode.AUTO ? -1 : Math.max(1, s.examples() * 6 / 10);
      IngestService ingest = pipeline.startIngest();
      open.add(0, ingest);
      ServiceMetrics streamAppMetrics = roleMetrics.get("stream-app");
      IngestMeters.bind(streamAppMetrics, ingest);
      StreamsHealth.bind(streamAppMetrics, "eval", eval::state);
      streamAppMetrics.bindStreams("eval", eval.kafkaStreams());
      EvalMeters.bind(streamAppMetrics, eval);
      AdapterMeters.bind(streamAppMetrics, evalModels, "eval", AdapterMeters.EVAL_ADAPTERS);
      MetricsCollector metrics = new MetricsCollector(common.kafkaProperties(), common.catalog().metrics.name(),
          serdes.pipelineMetric().deserializer()).start();
      open.add(0, metrics);
      java.util.concurrent.atomic.AtomicBoolean following = new java.util.concurrent.atomic.AtomicBoolean(true);
      Thread predictions = followPredictions(common, serdes, predictionsTopic, following);

      TrainerMeters trainerMeters = new TrainerMeters(roleMetrics.get("trainer"), tc.adapterId(), listener());
      RunningTrainer runningTrainer = pipeline.startTrainer(trainerMeters, "lorastream-demo-trainer");
      open.add(0, runningTrainer); // stopped first if the run fails before its drain
      AdapterTrainer trainer = runningTrainer.trainer();
      trainerMeters.bind(trainer);

      long start = System.nanoTime();
      ticker.scheduleAtFixedRate(() -> status(out, start, metrics, consumers), 2, 2, TimeUnit.SECONDS);

      // Replay the drift stream; every 10th example also becomes an inference request.
      Replayer.Counts sent;
      Map<String, Object> producerCfg = new HashMap<>(common.kafkaProperties());
      producerCfg.put(ProducerConfig.LINGER_MS_CONFIG, "5");
      try (KafkaProducer<String, InferenceRequest> requests = new KafkaProducer<>(producerCfg, new StringSerializer(),
          serdes.inferenceRequest().serializer())) {
        Replayer replayer = new Replayer(common.kafkaProperties(), serdes);
        sent = replayer.replay(new RotatingSubspaceStream(genCfg),
            new Replayer.Options(TASK, common.catalog().examplesRaw.name(), s.rate(), s.duplicates(), s.malformed(),
                genCfg.numClasses(), s.seed(), s.examples()),
            c -> { }, e -> {
              awaitTrainerLag(trainer, app.ingest().holdoutFraction());
              long sentSoFar = producedValid.incrementAndGet();
              if (sentSoFar % 10 == 0) {
                requests.send(new ProducerRecord<>(common.catalog().inferenceRequests.name(), "req-" + e.id(),
                    request(e)));
              }
              awaitTailRelease(out, sentSoFar);
              if (sentSoFar == badAt) {
                injectBadCandidate(out, common, serdes, tc, base, trainer, controller);
              }
            });
      }
      out.printf("replay finished: %d valid + %d duplicates + %d malformed = %d records%n",
          sent.valid(), sent.duplicates(), sent.malformed(), sent.total());

      // Drain: ingest has seen everything, the trainer has trained everything routed to it.
      boolean ingested = waitFor(Duration.ofSeconds(60), () -> metrics.ingestTotal(IngestMetrics.PROCESSED) >= sent.total());
      boolean trained = waitFor(Duration.ofSeconds(90), () -> {
        io.lorastream.trainer.TrainerStatus st = trainer.status();
        return st.examplesSeen() + st.examplesBuffered() >= metrics.ingestTotal(IngestMetrics.TRAIN);
      });
      runningTrainer.stop(Duration.ofSeconds(60)); // publishes the final snapshot
      long finalVersion = lastVersion.get();
      long servedVersion = finalVersion;
      if (rollout.mode() != RolloutMode.AUTO) {
        // Wait until the controller has seen the final snapshot; the gate may still hold it back.
        waitFor(Duration.ofSeconds(20), () -> controller.state(TASK).map(st -> st.getLatestVersion() >= finalVersion)
            .orElse(false));
        servedVersion = controller.state(TASK).map(RolloutRules::served).orElse(0L);
      }
      for (InferenceService svc : consumers.values()) {
        svc.subscriber().swapper().awaitServing(TASK, servedVersion, Duration.ofSeconds(20));
      }
      long trainTotal = metrics.ingestTotal(IngestMetrics.TRAIN);
      boolean evaluated = waitFor(Duration.ofSeconds(30),
          () -> metrics.overall(EvalMetrics.PREQUENTIAL_ACCURACY, EvalMetrics.MODEL_FROZEN).count() >= trainTotal);
      waitFor(Duration.ofSeconds(10), () -> predictionsByConsumer.values().stream().mapToLong(Long::longValue).sum()
          >= producedValid.get() / 10);
      ticker.shutdownNow();
      status(out, start, metrics, consumers);
      following.set(false);
      predictions.join(5000);

      Summary summary = summarize(sent, metrics, consumers, trainer, genCfg, ingested && trained && evaluated,
          (System.nanoTime() - t0) / 1e9, rolloutSummary(rollout, controller, servedVersion));
      chart = drawChart(summary);
      report(out, summary);
      write(summary);
      writeScrapes(out);
      return summary;
    } finally {
      ticker.shutdownNow();
      for (AutoCloseable c : open) {
        StreamAppCommand.closeQuietly(c);
      }
      deleteQuietly(work);
    }
  }

  /**
   * Starts one metrics endpoint per service role, as separate deployments would have. On by default
   * in the demo, on free ports bound to loopback; {@code --set metrics.enabled=false} turns them
   * off, {@code metrics.host} changes the interface and {@code metrics.port=P} gives the roles
   * ports P, P+1, ... in the order stream-app, trainer, consumer-1, consumer-2.
   */
  private void startMetrics(LayeredConfig cfg, List<AutoCloseable> open, PrintStream out) {
    MetricsConfig given = new MetricsConfig(cfg); // validates any metrics.* the user set
    boolean enabled = !cfg.has(MetricsConfig.ENABLED) || given.enabled();
    String host = cfg.has(MetricsConfig.HOST) ? given.host() : "127.0.0.1";
    int base = cfg.has(MetricsConfig.PORT) ? given.port() : 0;
    List<String> roles = new ArrayList<>(List.of("stream-app", "trainer"));
    roles.addAll(CONSUMERS);
    for (int i = 0; i < roles.size(); i++) {
      String role = roles.get(i);
      MetricsConfig mc = MetricsConfig.of(enabled, host, base == 0 ? 0 : base + i);
      ServiceMetrics m = ServiceMetrics.start(mc, role.startsWith("consumer-") ? "inference" : role);
      open.add(0, m);
      roleMetrics.put(role, m);
      m.url().ifPresent(u -> out.printf("metrics %-11s %s/metrics  %s/health%n", role, u, u));
    }
  }

  /** Base URL of each role's metrics endpoint (empty until the run started them, or when disabled). */
  Map<String, String> metricsUrls() {
    Map<String, String> urls = new TreeMap<>();
    roleMetrics.forEach((role, m) -> m.url().ifPresent(u -> urls.put(role, u)));
    return urls;
  }

  /** The last scrape of every role, written next to summary.json (metrics/ROLE.prom). */
  private void writeScrapes(PrintStream out) throws IOException {
    if (metricsUrls().isEmpty()) {
      return;
    }
    Path dir = s.out().resolve("metrics");
    Files.createDirectories(dir);
    for (Map.Entry<String, ServiceMetrics> e : new TreeMap<>(roleMetrics).entrySet()) {
      if (e.getValue().server().isPresent()) {
        Files.writeString(dir.resolve(e.getKey() + ".prom"), e.getValue().server().get().prometheusRegistry().scrape());
      }
    }
    out.printf("final metrics scrapes in %s%n", dir);
  }

  private Path ensureBase(RotatingSubspaceStream.Config genCfg, PrintStream out) throws IOException {
    ModelSpec spec = ModelSpec.mlp(genCfg.inputSize(), List.of(64, 64), genCfg.numClasses(), s.seed());
    Path path = s.modelCache().resolve("demo-base-seed" + s.seed() + "-d" + genCfg.inputSize() + "-c" + genCfg.numClasses() + ".lsbase");
    if (Files.isRegularFile(path)) {
      out.printf("base model: reusing %s%n", path);
      return path;
    }
    Files.createDirectories(s.modelCache());
    long t = System.nanoTime();
    RotatingSubspaceStream gen = new RotatingSubspaceStream(genCfg);
    Pretrainer.Result r = new Pretrainer(Pretrainer.Config.defaults())
        .train(spec, gen.phaseSource(0, 8000, s.seed() + 1), 8000, Devices.resolve(s.device()));
    try (BaseModel m = r.model()) {
      Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
      m.save(tmp);
      Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      out.printf("base model: pretrained on concept 0 in %.1f s (train %.3f, holdout %.3f), saved to %s%n",
          (System.nanoTime() - t) / 1e9, r.trainAccuracy(), r.holdoutAccuracy(), path);
    }
    return path;
  }

  /**
   * Backpressure for the replay: the demo shows test-then-train adaptation, which is meaningless if
   * the trainer falls thousands of examples behind on a slow or busy machine, so the replay waits
   * while the trainer lags more than {@code maxLag} examples. A real stream would not wait; the
   * trainer's throughput is measured by {@code lorastream bench}.
   */
  private void awaitTrainerLag(AdapterTrainer trainer, double holdoutFraction) {
    if (s.maxLag() <= 0) {
      return;
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      io.lorastream.trainer.TrainerStatus st = trainer.status();
      if (st.state() == io.lorastream.trainer.TrainerStatus.State.STOPPED) {
        return;
      }
      double expectedTrained = producedValid.get() * (1 - holdoutFraction);
      if (expectedTrained - (st.examplesSeen() + st.examplesBuffered()) <= s.maxLag()) {
        return;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
  }

  /**
   * Holds the replay before its last {@code tail} examples until {@code release} opens (or
   * {@code maxWait} has passed, so a forgotten hold cannot hang a run). A fault-injection run
   * needs the pipeline to still be busy while it observes the recovery from a fault; without the
   * hold a short replay may finish before the recovery does. Call before {@link #run}.
   */
  void holdReplayTail(long tail, CountDownLatch release, Duration maxWait) {
    if (tail < 1 || tail >= s.examples()) {
      throw new IllegalArgumentException("tail must be in [1, " + (s.examples() - 1) + "], was " + tail);
    }
    tailHold = new TailHold(s.examples() - tail, release, maxWait);
  }

  private record TailHold(long at, CountDownLatch release, Duration maxWait) {}

  private void awaitTailRelease(PrintStream out, long sentSoFar) {
    TailHold h = tailHold;
    if (h == null || sentSoFar != h.at()) {
      return;
    }
    out.printf("replay held at %d examples until released%n", h.at());
    try {
      if (!h.release().await(h.maxWait().toMillis(), TimeUnit.MILLISECONDS)) {
        out.printf("replay hold not released within %d s; going on%n", h.maxWait().toSeconds());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static InferenceConfig inferenceConfig(LayeredConfig base, String consumerId) {
    Map<String, String> extra = new HashMap<>(base.withPrefix(""));
    extra.put(InferenceConfig.CONSUMER_ID, consumerId);
    Map<String, String> defaults = new HashMap<>(InferenceConfig.DEFAULTS);
    defaults.putAll(io.lorastream.stream.rollout.RolloutConfig.DEFAULTS);
    return InferenceConfig.from(LayeredConfig.load(defaults, null, Map.of(), extra));
  }

  private TrainerListener listener() {
    return new TrainerListener() {
      @Override
      public void onStep(StepStats stats) {
        StepStats prev = lastStep.getAndSet(stats);
        if (prev == null || stats.ranksChanged()) {
          synchronized (rankTrajectory) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("optimizerStep", stats.optimizerStep());
            row.put("examplesSeen", stats.examplesSeen());
            row.put("ranks", new TreeMap<>(stats.ranks()));
            rankTrajectory.add(row);
          }
        }
      }

      @Override
      public void onSnapshotCommitted(String adapterId, long version, Map<String, Integer> ranks, long bytes,
          long commitWallTimeMillis, long examplesSeen) {
        swaps.committed(version, commitWallTimeMillis);
        lastVersion.set(version);
        lastCommittedExamples.set(examplesSeen);
      }
    };
  }

  private static InferenceRequest request(Example e) {
    List<Float> f = new ArrayList<>(e.features().length);
    for (float v : e.features()) {
      f.add(v);
    }
    return InferenceRequest.newBuilder().setRequestId("req-" + e.id()).setTask(TASK).setFeatures(f)
        .setTokens(List.of()).setLabel(e.label()).setSentAt(Instant.now()).build();
  }

  private Thread followPredictions(CommonConfig common, LorastreamSerdes serdes, String topic,
      java.util.concurrent.atomic.AtomicBoolean following) {
    Map<String, Object> cfg = new HashMap<>(common.kafkaProperties());
    cfg.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cfg.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
    Thread t = new Thread(() -> {
      try (KafkaConsumer<String, Prediction> c = new KafkaConsumer<>(cfg, new StringDeserializer(),
          serdes.prediction().deserializer())) {
        List<TopicPartition> parts = c.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
        c.assign(parts);
        c.seekToBeginning(parts);
        while (following.get()) {
          for (ConsumerRecord<String, Prediction> r : c.poll(Duration.ofMillis(100))) {
            Prediction p = r.value();
            predictionsByConsumer.merge(p.getConsumerId(), 1L, Long::sum);
            predictionsByVersion.merge(p.getAdapterVersion(), 1L, Long::sum);
          }
        }
      }
    }, "lorastream-demo-predictions");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private void status(PrintStream out, long start, MetricsCollector metrics, Map<String, InferenceService> consumers) {
    StepStats st = lastStep.get();
    double secs = (System.nanoTime() - start) / 1e9;
    MetricsCollector.Tally adapted = metrics.overall(EvalMetrics.PREQUENTIAL_ACCURACY, EvalMetrics.MODEL_ADAPTED);
    MetricsCollector.Tally frozen = metrics.overall(EvalMetrics.PREQUENTIAL_ACCURACY, EvalMetrics.MODEL_FROZEN);
    StringBuilder cons = new StringBuilder();
    List<Long> versions = new ArrayList<>();
    consumers.forEach((name, svc) -> {
      long v = svc.subscriber().activeVersion(TASK);
      versions.add(v);
      cons.append(cons.length() == 0 ? "" : ", ").append(name).append(" v").append(v);
    });
    long trained = st == null ? 0 : st.examplesSeen();
    String preq = frozen.count() == 0 ? "preq - (no example scored yet)"
        : String.format(java.util.Locale.ROOT, "preq adapted %.3f frozen %.3f", adapted.accuracy(), frozen.accuracy());
    out.printf("[%5.1fs] produced %d | trained %d (%.0f ex/s) | loss %.3f | ranks %s | v%d | %s | %s%n",
        secs, producedValid.get(), trained, trained / Math.max(secs, 1e-9), st == null ? Double.NaN : st.lossEma(),
        st == null ? "-" : new TreeMap<>(st.ranks()), lastVersion.get(), preq, cons);
    synchronized (timeseries) {
      timeseries.add(String.format(java.util.Locale.ROOT, "%.1f,%d,%d,%.5f,%d,%d,%.5f,%.5f,%d,%d", secs, producedValid.get(),
          trained, st == null ? Double.NaN : st.lossEma(),
          st == null ? 0 : st.ranks().values().stream().mapToInt(Integer::intValue).max().orElse(0), lastVersion.get(),
          adapted.accuracy(), frozen.accuracy(), versions.size() > 0 ? versions.get(0) : 0, versions.size() > 1 ? versions.get(1) : 0));
    }
  }

  /** The run's scale, following a micro-batch the user chose with --set or the environment. */
  private DemoScale scale() {
    DemoScale scale = DemoScale.of(s.examples());
    String b = chosen(TrainerConfig.MICROBATCH_SIZE);
    if (b == null) {
      return scale;
    }
    try {
      return scale.withMicroBatch(Integer.parseInt(b.trim()));
    } catch (IllegalArgumentException e) {
      return scale; // the settings check names the bad value
    }
  }

  /** The value --set or the environment gave this setting, or null when the demo's own choice applies. */
  private String chosen(String key) {
    String v = s.overrides().get(key);
    return v != null ? v : System.getenv(LayeredConfig.keyToEnv(key));
  }

  private boolean unset(String key) {
    return chosen(key) == null;
  }

  /**
   * Publishes the bad candidate built from the newest committed snapshot; a failure is reported,
   * not fatal. Called with the replay paused: it first waits until the trainer has published
   * everything it trained, so that no trainer snapshot can take the bad candidate's version first.
   */
  private void injectBadCandidate(PrintStream out, CommonConfig common, LorastreamSerdes serdes, TrainerConfig tc,
      BaseModel base, AdapterTrainer trainer, RolloutController controller) {
    try {
      long[] settledSince = {0, -1}; // since when, at which examplesSeen
      boolean idle = waitFor(Duration.ofSeconds(2L * tc.publishIntervalMs() / 1000 + 30), () -> {
        long seen = trainer.status().examplesSeen();
        // The listener hears every commit, so the topic is read only once the trainer has settled.
        boolean published = lastCommittedExamples.get() == seen;
        if (!published || settledSince[1] != seen) {
          settledSince[0] = System.nanoTime();
          settledSince[1] = published ? seen : -1;
          return false;
        }
        // Settled for a while: a last partial micro-batch would have been stepped by now.
        return System.nanoTime() - settledSince[0] > TimeUnit.MILLISECONDS.toNanos(1500);
      });
      CommittedAdapterReader.Found f = idle ? CommittedAdapterReader.read(common, TASK, Duration.ofSeconds(10),
          "lorastream-demo-bad-candidate") : null;
      AdapterSnapshot newest = f == null || f.versions().isEmpty() ? null : f.versions().lastEntry().getValue();
      if (newest == null || newest.getVersion() != lastVersion.get()) {
        out.println("bad candidate: the trainer did not settle on a published snapshot; skipped");
        return;
      }
      AdapterSnapshot bad = BadCandidate.of(newest, base, newest.getVersion() + 1, tc.hmacKey().orElse(null));
      BadCandidate.publish(common, serdes, bad);
      badVersion.set(bad.getVersion());
      waitFor(Duration.ofSeconds(10), () -> controller.state(TASK).map(st -> st.getLatestVersion() >= bad.getVersion())
          .orElse(false));
      out.printf("bad candidate: published v%d, v%d with a head that answers the next class for every input, as if "
          + "trained on labels shifted by a bug; the trainer's own v%d will be ignored as not newer%n", bad.getVersion(),
          newest.getVersion(), bad.getVersion());
    } catch (Exception e) {
      out.println("bad candidate: could not publish it: " + e);
    }
  }

  /** What the rollout did: mode, decisions, the bad candidate's fate and the final state. */
  private Map<String, Object> rolloutSummary(RolloutConfig rollout, RolloutController controller, long servedVersion) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("mode", rollout.mode().name().toLowerCase(java.util.Locale.ROOT));
    r.put("gateExamples", rollout.gateExamples());
    r.put("gateMargin", rollout.gateMargin());
    r.put("decisions", controller.decisionCounts());
    r.put("servedVersion", servedVersion);
    controller.state(TASK).ifPresent(st -> r.put("finalState", RolloutCommands.summary(st)));
    long bad = badVersion.get();
    if (bad > 0) {
      Map<String, Object> b = new LinkedHashMap<>();
      b.put("version", bad);
      controller.state(TASK).flatMap(st -> st.getVersions().stream().filter(v -> v.getVersion() == bad).findFirst())
          .ifPresent(v -> {
            b.put("status", v.getStatus().name());
            b.put("figures", new TreeMap<>(v.getFigures()));
          });
      List<String> servedBy = new ArrayList<>();
      servedVersions.forEach((consumer, versions) -> {
        if (versions.contains(bad)) {
          servedBy.add(consumer);
        }
      });
      b.put("servedBy", servedBy);
      b.put("predictions", predictionsByVersion.getOrDefault(bad, 0L));
      r.put("badCandidate", b);
    }
    return r;
  }

  private Summary summarize(Replayer.Counts sent, MetricsCollector metrics, Map<String, InferenceService> consumers,
      AdapterTrainer trainer, RotatingSubspaceStream.Config genCfg, boolean drained, double wallSeconds,
      Map<String, Object> rollout) {
    RotatingSubspaceStream names = new RotatingSubspaceStream(genCfg);
    List<Map<String, Object>> phases = new ArrayList<>();
    metrics.byPhase(EvalMetrics.PREQUENTIAL_ACCURACY).forEach((phase, byModel) -> {
      MetricsCollector.Tally a = byModel.getOrDefault(EvalMetrics.MODEL_ADAPTED, new MetricsCollector.Tally(0, 0));
      MetricsCollector.Tally f = byModel.getOrDefault(EvalMetrics.MODEL_FROZEN, new MetricsCollector.Tally(0, 0));
      Map<String, Object> row = new LinkedHashMap<>();
      String name;
      try {
        name = names.phaseName(Integer.parseInt(phase));
      } catch (RuntimeException e) {
        name = "phase " + phase;
      }
      row.put("name", name);
      row.put("examples", f.count());
      row.put("frozenAccuracy", round(f.accuracy()));
      row.put("adaptedAccuracy", round(a.accuracy()));
      phases.add(row);
    });
    List<Map<String, Object>> cons = new ArrayList<>();
    consumers.forEach((name, svc) -> {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("name", name);
      row.put("versionsApplied", swaps.versionsApplied(name));
      row.put("activeVersion", svc.subscriber().activeVersion(TASK));
      row.put("predictions", predictionsByConsumer.getOrDefault(name, 0L));
      row.put("rejectedSnapshots", svc.subscriber().rejectedTotal());
      cons.add(row);
    });
    io.lorastream.trainer.TrainerStatus ts = trainer.status();
    long trainedCount = ts.examplesSeen();
    long toTrain = metrics.ingestTotal(IngestMetrics.TRAIN);
    long holdout = metrics.ingestTotal(IngestMetrics.HOLDOUT);
    long dlq = metrics.ingestTotal(IngestMetrics.DLQ);
    long dups = metrics.ingestTotal(IngestMetrics.DUPLICATES);
    boolean reconciled = trainedCount == toTrain && trainedCount + holdout + dlq + dups == sent.total();
    Map<String, Integer> finalRanks = new TreeMap<>(ts.ranks());
    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put("recordsSent", Map.of("valid", sent.valid(), "duplicates", sent.duplicates(), "malformed", sent.malformed()));
    extra.put("deadLetteredByReason", metrics.dlqByReason());
    MetricsCollector.Tally ho = metrics.overall(EvalMetrics.HOLDOUT_ACCURACY, EvalMetrics.MODEL_ADAPTED);
    extra.put("holdoutAccuracy", Map.of("examples", ho.count(), "adapted", round(ho.accuracy()),
        "frozen", round(metrics.overall(EvalMetrics.HOLDOUT_ACCURACY, EvalMetrics.MODEL_FROZEN).accuracy())));
    extra.put("rankTrajectory", List.copyOf(rankTrajectory));
    long unpublished = predictionsByVersion.entrySet().stream()
        .filter(e -> e.getKey() != 0 && !swaps.isCommitted(e.getKey())).mapToLong(Map.Entry::getValue).sum();
    extra.put("predictionsNamingUnpublishedVersion", unpublished);
    extra.put("trainerSkippedNonFiniteBatches", ts.skippedNonFiniteBatches());
    extra.put("trainerBadRecords", ts.badRecords());
    extra.put("drained", drained);
    extra.put("wallSeconds", round(wallSeconds));
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("examples", s.examples());
    settings.put("seed", s.seed());
    settings.put("rankSchedule", String.valueOf(trainer.config().rankSchedule()));
    settings.put("microBatch", trainer.config().microBatchSize());
    settings.put("publishSteps", trainer.config().publishSteps());
    settings.put("maxLag", s.maxLag());
    settings.put("device", s.device());
    settings.put("rate", s.rate());
    extra.put("settings", settings);
    extra.put("rollout", rollout);
    boolean badStopped = true;
    if (rollout.get("badCandidate") instanceof Map<?, ?> b) {
      badStopped = "REJECTED".equals(b.get("status")) && ((List<?>) b.get("servedBy")).isEmpty()
          && ((Long) b.get("predictions")) == 0;
    }
    boolean ok = drained && reconciled && unpublished == 0 && badStopped;
    return new Summary(phases, finalRanks, swaps.versionsCommitted(), cons, swaps.percentiles(), sent.total(),
        trainedCount, holdout, dlq, dups, reconciled, ok, extra);
  }

  private void report(PrintStream out, Summary sm) {
    out.println();
    out.println("=== lorastream demo summary ===");
    out.printf("%-28s %9s %10s %10s%n", "phase", "examples", "frozen", "adapted");
    for (Map<String, Object> p : sm.phases()) {
      out.printf("%-28s %9d %10.3f %10.3f%n", p.get("name"), (Long) p.get("examples"),
          (Double) p.get("frozenAccuracy"), (Double) p.get("adaptedAccuracy"));
    }
    StringBuilder traj = new StringBuilder();
    for (Object o : (List<?>) sm.extra().get("rankTrajectory")) {
      Map<?, ?> row = (Map<?, ?>) o;
      traj.append(traj.length() == 0 ? "" : ", ").append(row.get("ranks")).append(" @ step ").append(row.get("optimizerStep"));
    }
    out.printf("final ranks %s; trajectory: %s%n", sm.finalRanks(), traj);
    out.printf("holdout (examples.eval): %s%n", sm.extra().get("holdoutAccuracy"));
    out.printf("versions published: %d%n", sm.versionsPublished());
    for (Map<String, Object> c : sm.consumers()) {
      out.printf("  %s: applied %s versions, active v%s, %s predictions, %s rejected snapshots%n", c.get("name"),
          c.get("versionsApplied"), c.get("activeVersion"), c.get("predictions"), c.get("rejectedSnapshots"));
    }
    out.printf("swap latency commit->active (ms): p50 %d, p99 %d, max %d over %d swaps%n",
        sm.swapLatencyMs().get("p50"), sm.swapLatencyMs().get("p99"), sm.swapLatencyMs().get("max"),
        sm.swapLatencyMs().get("samples"));
    Map<?, ?> ro = (Map<?, ?>) sm.extra().get("rollout");
    Map<?, ?> dc = (Map<?, ?>) ro.get("decisions");
    out.printf("rollout: mode %s (gate on %s holdout examples, margin %s): %d promoted by the gate, %d rejected by "
        + "the gate, %d promoted by hand, %d rolled back; all decisions %s%n", ro.get("mode"), ro.get("gateExamples"),
        ro.get("gateMargin"), count(dc, "PROMOTE by gate"), count(dc, "REJECT by gate"), count(dc, "PROMOTE"),
        count(dc, "ROLLBACK"), dc);
    if (ro.get("badCandidate") instanceof Map<?, ?> b) {
      Map<?, ?> f = b.get("figures") instanceof Map<?, ?> m ? m : Map.of();
      out.printf("  bad candidate v%s: %s, accuracy %s vs active %s on %s holdout examples; served by %s, in %s "
          + "predictions%n", b.get("version"), b.get("status"), f.get("candidate_accuracy"), f.get("active_accuracy"),
          f.get("gate_examples"), ((List<?>) b.get("servedBy")).isEmpty() ? "no consumer" : b.get("servedBy"),
          b.get("predictions"));
    }
    if (ro.get("finalState") != null) {
      out.printf("  final state: %s%n", ro.get("finalState"));
    }
    out.printf("records: %d produced = %d trained + %d holdout + %d dead-lettered + %d duplicates -> %s%n",
        sm.examplesProduced(), sm.examplesTrained(), sm.examplesHoldout(), sm.examplesDeadLettered(),
        sm.examplesDuplicates(), sm.reconciled() ? "reconciled" : "MISMATCH");
    out.printf("dead-lettered by reason: %s%n", sm.extra().get("deadLetteredByReason"));
    out.printf("wall time %.1f s; results in %s%n", (Double) sm.extra().get("wallSeconds"), s.out());
    out.printf("chart: %s%n", chart);
  }

  private static long count(Map<?, ?> counts, String key) {
    Object v = counts.get(key);
    return v instanceof Number n ? n.longValue() : 0;
  }

  private void write(Summary sm) throws IOException {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("phases", sm.phases());
    json.put("finalRanks", sm.finalRanks());
    json.put("versionsPublished", sm.versionsPublished());
    json.put("consumers", sm.consumers());
    Map<String, Long> lat = new LinkedHashMap<>(sm.swapLatencyMs());
    json.put("swapLatencyMs", lat);
    json.put("examplesProduced", sm.examplesProduced());
    json.put("examplesTrained", sm.examplesTrained());
    json.put("examplesHoldout", sm.examplesHoldout());
    json.put("examplesDeadLettered", sm.examplesDeadLettered());
    json.put("examplesDuplicates", sm.examplesDuplicates());
    json.put("reconciled", sm.reconciled());
    json.put("ok", sm.ok());
    json.putAll(sm.extra());
    json.put("chart", chart);
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(s.out().resolve("summary.json").toFile(), json);
    List<String> lines = new ArrayList<>();
    lines.add("seconds,produced,trained,loss_ema,max_rank,version,preq_adapted,preq_frozen,consumer1_version,consumer2_version");
    synchronized (timeseries) {
      lines.addAll(timeseries);
    }
    Files.write(s.out().resolve("timeseries.csv"), lines);
  }

  /** Draws demo.png; a picture that cannot be drawn (no fonts on a minimal image) is skipped, never fatal. */
  private String drawChart(Summary sm) {
    List<String> rows;
    synchronized (timeseries) {
      rows = new ArrayList<>(timeseries);
    }
    try {
      return DemoChart.write(s.out(), sm.phases(), rows, swaps.latenciesByVersion()).toString();
    } catch (IOException | RuntimeException | LinkageError | InternalError e) {
      return "skipped (" + e + ")";
    }
  }

  private static boolean waitFor(Duration max, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      TimeUnit.MILLISECONDS.sleep(100); // main code polling a pipeline condition, not a test
    }
    return condition.getAsBoolean();
  }

  private static double round(double v) {
    return Double.isNaN(v) ? Double.NaN : Math.round(v * 10000) / 10000.0;
  }

  private static void deleteQuietly(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp dir left behind is harmless
    }
  }
}
