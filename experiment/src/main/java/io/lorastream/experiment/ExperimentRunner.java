package io.lorastream.experiment;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.config.CommonConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.Devices;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.train.FullFineTuner;
import io.lorastream.lora.train.HeadFitter;
import io.lorastream.lora.train.Pretrainer;
import io.lorastream.lora.train.StepResult;
import io.lorastream.pipeline.LocalPipeline;
import io.lorastream.pipeline.RunningTrainer;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.ingest.IngestMetrics;
import io.lorastream.stream.ingest.IngestService;
import io.lorastream.stream.ingest.IngestTotals;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.stream.serving.AdapterSubscriber;
import io.lorastream.trainer.AdapterTrainer;
import io.lorastream.trainer.MicroBatch;
import io.lorastream.trainer.MicroBatchAssembler;
import io.lorastream.trainer.StepStats;
import io.lorastream.trainer.TrainerConfig;
import io.lorastream.trainer.TrainerListener;
import io.lorastream.trainer.TrainerStatus;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * Runs one experiment end to end on a running broker and registry: pretrains the base on the
 * workload's pretraining period, produces the stream once to {@code examples.raw}, lets the real
 * stream-app ingest validate and route it to {@code examples.train}, then runs every variant over
 * that same topic from offset 0. LoRA variants run the real {@link AdapterTrainer} (snapshots to a
 * per-variant compacted adapters topic, exactly-once) with an {@link AdapterSubscriber} inference
 * consumer hot-swapping every version; the frozen base and online full fine-tuning read the same
 * topic with a plain consumer, since they publish no adapter. Every variant is scored the same way:
 * test-then-train on each micro-batch, by the model that is about to train on it, so scores do not
 * depend on timing. Topics get a per-run prefix so runs never read each other's data.
 */
public final class ExperimentRunner {
  private static final Duration INGEST_TIMEOUT = Duration.ofMinutes(10);
  private static final Duration CONSUMER_TIMEOUT = Duration.ofSeconds(60);
  private static final long PROGRESS_EVERY_NANOS = TimeUnit.SECONDS.toNanos(5);
  /**
   * Share of the pretraining period the base holds out of its own training: none, so that the
   * base learns from exactly the examples the linear baselines warm up on.
   */
  static final double PRETRAIN_HOLDOUT = 0.0;

  private final Workload workload;
  private ExperimentSettings s; // the learning rates are replaced by the tuned ones
  private final String bootstrap;
  private final String registryUrl;
  private final PrintStream out;
  private final String prefix;
  private java.util.function.BiConsumer<ExperimentResult, Integer> onVariantDone = (r, total) -> { };
  private boolean tune = true;
  private PretrainingTuner.Result tuning;
  private ModelSpec baseSpec; // of the base every variant starts from

  /**
   * Whether the learning rates (and the variants the comparisons use) are chosen on the pretraining
   * period first ({@link PretrainingTuner}); without it the configured rates run as given.
   */
  public ExperimentRunner tune(boolean on) {
    this.tune = on;
    return this;
  }

