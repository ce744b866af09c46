package io.lorastream.bench;

import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.pipeline.LocalPipeline;
import io.lorastream.pipeline.RunningTrainer;
import io.lorastream.trainer.AdapterTrainer;
import io.lorastream.trainer.StepStats;
import io.lorastream.trainer.TrainerConfig;
import io.lorastream.trainer.TrainerListener;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The two ways the benchmark trains: the real {@link AdapterTrainer} reading {@code bench.train}
 * through Kafka (Avro, registry, read_committed, transactional snapshot publishing), and the same
 * {@link OnlineLearner} step fed the same micro-batches from memory. Both time the same window,
 * from the end of the first micro-batch to the micro-batch that reaches the example target, so
 * start-up (consumer assignment, initTransactions, JIT of the first step) is outside both, and
 * both can run under the same {@link StackSampler} rules.
 */
final class TrainerRuns {
  /** Below this many cores of JIT compiler threads in a run, the compiled code is taken as settled. */
  static final double JIT_QUIET_CORES = 0.1;

  private TrainerRuns() {
  }

  /** One committed snapshot as the listener saw it. */
  record Snapshot(long version, long bytes, Map<String, Integer> ranks, long commitWallMs, double publishMs,
      long examplesSeen) {}

  /** A timed run. */
  record Result(String label, long examples, double seconds, double threadCpuSeconds, List<Snapshot> snapshots,
      StackSampler.Profile profile, Map<String, Object> gc, double startupSeconds, Map<String, Double> coresByThreads) {
    double examplesPerSecond() {
      return examples / seconds;
    }

    /** Fraction of the window the thread was on a CPU (1.0 = never waited). */
    double cpuShare() {
      return threadCpuSeconds / seconds;
    }

    double publishMsMedian() {
      return Stats.median(snapshots.stream().mapToDouble(Snapshot::publishMs).toArray());
    }

    double publishMsTotal() {
      return snapshots.stream().mapToDouble(Snapshot::publishMs).sum();
    }

    Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("label", label);
      m.put("examples", examples);
      m.put("seconds", Report.round(seconds));
      m.put("examplesPerSecond", Report.round(examplesPerSecond()));
      m.put("threadCpuSeconds", Report.round(threadCpuSeconds));
      m.put("threadOnCpuShare", Report.round(cpuShare()));
      m.put("startupSeconds", Report.round(startupSeconds));
      m.put("snapshotsInWindow", snapshots.size());
      if (!snapshots.isEmpty()) {
        m.put("publishMsMedian", Report.round(publishMsMedian()));
        m.put("publishMsTotal", Report.round(publishMsTotal()));
        m.put("snapshotBytesMedian", Report.round(Stats.median(snapshots.stream().mapToDouble(Snapshot::bytes).toArray())));
      }
      m.put("gc", gc);
      m.put("coresByThreadGroup", coresByThreads);
      if (profile != null) {
        m.put("profile", profile.toMap());
      }
      return m;
    }
  }

  /** Where a trainer thread's samples go. Order matters: the first matching rule wins. */
  static List<StackSampler.Rule> trainerRules() {
    return List.of(
        StackSampler.Rule.of("publish: snapshot encode + verify", "io.lorastream.lora.snapshot.SnapshotCodec."),
        StackSampler.Rule.of("publish: Kafka transaction (send, offsets, commit)", "org.apache.kafka.clients.producer.",
            "SnapshotTransactions."),
        StackSampler.Rule.of("train step: inside PyTorch (JNI + kernels)", "io.lorastream.lora.train.OnlineLearner.")
            .whenLeaf("ai.djl.pytorch.jni."),
        StackSampler.Rule.of("train step: Java side (DJL wrappers, packing, host math)", "io.lorastream.lora.train.OnlineLearner."),
        StackSampler.Rule.of("waiting for the step thread (queue full, or a cut)", "io.lorastream.trainer.StepPipeline."),
        StackSampler.Rule.of("publish: other (serialize, metrics records)", "AdapterTrainer.publish"),
        StackSampler.Rule.of("deserialize (Avro + schema cache)", "io.lorastream.serde.", "org.apache.avro."),
        StackSampler.Rule.of("validate + assemble micro-batch", "MicroBatchAssembler."),
        StackSampler.Rule.of("poll: waiting for / fetching records", "org.apache.kafka.clients.consumer."),
        StackSampler.Rule.of("offset tracking + status", "OffsetTracker.", "AdapterTrainer.updateStatus",
            "ProgressLog."),
        StackSampler.Rule.of("benchmark listener / loop", "io.lorastream.bench."));
  }

  /** The trainer settings of a run: trainer defaults, the benchmark's topics and base, then {@code overrides}. */
  static Map<String, String> settings(BenchContext ctx, String label, Map<String, String> overrides) {
    Map<String, String> o = new HashMap<>();
    o.put("topic.examples.train", BenchContext.TRAIN_TOPIC);
    o.put("topic.adapters", "bench.adapters." + label);
    o.put(TrainerConfig.ADAPTER_ID, BenchContext.TASK);
    o.put(TrainerConfig.ID, "bench-" + label);
    o.put(TrainerConfig.BASE, ctx.basePath.toString());
    o.put(TrainerConfig.DEVICE, ctx.base.device().isGpu() ? "gpu:" + ctx.base.device().getDeviceId() : "cpu");
    o.put(TrainerConfig.TRANSACTIONAL_ID, "bench-tx-" + label);
    o.put(TrainerConfig.GROUP_ID, "bench-group-" + label);
    o.put(TrainerConfig.METRICS_INTERVAL_MS, "600000");
    o.putAll(overrides);
    return o;
  }

  /** The typed trainer configuration of {@link #settings}; the in-memory reference takes its optimizer and adapter settings from it. */
  static TrainerConfig trainerConfig(BenchContext ctx, Map<String, String> overrides) {
    return TrainerConfig.from(ctx.config(settings(ctx, "reference", overrides)));
  }

  /**
   * Runs an {@link AdapterTrainer} on {@code bench.train} until it has trained {@code examples}
   * examples, with a fresh adapters topic (so it starts from an empty adapter at offset 0).
   *
   * @param overrides trainer.* settings on top of the trainer's defaults
   * @param onCommit called on the trainer thread for every committed snapshot
   */
  static Result kafka(BenchContext ctx, String label, Map<String, String> overrides, long examples, boolean profile,
      Consumer<Snapshot> onCommit) throws InterruptedException {
    String adapters = "bench.adapters." + label;
    ctx.createTopic(adapters, 1, true);
    LocalPipeline pipeline = ctx.pipeline(settings(ctx, label, overrides));
    String threadName = "bench-trainer-" + label;
    Window w = new Window(examples, profile
        ? () -> new StackSampler(label, threadName::equals, trainerRules(), 5000) : null);
    List<Snapshot> snaps = new ArrayList<>();
    AtomicReference<Long> lastStepNanos = new AtomicReference<>(0L);
    TrainerListener listener = new TrainerListener() {
      @Override
      public void onStep(StepStats s) {
        if (s.batchSize() > 0) {
          w.step(s.examplesSeen());
          lastStepNanos.set(System.nanoTime());
        }
      }

      @Override
      public void onSnapshotCommitted(String adapterId, long version, Map<String, Integer> ranks, long bytes,
          long commitWallTimeMillis, long examplesSeen) {
        double publishMs = (System.nanoTime() - lastStepNanos.get()) / 1e6;
        Snapshot s = new Snapshot(version, bytes, Map.copyOf(ranks), commitWallTimeMillis, publishMs, examplesSeen);
        if (!w.done()) {
          synchronized (snaps) {
            snaps.add(s);
          }
        }
        if (onCommit != null) {
          onCommit.accept(s);
        }
      }
    };
    long created = System.nanoTime();
    RunningTrainer running = pipeline.startTrainer(listener, threadName);
    AdapterTrainer trainer = running.trainer();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(120, examples / 100));
    while (!w.done() && running.isAlive() && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(20); // the benchmark's own wait loop, not a test
    }
    StackSampler.Profile prof = w.stopSampler();
    running.stop(Duration.ofSeconds(60));
    if (!w.done()) {
      throw new IllegalStateException("trainer run " + label + " trained only " + trainer.status().examplesSeen() + " of "
          + examples + " examples" + trainer.failure().map(f -> " (failed: " + f + ")").orElse(" before the deadline"));
    }
    List<Snapshot> inWindow;
    synchronized (snaps) {
      inWindow = List.copyOf(snaps);
    }
    return new Result(label, w.examples(), w.seconds(), w.cpuSeconds(), inWindow, prof,
        ctx.gc.summary(w.startWallMs(), w.endWallMs()), (w.startNanos() - created) / 1e9, w.coresByThreads());
  }

  /**
   * Trains from memory in chunks of about half a second until the JIT compiler threads use less
   * than a tenth of a core during a chunk, or {@code maxSeconds} pass: until then every rate in
   * this JVM is partly a measure of the compiler (it competes for the second core, and the hot
   * paths are not yet compiled). Returns what it saw, for the report.
   */
  static Map<String, Object> settleJit(BenchContext ctx, AdapterConfig adapter, LearnerConfig train,
      ExampleData.Batches batches, double maxSeconds) throws InterruptedException {
    long t0 = System.nanoTime();
    long chunk = 4L * batches.size() * 16;
    double jit = Double.NaN;
    int chunks = 0;
    while ((System.nanoTime() - t0) / 1e9 < maxSeconds) {
      ProcInfo.Tasks a = ProcInfo.tasks();
      Result r = memory(ctx, "jit-warmup", adapter, train, batches, chunk, false);
      ProcInfo.Tasks b = ProcInfo.tasks();
      chunks++;
      jit = compilerCores(ProcInfo.coresByThreadGroup(a, b, 100));
      chunk = Math.max(4L * batches.size(), (long) (r.examplesPerSecond() * 0.5));
      if (jit < JIT_QUIET_CORES) {
        break;
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("seconds", Report.round((System.nanoTime() - t0) / 1e9));
    m.put("chunks", chunks);
    m.put("compilerCoresInLastChunk", Report.round(jit));
    m.put("settled", jit < JIT_QUIET_CORES);
    ctx.progress("JIT warm-up: %d chunks in %.1f s, compiler threads at %.2f cores in the last one%s", chunks,
        (System.nanoTime() - t0) / 1e9, jit, jit < JIT_QUIET_CORES ? "" : " (not settled: early figures include JIT work)");
    return m;
  }

  /**
   * Unmeasured Kafka runs of the trainer until the JIT compiler threads stay below 0.1 cores in
   * one run's window (or {@code maxSeconds} pass). The in-memory reference is measured after
   * {@link #settleJit}; without this the Kafka runs would be the first to pay for compiling the
   * consumer, Avro, transaction and (in-process) broker paths, and the ratio would compare a
   * warm loop with a warming one.
   */
  static Map<String, Object> settleKafkaJit(BenchContext ctx, long examplesPerRun, double maxSeconds)
      throws InterruptedException {
    return settleKafkaJit(ctx, Map.of(), examplesPerRun, maxSeconds);
  }

  /** As {@link #settleKafkaJit(BenchContext, long, double)} for a trainer with {@code overrides}. */
  static Map<String, Object> settleKafkaJit(BenchContext ctx, Map<String, String> overrides, long examplesPerRun,
      double maxSeconds) throws InterruptedException {
    long t0 = System.nanoTime();
    double jit = Double.NaN;
    List<Object> perRun = new ArrayList<>();
    while (perRun.isEmpty() || (System.nanoTime() - t0) / 1e9 < maxSeconds) {
      Result r = kafka(ctx, "kafka-warmup-" + perRun.size() + "-" + System.currentTimeMillis(), overrides,
          examplesPerRun, false, null);
      jit = compilerCores(r.coresByThreads());
      perRun.add(Report.round(jit));
      if (jit < JIT_QUIET_CORES) {
        break;
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("seconds", Report.round((System.nanoTime() - t0) / 1e9));
    m.put("runs", perRun.size());
    m.put("compilerCoresPerRun", perRun);
    m.put("settled", jit < JIT_QUIET_CORES);
    ctx.progress("Kafka warm-up: %d trainer run(s) in %.1f s, compiler threads at %s cores%s", perRun.size(),
        (System.nanoTime() - t0) / 1e9, perRun,
        jit < JIT_QUIET_CORES ? "" : " (not settled: the Kafka figures include JIT work)");
    return m;
  }

  /** Cores the JIT compiler threads (C1 and C2) used, from cores per thread group. */
  static double compilerCores(Map<String, Double> coresByThreadGroup) {
    return coresByThreadGroup.entrySet().stream().filter(e -> e.getKey().contains("CompilerThre"))
        .mapToDouble(Map.Entry::getValue).sum();
  }

  /** How many micro-batches a timed loop trained, in how many seconds. */
  record Timed(long microBatches, double seconds) {
    double microBatchesPerSecond() {
      return microBatches / seconds;
    }
  }

  /**
   * Trains {@code warmup} unmeasured micro-batches, then cycles over {@code xs}/{@code ys} for at
   * least {@code seconds} and {@code minMicroBatches}, on the calling thread.
   */
  static Timed timedSteps(OnlineLearner learner, float[][] xs, int[][] ys, int warmup, double seconds,
      long minMicroBatches) {
    for (int i = 0; i < warmup; i++) {
      learner.trainMicroBatch(xs[i % xs.length], ys[i % ys.length], null);
    }
    long budget = (long) (seconds * 1e9);
    long t0 = System.nanoTime();
    long mbs = 0;
    while (System.nanoTime() - t0 < budget || mbs < minMicroBatches) {
      learner.trainMicroBatch(xs[(int) (mbs % xs.length)], ys[(int) (mbs % ys.length)], null);
      mbs++;
    }
    return new Timed(mbs, (System.nanoTime() - t0) / 1e9);
  }

  /** Trains the same micro-batches from memory with the same optimizer and adapter settings. */
  static Result memory(BenchContext ctx, String label, AdapterConfig adapter, LearnerConfig train, ExampleData.Batches batches,
      long examples, boolean profile) throws InterruptedException {
    return memory(ctx, ctx.base, label, adapter, train, batches, examples, profile);
  }

  /** As {@link #memory(BenchContext, String, AdapterConfig, LearnerConfig, ExampleData.Batches, long, boolean)} on another base. */
  static Result memory(BenchContext ctx, BaseModel base, String label, AdapterConfig adapter, LearnerConfig train,
      ExampleData.Batches batches, long examples, boolean profile) throws InterruptedException {
    String threadName = "bench-memtrainer-" + label;
    Window w = new Window(examples, profile
        ? () -> new StackSampler(label, threadName::equals, trainerRules(), 5000) : null);
    AtomicReference<Throwable> failed = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try (OnlineLearner learner = OnlineLearner.create(base, adapter, train)) {
        int i = 0;
        while (!w.done()) {
          learner.trainMicroBatch(batches.features().get(i), batches.labels().get(i), null);
          w.step(learner.examplesSeen());
          i = (i + 1) % batches.count();
        }
      } catch (Throwable e) {
        failed.set(e);
      }
    }, threadName);
    t.start();
    t.join();
    StackSampler.Profile prof = w.stopSampler();
    if (failed.get() != null) {
      throw new IllegalStateException("in-memory training " + label + " failed: " + failed.get(), failed.get());
    }
    return new Result(label, w.examples(), w.seconds(), w.cpuSeconds(), List.of(), prof,
        ctx.gc.summary(w.startWallMs(), w.endWallMs()), 0, w.coresByThreads());
  }

  /** Where the spinning thread's result goes, so that the compiler cannot drop its loop. */
  private static volatile long spinSink;

  /**
   * As {@link #memory(BenchContext, BaseModel, String, AdapterConfig, LearnerConfig, ExampleData.Batches, long,
   * boolean)}, with a thread spinning on register arithmetic (no allocation, no memory traffic) for
   * the whole run: what the same step loses on this machine when another core is busy too, which is
   * the least a feed running beside the step costs it however little it does.
   */
  static Result memoryBesideSpinner(BenchContext ctx, BaseModel base, String label, AdapterConfig adapter,
      LearnerConfig train, ExampleData.Batches batches, long examples, boolean profile) throws InterruptedException {
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    Thread spinner = new Thread(() -> {
      long x = 88172645463325252L;
      while (!stop.get()) {
        for (int i = 0; i < 100_000; i++) {
          x ^= x << 13;
          x ^= x >>> 7;
          x ^= x << 17;
        }
      }
      spinSink = x;
    }, "bench-spinner-" + label);
    spinner.setDaemon(true);
    spinner.start();
    try {
      return memory(ctx, base, label, adapter, train, batches, examples, profile);
    } finally {
      stop.set(true);
      spinner.join();
    }
  }

  /**
   * The measured window of a run, fed from the training thread after every micro-batch: it opens
   * after the first micro-batch and closes at the one that reaches the target. At its edges it
   * reads every thread's CPU time from /proc (outside the timed interval) and starts the stack
   * sampler, so profiles and CPU breakdowns cover exactly what the rate covers.
   */
  private static final class Window {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private final long target;
    private final java.util.function.Supplier<StackSampler> samplerFactory;
    private volatile StackSampler sampler;
    private ProcInfo.Tasks tasksStart;
    private ProcInfo.Tasks tasksEnd;
    private volatile boolean done;
    private long startNanos;
    private long startSeen;
    private long startCpu;
    private long startWall;
    private long endNanos;
    private long endSeen;
    private long endCpu;
    private long endWall;

    Window(long target, java.util.function.Supplier<StackSampler> samplerFactory) {
      this.target = target;
      this.samplerFactory = samplerFactory;
    }

    void step(long seen) {
      if (done) {
        return;
      }
      if (startNanos == 0) {
        tasksStart = ProcInfo.tasks();
        if (samplerFactory != null) {
          sampler = samplerFactory.get().start();
        }
      }
      long now = System.nanoTime();
      if (startNanos == 0) {
        startNanos = now;
        startSeen = seen;
        startCpu = THREADS.getCurrentThreadCpuTime();
        startWall = System.currentTimeMillis();
        return;
      }
      if (seen - startSeen >= target) {
        endNanos = now;
        endSeen = seen;
        endCpu = THREADS.getCurrentThreadCpuTime();
        endWall = System.currentTimeMillis();
        tasksEnd = ProcInfo.tasks();
        done = true;
      }
    }

    StackSampler.Profile stopSampler() {
      StackSampler s = sampler;
      if (s == null) {
        return null;
      }
      StackSampler.Profile p = s.profile();
      s.close();
      return p;
    }

    /** Cores used by each thread group of this JVM during the window (top 8). */
    Map<String, Double> coresByThreads() {
      return tasksStart == null || tasksEnd == null ? Map.of() : ProcInfo.coresByThreadGroup(tasksStart, tasksEnd, 8);
    }

    boolean done() {
      return done;
    }

    long examples() {
      return endSeen - startSeen;
    }

    double seconds() {
      return (endNanos - startNanos) / 1e9;
    }

    double cpuSeconds() {
      return (endCpu - startCpu) / 1e9;
    }

    long startNanos() {
      return startNanos;
    }

    long startWallMs() {
      return startWall;
    }

    long endWallMs() {
      return endWall;
    }
  }
}