  public ExperimentRunner(Workload workload, ExperimentSettings settings, String bootstrap, String registryUrl,
      PrintStream console) {
    this.workload = workload;
    this.s = settings;
    this.bootstrap = bootstrap;
    this.registryUrl = registryUrl;
    this.out = console;
    this.prefix = "xp." + workload.name() + "." + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))
        + "-" + Long.toHexString(System.nanoTime() & 0xffff) + ".";
  }

  /**
   * Called on this thread after each variant with the results so far and the number of variants
   * planned, so a caller can write partial results that survive an interrupted run.
   */
  public ExperimentRunner onVariantDone(java.util.function.BiConsumer<ExperimentResult, Integer> callback) {
    this.onVariantDone = java.util.Objects.requireNonNull(callback);
    return this;
  }

  /** Runs pretraining, ingest and every selected variant; writes nothing (see {@link ExperimentReport}). */
  public ExperimentResult run() throws Exception {
    long t0 = System.nanoTime();
    Files.createDirectories(s.out());
    ai.djl.Device device = Devices.resolve(s.device());
    List<LabeledExample> stream = workload.stream();
    if (stream.isEmpty()) {
      throw new IllegalStateException("workload " + workload.name() + " has an empty stream");
    }
    long expectedSteps = Math.max(1, stream.size() / ((long) s.microBatch() * s.accumulation()));
    List<Variant> variants = Variant.select(Variant.standard(expectedSteps, s.plateauWindow(), s.plateauMargin()),
        s.variants());

    // 1. Pretraining period -> frozen base.
    Path basePath = s.out().resolve("base.lsbase");
    ModelSpec spec = workload.baseSpec(s.seed());
    List<Example> pretrainSet = workload.pretrain(); // workloads may build it on every call
    long tp = System.nanoTime();
    Pretrainer.Result pre;
    java.util.function.Consumer<String> progress = line -> out.printf("[%s] pretraining %s%n", workload.name(), line);
    java.util.Optional<BaseModel> encoder = workload.pretrainedEncoder(s.seed(), device, progress);
    String pretrainedId = encoder.map(BaseModel::id).orElse(null);
    if (tune) {
      try {
        tuning = PretrainingTuner.run(workload, s, variants, pretrainSet,
            PretrainingTuner.baseBuilder(workload, s, encoder.orElse(null), device), out);
      } catch (RuntimeException e) {
        encoder.ifPresent(BaseModel::close); // the head fit below would have closed it
        throw e;
      }
      s = s.withRates(tuning.loraLr(), tuning.fullLr());
      tp = System.nanoTime();
    }
    if (encoder.isPresent()) {
      try (BaseModel enc = encoder.get()) {
        spec = enc.spec();
        out.printf("[%s] fitting the head of pretrained %s (%,d parameters, frozen) on %,d examples...%n",
            workload.name(), enc.id(), enc.parameterCount(), pretrainSet.size());
        pre = new HeadFitter(HeadFitter.Config.defaults(s.seed()).withHoldout(PRETRAIN_HOLDOUT), progress)
            .fit(enc, pretrainSet, enc.id() + "+" + workload.task() + "-head", device);
      }
    } else {
      out.printf("[%s] pretraining a %s base on %,d examples (%d epochs)...%n", workload.name(), spec.kind(),
          pretrainSet.size(), s.pretrainEpochs());
      pre = new Pretrainer(new Pretrainer.Config(s.pretrainEpochs(), s.pretrainBatch(), s.pretrainLr(),
          PRETRAIN_HOLDOUT, s.seed()), progress).train(spec, pretrainSet, device);
    }
    long baseParams;
    List<LayerInfo> layers;
    List<LayerInfo> adaptable; // linear layers and, for text models, the embedding table
    baseSpec = pre.model().spec();
    try (BaseModel b = pre.model()) {
      b.save(basePath);
      baseParams = b.parameterCount();
      layers = b.linearLayers();
      adaptable = b.adaptableLayers();
    }
    double pretrainSeconds = (System.nanoTime() - tp) / 1e9;
    out.printf("[%s] base: %,d parameters, train accuracy %.3f on the whole pretraining period, %.1f s%n",
        workload.name(), baseParams, pre.trainAccuracy(), pretrainSeconds);
    Map<String, Object> baseFacts = baseFacts(spec, baseParams, pre, pretrainSet.size(), pretrainSeconds, layers,
        pretrainedId);

    // 2. Stream once through Kafka and the real ingest.
    // One partition keeps the stream in its (date) order for every reader.
    LocalPipeline pipeline = LocalPipeline.on(bootstrap, registryUrl).topicPrefix(prefix)
        .set(CommonConfig.PARTITIONS, "1").build().createTopics();
    CommonConfig common = pipeline.common();
    LorastreamSerdes serdes = pipeline.serdes();
    produce(common, serdes, stream);
    long expected = ingestAll(pipeline, stream.size());

    // 3. Variants, one after the other on the same topic.
    List<VariantResult> results = new ArrayList<>();
    for (Variant v : variants) {
      out.printf("[%s] variant %s %s%n", workload.name(), v.name(), v.schedule().isEmpty() ? "" : "(" + v.schedule() + ")");
      VariantResult r = switch (v.kind()) {
        case LORA -> runLora(v, pipeline, basePath, expected, baseParams, adaptable);
        case FROZEN, FULL, LINEAR -> runDirect(v, common, serdes, basePath, device, expected, baseParams, pretrainSet);
      };
      out.printf("[%s] %s: prequential accuracy %.4f, last window %.4f, F1 %.4f, %,d trainable params (%.3f%%), "
              + "%.0f examples/s, %.1f s%n", workload.name(), v.name(), r.accuracy(), r.lastWindowAccuracy(), r.f1(),
          r.trainableParameters(), r.trainablePercent(), r.examplesPerSecond(), r.wallSeconds());
      results.add(r);
      onVariantDone.accept(new ExperimentResult(workload.name(), workload.summary(), s, baseFacts, stream.size(),
          expected, results, (System.nanoTime() - t0) / 1e9, tuning), variants.size());
    }
    return new ExperimentResult(workload.name(), workload.summary(), s, baseFacts, stream.size(), expected, results,
        (System.nanoTime() - t0) / 1e9, tuning);
  }

  private static Map<String, Object> baseFacts(ModelSpec spec, long baseParams, Pretrainer.Result pre,
      int pretrainExamples, double pretrainSeconds, List<LayerInfo> layers, String pretrainedIdOrNull) {
    Map<String, Object> base = new LinkedHashMap<>();
    base.put("kind", spec.kind());
    if (pretrainedIdOrNull != null) {
      base.put("pretrained", pretrainedIdOrNull); // only the head was fitted on the pretraining period
    }
    base.put("spec", spec.toString());
    base.put("parameters", baseParams);
    base.put("pretrainExamples", pretrainExamples);
    base.put("pretrainTrainAccuracy", pre.trainAccuracy());
    base.put("pretrainSeconds", pretrainSeconds);
    List<Map<String, Object>> layerList = new ArrayList<>();
    for (LayerInfo l : layers) {
      layerList.add(Map.of("name", l.name(), "in", l.in(), "out", l.out()));
    }
    base.put("linearLayers", layerList);
    return java.util.Collections.unmodifiableMap(base); // shared by every (partial) result
  }

  // ---------------------------------------------------------------------------------------------
  // Stream and ingest

  /** Waits (up to the ingest timeout) until the producer's metadata names a leader for every partition. */
  private static void awaitLeaders(KafkaProducer<?, ?> p, String topic) {
    long deadline = System.nanoTime() + INGEST_TIMEOUT.toNanos();
    while (p.partitionsFor(topic).stream().anyMatch(i -> i.leader() == null || i.leader().isEmpty())) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("topic " + topic + " has a partition without a leader after " + INGEST_TIMEOUT);
      }
      try {
        Thread.sleep(50); // production code: a bounded wait for broker metadata, not a test
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for " + topic + "'s leaders", e);
      }
    }
  }

  private void produce(CommonConfig common, LorastreamSerdes serdes, List<LabeledExample> stream) {
    Map<String, Object> cfg = new HashMap<>(common.kafkaProperties());
    cfg.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    cfg.put(ProducerConfig.ACKS_CONFIG, "all");
    cfg.put(ProducerConfig.LINGER_MS_CONFIG, "10");
    // One batch in flight: on a topic created a moment ago the first produce can meet
    // NOT_LEADER_OR_FOLLOWER, and with several idempotent batches in flight the retried first one
    // then fell behind its successors and was refused as out of order until it expired (seen once
    // in CI). The stream is produced once per run, so throughput does not matter here.
    cfg.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
    String topic = common.catalog().examplesRaw.name();
    AtomicReference<Exception> failed = new AtomicReference<>();
    try (KafkaProducer<String, LabeledExample> p = new KafkaProducer<>(cfg, new StringSerializer(),
        serdes.labeledExample().serializer())) {
      awaitLeaders(p, topic);
      for (LabeledExample e : stream) {
        p.send(new ProducerRecord<>(topic, e.getId(), e), (md, ex) -> {
          if (ex != null) {
            failed.compareAndSet(null, ex);
          }
        });
      }
      p.flush();
    }
    if (failed.get() != null) {
      throw new IllegalStateException("producing the stream to " + topic + " failed: " + failed.get().getMessage(),
          failed.get());
    }
    out.printf("[%s] produced %,d examples to %s%n", workload.name(), stream.size(), topic);
  }

  /** Runs ingest until it has processed every produced record; returns how many it routed to training. */
  private long ingestAll(LocalPipeline pipeline, long produced) throws Exception {
    Map<String, String> app = new HashMap<>();
    Path state = Files.createTempDirectory("lorastream-experiment-");
    app.put(StreamAppConfig.INGEST_APPLICATION_ID, prefix + "ingest");
    app.put(StreamAppConfig.INGEST_STATE_DIR, state.toString());
    app.put(StreamAppConfig.HOLDOUT_FRACTION, "0.0"); // prequential scoring needs no holdout
    String task = StreamAppConfig.TASK_PREFIX + workload.task();
    app.put(task + StreamAppConfig.INPUT_SIZE_SUFFIX, Integer.toString(workload.ingestInputSize()));
    app.put(task + StreamAppConfig.CLASSES_SUFFIX, Integer.toString(workload.numClasses()));
    app.put(task + StreamAppConfig.FEATURE_KIND_SUFFIX, workload.tokens() ? "tokens" : "dense");
    try {
      return ingest(pipeline.with(app), produced);
    } finally {
      // The ingest app is closed by now; its state is of no use to anyone after the run.
      Utils.delete(state.toFile());
    }
  }

  private long ingest(LocalPipeline pipeline, long produced) throws Exception {
    long start = System.nanoTime();
    CommonConfig common = pipeline.common();
    try (IngestService ingest = pipeline.startIngest();
        KafkaConsumer<String, PipelineMetric> metrics = metricsConsumer(common, pipeline.serdes())) {
      IngestTotals totals = new IngestTotals();
      long deadline = System.nanoTime() + INGEST_TIMEOUT.toNanos();
      long nextProgress = System.nanoTime() + PROGRESS_EVERY_NANOS;
      while (true) {
        for (ConsumerRecord<String, PipelineMetric> r : metrics.poll(Duration.ofMillis(200))) {
          if (r.value() != null) {
            totals.accept(r.value());
          }
        }
        long processed = totals.total(IngestMetrics.PROCESSED);
        if (processed >= produced) {
          long train = totals.total(IngestMetrics.TRAIN);
          long dlq = totals.total(IngestMetrics.DLQ);
          long dup = totals.total(IngestMetrics.DUPLICATES);
          out.printf("[%s] ingest: %,d processed -> %,d to %s, %,d dead-lettered, %,d duplicates (%.1f s)%n",
              workload.name(), processed, train, common.catalog().examplesTrain.name(), dlq, dup,
              (System.nanoTime() - start) / 1e9);
          return train;
        }
        if (ingest.lastThreadFailure() != null) {
          throw new IllegalStateException("ingest failed: " + ingest.lastThreadFailure(), ingest.lastThreadFailure());
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("ingest processed only " + processed + " of " + produced + " records in "
              + INGEST_TIMEOUT.toMinutes() + " min (state " + ingest.state() + ")");
        }
        if (System.nanoTime() > nextProgress) {
          out.printf("[%s] ingest: %,d / %,d processed%n", workload.name(), processed, produced);
          nextProgress = System.nanoTime() + PROGRESS_EVERY_NANOS;
        }
      }
    }
  }

  private KafkaConsumer<String, PipelineMetric> metricsConsumer(CommonConfig common, LorastreamSerdes serdes) {
    KafkaConsumer<String, PipelineMetric> c = new KafkaConsumer<>(readCommitted(common, "metrics"),
        new StringDeserializer(), serdes.pipelineMetric().deserializer());
    assignFromStart(c, common.catalog().metrics.name());
    return c;
  }

  private Map<String, Object> readCommitted(CommonConfig common, String role) {
    Map<String, Object> cfg = new HashMap<>(common.kafkaProperties());
    cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cfg.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cfg.put(ConsumerConfig.CLIENT_ID_CONFIG, prefix + role);
    cfg.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
    return cfg;
  }

  private static void assignFromStart(KafkaConsumer<?, ?> c, String topic) {
    List<TopicPartition> tps = new ArrayList<>();
    for (PartitionInfo p : c.partitionsFor(topic)) {
      tps.add(new TopicPartition(topic, p.partition()));
    }
    c.assign(tps);
    c.seekToBeginning(tps);
  }

  // ---------------------------------------------------------------------------------------------
  // LoRA variants: the real trainer and an inference consumer

  /** The trainer settings that decide what a LoRA variant learns (shared with the tuning runs). */
  static Map<String, String> learningSettings(ExperimentSettings s, Variant v, double lr) {
    Map<String, String> cli = new HashMap<>();
    cli.put(TrainerConfig.MICROBATCH_SIZE, Integer.toString(s.microBatch()));
    cli.put(TrainerConfig.ACCUMULATION_STEPS, Integer.toString(s.accumulation()));
    cli.put(TrainerConfig.LR, Double.toString(lr));
    cli.put(TrainerConfig.ALPHA, Float.toString((float) (s.alpha() * v.alphaFactor())));
    cli.put(TrainerConfig.GROWTH_KEEPS_SCALE, Boolean.toString(v.keepScale()));
    cli.put(TrainerConfig.RANK_SCHEDULE, v.schedule());
    cli.put(TrainerConfig.RANK_MAX, "16");
    cli.put(TrainerConfig.TARGETS, String.join(",", s.targets()));
    cli.put(TrainerConfig.SEED, Long.toString(s.seed()));
    return cli;
  }

  static OnlineLinear.Rule ruleOf(Variant v) {
    return v.name().equals(Variant.PERCEPTRON) ? OnlineLinear.Rule.PERCEPTRON : OnlineLinear.Rule.LOGISTIC_ADAGRAD;
  }

  /** The linear baselines' input width: the vocabulary for token workloads, else the feature count. */
  static int linearDim(Workload w, List<Example> pretrain) {
    return w.tokens() ? w.ingestInputSize() : pretrain.get(0).features().length;
  }

  private VariantResult runLora(Variant v, LocalPipeline pipeline0, Path basePath, long expected, long baseParams,
      List<LayerInfo> layers) throws Exception {
    Map<String, String> cli = new HashMap<>();
    cli.put("topic.adapters", prefix + "adapters." + v.name());
    cli.put(TrainerConfig.ADAPTER_ID, workload.task());
    cli.put(TrainerConfig.ID, "xp-" + v.name());
    cli.put(TrainerConfig.BASE, basePath.toString());
    cli.put(TrainerConfig.DEVICE, s.device());
    cli.putAll(learningSettings(s, v, s.loraLr()));
    cli.put(TrainerConfig.PUBLISH_STEPS, Long.toString(s.publishSteps()));
    // Cadence by steps only, unbounded by time: the same snapshots on any machine.
    cli.put(TrainerConfig.PUBLISH_INTERVAL_MS, "3600000");
    cli.put(TrainerConfig.PUBLISH_MIN_INTERVAL_MS, "0");
    cli.put(TrainerConfig.TRANSACTIONAL_ID, prefix + "trainer." + v.name());
    cli.put(TrainerConfig.GROUP_ID, prefix + "trainer." + v.name());
    LocalPipeline pipeline = pipeline0.with(cli).createTopics();
    CommonConfig common = pipeline.common();
    LorastreamSerdes serdes = pipeline.serdes();

    PrequentialScore score = new PrequentialScore(workload.numClasses(), workload.positiveClass(), s.window());
    List<VariantResult.RankPoint> rankPoints = new ArrayList<>();
    AtomicLong lastBytes = new AtomicLong();
    AtomicLong totalBytes = new AtomicLong();
    AtomicLong published = new AtomicLong();
    AtomicLong lastVersion = new AtomicLong();
    AtomicReference<Map<String, Integer>> finalRanks = new AtomicReference<>(Map.of());
    long[] scoredSpan = {0, 0}; // first and last scoring time (nanos)
    TrainerListener listener = new TrainerListener() {
      @Override
      public void onScored(int[] labels, int[] predictions) {
        long now = System.nanoTime();
        if (scoredSpan[0] == 0) {
          scoredSpan[0] = now;
        }
        scoredSpan[1] = now;
        score.add(labels, predictions);
      }

      @Override
      public void onStep(StepStats st) {
        int r = st.ranks().values().stream().mapToInt(Integer::intValue).max().orElse(0);
        synchronized (rankPoints) {
          if (rankPoints.isEmpty() || rankPoints.get(rankPoints.size() - 1).rank() != r) {
            rankPoints.add(new VariantResult.RankPoint(st.examplesSeen() - st.batchSize(), r));
          }
        }
      }

      @Override
      public void onSnapshotCommitted(String adapterId, long version, Map<String, Integer> ranks, long bytes,
          long commitWallTimeMillis, long examplesSeen) {
        lastBytes.set(bytes);
        totalBytes.addAndGet(bytes);
        published.incrementAndGet();
        lastVersion.set(version);
        finalRanks.set(Map.copyOf(ranks));
      }
    };

    long start = System.nanoTime();
    try (BaseModel servingBase = BaseModel.load(basePath, ai.djl.Device.cpu());
        AdapterSubscriber consumer = AdapterSubscriber.builder(servingBase)
            .kafkaProperties(common.kafkaProperties())
            .topics(common.catalog())
            .deserializer(serdes.adapterSnapshot().deserializer())
            .adapterId(workload.task())
            .clientId(prefix + "inference." + v.name())
            .start()) {
      RunningTrainer running = pipeline.startTrainer(listener, "experiment-trainer-" + v.name());
      AdapterTrainer trainer = running.trainer();
      long nextProgress = System.nanoTime() + PROGRESS_EVERY_NANOS;
      try {
        while (true) {
          TrainerStatus st = trainer.status();
          if (trainer.failure().isPresent()) {
            throw new IllegalStateException("trainer for " + v.name() + " failed: " + trainer.failure().get(),
                trainer.failure().get());
          }
          if (st.state() == TrainerStatus.State.STOPPED) {
            throw new IllegalStateException("trainer for " + v.name() + " stopped before reading the stream");
          }
          if (st.examplesSeen() + st.examplesBuffered() + st.badRecords() >= expected) {
            break;
          }
          if (System.nanoTime() > nextProgress) {
            progress(v, score, score.size(), expected, start); // scored so far; examplesSeen moves at commits
            nextProgress = System.nanoTime() + PROGRESS_EVERY_NANOS;
          }
          trainer.awaitStopped(Duration.ofMillis(100));
        }
      } finally {
        running.close(); // trains the last partial micro-batch and commits the final snapshot
      }
      if (trainer.failure().isPresent()) {
        throw new IllegalStateException("trainer for " + v.name() + " failed: " + trainer.failure().get(),
            trainer.failure().get());
      }
      if (!consumer.awaitVersion(workload.task(), lastVersion.get(), CONSUMER_TIMEOUT)) {
        throw new IllegalStateException("inference consumer of " + v.name() + " did not activate version "
            + lastVersion.get() + " within " + CONSUMER_TIMEOUT.toSeconds() + " s (active "
            + consumer.activeVersion(workload.task()) + ", rejected " + consumer.rejectedTotal() + ")");
      }
      double wall = (System.nanoTime() - start) / 1e9;
      long trainable = 0;
      for (Map.Entry<String, Integer> e : finalRanks.get().entrySet()) {
        LayerInfo l = layers.stream().filter(x -> x.name().equals(e.getKey())).findFirst().orElseThrow();
        trainable += (long) e.getValue() * (l.in() + l.out());
      }
      List<VariantResult.RankPoint> ranks;
      synchronized (rankPoints) {
        ranks = new ArrayList<>(rankPoints);
      }
      return result(v, s.loraLr(), score, trainable, baseParams, lastBytes.get(), totalBytes.get(), published.get(),
          consumer.applied(), scoredSpan, wall, finalRanks.get(), ranks);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Frozen base and online full fine-tuning: same topic, same micro-batches, no adapter

  private VariantResult runDirect(Variant v, CommonConfig common, LorastreamSerdes serdes, Path basePath,
      ai.djl.Device device, long expected, long baseParams, List<Example> pretrainSet) throws Exception {
    PrequentialScore score = new PrequentialScore(workload.numClasses(), workload.positiveClass(), s.window());
    long[] scoredSpan = {0, 0};
    long start = System.nanoTime();
    long trainable = 0;
    OnlineLinear.Tuned linear = null;
    if (v.kind() == Variant.Kind.LINEAR) {
      linear = OnlineLinear.tuned(ruleOf(v), pretrainSet, workload.tokens(), linearDim(workload, pretrainSet),
          workload.numClasses(), s.pretrainEpochs());
      trainable = linear.model().parameters();
      out.printf("[%s] %s: %,d weights over %s, %d pass(es) over the pretraining period; %s%n", workload.name(),
          v.name(), trainable, workload.tokens() ? "the bag of token ids in the window" : "the features",
          s.pretrainEpochs(), linear.how());
    }
    OnlineLinear learner = linear == null ? null : linear.model();
    try (BaseModel base = BaseModel.load(basePath, device);
        FullFineTuner tuner = v.kind() == Variant.Kind.FULL
            ? FullFineTuner.create(base, fullFineTuningConfig(s, s.fullLr()))
            : null;
        KafkaConsumer<String, LabeledExample> c = new KafkaConsumer<>(readCommitted(common, "direct." + v.name()),
            new StringDeserializer(), serdes.labeledExample().deserializer())) {
      if (tuner != null) {
        trainable = tuner.trainableParameters();
      }
      assignFromStart(c, common.catalog().examplesTrain.name());
      MicroBatchAssembler assembler = MicroBatchAssembler.forModel(s.microBatch(), base);
      long read = 0;
      long idleSince = System.nanoTime();
      long nextProgress = System.nanoTime() + PROGRESS_EVERY_NANOS;
      while (read < expected) {
        var records = c.poll(Duration.ofMillis(200));
        if (records.isEmpty()) {
          if (System.nanoTime() - idleSince > CONSUMER_TIMEOUT.toNanos()) {
            throw new IllegalStateException(v.name() + ": read " + read + " of " + expected + " examples, then nothing for "
                + CONSUMER_TIMEOUT.toSeconds() + " s");
          }
          continue;
        }
        idleSince = System.nanoTime();
        for (ConsumerRecord<String, LabeledExample> r : records) {
          LabeledExample e = r.value();
          read++;
          if (e == null || !workload.task().equals(e.getTask()) || assembler.rejectReason(e) != null) {
            continue; // the trainer skips these too
          }
          if (assembler.add(e)) {
            scoreBatch(assembler.drain(), base, tuner, learner, score, scoredSpan);
          }
        }
        if (System.nanoTime() > nextProgress) {
          progress(v, score, score.size(), expected, start);
          nextProgress = System.nanoTime() + PROGRESS_EVERY_NANOS;
        }
      }
      if (!assembler.isEmpty()) {
        scoreBatch(assembler.drain(), base, tuner, learner, score, scoredSpan);
      }
      if (tuner != null) {
        tuner.flush();
      }
    }
    double wall = (System.nanoTime() - start) / 1e9;
    double lr = v.kind() == Variant.Kind.FULL ? s.fullLr() : linear != null ? linear.lr() : 0;
    return result(v, lr, score, trainable, baseParams, 0, 0, 0, 0, scoredSpan, wall, Map.of(), List.of());
  }

  /**
   * The trainer's optimizer (AdamW, same betas, eps, clipping, L2 factor, accumulation and
   * micro-batch) with the full-fine-tuning rate. FullFineTuner applies the L2 term to the distance
   * from the pretrained weights, the counterpart of LoRA's penalty on A and B.
   */
  static io.lorastream.lora.train.LearnerConfig fullFineTuningConfig(ExperimentSettings s, double lr) {
    Map<String, String> cli = new HashMap<>();
    cli.put(TrainerConfig.MICROBATCH_SIZE, Integer.toString(s.microBatch()));
    cli.put(TrainerConfig.ACCUMULATION_STEPS, Integer.toString(s.accumulation()));
    cli.put(TrainerConfig.LR, Double.toString(lr));
    return TrainerConfig.of(cli).learnerConfig();
  }

  private static void scoreBatch(MicroBatch mb, BaseModel base, FullFineTuner tuner, OnlineLinear linear,
      PrequentialScore score, long[] span) {
    int[] predictions;
    if (linear != null) {
      // the whole micro-batch is scored before any update on it, as the neural learners are
      int width = base.inputSize();
      predictions = new int[mb.size()];
      for (int i = 0; i < mb.size(); i++) {
        predictions[i] = linear.predict(mb.features(), i, width);
      }
      for (int i = 0; i < mb.size(); i++) {
        linear.learn(mb.features(), i, width, mb.labels()[i]);
      }
    } else if (tuner != null) {
      StepResult r = tuner.trainMicroBatch(mb.features(), mb.labels(), mb.weights());
      predictions = r.predictions();
      if (predictions == null) {
        return; // skipped non-finite batch: unscored, as in the trainer
      }
    } else {
      float[] logits = base.logits(mb.features(), mb.size());
      int c = base.numClasses();
      predictions = new int[mb.size()];
      for (int i = 0; i < mb.size(); i++) {
        int best = 0;
        for (int k = 1; k < c; k++) {
          if (logits[i * c + k] > logits[i * c + best]) {
            best = k;
          }
        }
        predictions[i] = best;
      }
    }
    long now = System.nanoTime();
    if (span[0] == 0) {
      span[0] = now;
    }
    span[1] = now;
    score.add(mb.labels(), predictions);
  }

  private void progress(Variant v, PrequentialScore score, long done, long expected, long start) {
    double secs = (System.nanoTime() - start) / 1e9;
    out.printf("[%s] %s: %,d / %,d examples, %.0f examples/s, prequential accuracy so far %.4f%n", workload.name(),
        v.name(), done, expected, done / Math.max(1e-9, secs), score.accuracy());
  }

  private VariantResult result(Variant v, double lr, PrequentialScore score, long trainable, long baseParams,
      long snapshotBytes, long snapshotBytesTotal, long published, long applied, long[] span, double wall,
      Map<String, Integer> finalRanks, List<VariantResult.RankPoint> ranks) {
    double spanSecs = (span[1] - span[0]) / 1e9;
    // Rate over the scored span (first to last micro-batch), i.e. without startup and the final publish.
    double rate = spanSecs > 0 ? (score.size() - Math.min(score.size(), s.microBatch())) / spanSecs : Double.NaN;
    List<VariantResult.RankPoint> rp = new ArrayList<>(ranks);
    if (!rp.isEmpty()) {
      rp.add(new VariantResult.RankPoint(score.size(), rp.get(rp.size() - 1).rank()));
    }
    return new VariantResult(v.name(), v.kind(), v.schedule(), lr, score.size(), score.accuracy(),
        score.lastWindowAccuracy(), score.f1(), score.lastWindowF1(), trainable, 100.0 * trainable / baseParams,
        snapshotBytes, published, applied, rate, wall, finalRanks, score.windows(), rp, score.balancedAccuracy(),
        score.kappa(), score.majorityRate(), score.outcomes(), snapshotBytesTotal,
        score.size() * Flops.perExample(baseSpec, v.kind(), finalRanks, workload.numClasses()));
  }
}
