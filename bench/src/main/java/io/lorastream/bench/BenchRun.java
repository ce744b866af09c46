package io.lorastream.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import io.lorastream.localstack.LocalCluster;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.Devices;
import io.lorastream.lora.model.ModelSpec;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * One benchmark run: starts the embedded broker and registry, creates the benchmark base model,
 * runs the planned sections in a fixed order (ingest, trainer, flops, rollout, inference, scaling,
 * memory), optionally the per-collector rollout children, and writes bench.json and bench.md. A
 * section that fails is reported as failed (with its error) and the others still run; the exit
 * status then says so.
 */
final class BenchRun {
  /** What the run produced. */
  record Outcome(Path dir, List<String> failedSections) {}

  private final BenchPlan plan;
  private final Path out;
  private final List<String> rolloutGcs;
  private final String command;
  private final PrintStream console;
  private final Map<String, Object> loads = new LinkedHashMap<>();
  private final int waitQuietSeconds;

  /** Other processes using more than this many cores make a section's figures suspect. */
  static final double QUIET_CORES = 0.25;

  private final Path miniLmDir;
  private final Device device;

  BenchRun(BenchPlan plan, Path out, List<String> rolloutGcs, String command, PrintStream console, int waitQuietSeconds,
      Path miniLmDir, Device device) {
    this.miniLmDir = miniLmDir;
    this.device = device;
    this.waitQuietSeconds = waitQuietSeconds;
    this.plan = plan;
    this.out = out;
    this.rolloutGcs = rolloutGcs;
    this.command = command;
    this.console = console;
  }

  Outcome run(boolean verbose) throws Exception {
    if (!verbose) {
      quietLogs();
    }
    Files.createDirectories(out);
    Path work = Files.createTempDirectory("lorastream-bench-");
    Report report = new Report();
    List<String> failed = new java.util.ArrayList<>();
    console.printf("lorastream bench (%s): sections %s, results in %s%n", plan.mode(), plan.orderedSections(), out);
    double otherAtStart = waitForQuiet(); // and again before every section when --wait-quiet is set
    report.meta("otherProcessesCoresAtStart", Report.round(otherAtStart));
    report.meta("loadBySection", loads);
    try (GcMonitor gc = new GcMonitor().start();
        LocalCluster cluster = LocalCluster.builder().partitions(2).build().start()) {
      Devices.tuneCurrentThread();
      ModelSpec spec = ModelSpec.mlp(BenchPlan.INPUT_SIZE, BenchPlan.HIDDEN, BenchPlan.CLASSES, plan.seed());
      Path basePath = work.resolve("bench-base.lsbase");
      try (BaseModel created = BaseModel.create(spec, device)) {
        created.save(basePath);
      }
      try (BaseModel base = BaseModel.load(basePath, device)) {
        BenchContext ctx = new BenchContext(plan, cluster, work, basePath, base, gc, report, console);
        meta(report, base);
        ctx.progress("cluster up at %s, registry %s; base %s", cluster.bootstrapServers(), cluster.registryUrl(), base.id());
        section(ctx, "ingest", failed, () -> IngestBench.run(ctx));
        section(ctx, "trainer", failed, () -> TrainerBench.run(ctx));
        section(ctx, "wide", failed, () -> WideFeedBench.run(ctx));
        section(ctx, "flops", failed, () -> FlopsBench.run(ctx));
        section(ctx, "rollout", failed, () -> RolloutBench.run(ctx));
        if (plan.runs("rollout") && !rolloutGcs.isEmpty()) {
          section(ctx, "rolloutByGc", failed, () -> GcComparison.run(ctx, out, rolloutGcs, plan.fetchMaxWaits().get(0),
              waitQuietSeconds));
        }
        section(ctx, "inference", failed, () -> InferenceBench.run(ctx));
        section(ctx, "scaling", failed, () -> ScalingBench.run(ctx));
        section(ctx, "memory", failed, () -> {
          MemoryBench.run(ctx, out);
          ManyAdaptersBench.run(ctx);
        });
        section(ctx, "minilm", failed, () -> MiniLmBench.run(ctx, miniLmDir));
        section(ctx, "jmh", failed, () -> JmhBench.run(ctx, out));
        report.meta("wallSeconds", Math.round(ctx.elapsedSeconds()));
        report.markdown("Machine load during each section", loadTable());
        report.meta("failedSections", failed);
      }
    } finally {
      deleteQuietly(work);
    }
    report.write(out, command);
    report.print(console);
    console.printf("%nwrote %s and %s%n", out.resolve("bench.json"), out.resolve("bench.md"));
    if (!failed.isEmpty()) {
      console.printf("FAILED sections: %s (see bench.json -> sections.<name>.error)%n", failed);
    }
    return new Outcome(out, failed);
  }

  private interface Body {
    void run() throws Exception;
  }

  private void section(BenchContext ctx, String name, List<String> failed, Body body) {
    if (!plan.runs(name) && !name.equals("rolloutByGc")) {
      return;
    }
    if (waitQuietSeconds > 0) {
      try {
        waitForQuiet();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    long t = System.nanoTime();
    ctx.progress("== %s ==", name);
    CpuLoad.Snap before = CpuLoad.now();
    try {
      body.run();
      Map<String, Object> load = CpuLoad.between(before, CpuLoad.now());
      loads.put(name, load);
      double other = CpuLoad.otherCores(before, CpuLoad.now());
      ctx.progress("== %s done in %.1f s; other processes used %.2f cores meanwhile%s ==", name,
          (System.nanoTime() - t) / 1e9, other, other > QUIET_CORES ? " (the machine was NOT quiet: figures are pessimistic)" : "");
    } catch (Exception e) {
      failed.add(name);
      ctx.progress("== %s FAILED: %s ==", name, e);
      Map<String, Object> err = new LinkedHashMap<>();
      err.put("error", e.toString());
      ctx.report.section(name + "Error", err);
      LoggerFactory.getLogger(BenchRun.class).error("bench section {} failed", name, e);
    }
  }

  private void meta(Report report, BaseModel base) {
    report.meta("date", LocalDateTime.now().withNano(0).toString());
    report.meta("mode", plan.mode());
    report.meta("sections", plan.orderedSections());
    report.meta("machine", Runtime.getRuntime().availableProcessors() + " cores, "
        + Math.round(ProcInfoMem.totalGb()) + " GB RAM, " + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    report.meta("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    report.meta("jvmArgs", ManagementFactory.getRuntimeMXBean().getInputArguments());
    report.meta("gc", GcMonitor.collectorNames());
    report.meta("engine", Engine.getInstance().getEngineName() + " " + Engine.getInstance().getVersion() + ", "
        + Integer.getInteger(Devices.THREADS_PROPERTY, 1) + " intra-op thread(s) per tensor thread");
    report.meta("device", device + (device.isGpu() ? " (" + Engine.getInstance().getGpuCount() + " GPU(s) visible)" : ""));
    report.meta("engineBuild", "DJL " + Engine.getDjlVersion() + ", " + Engine.getInstance().getEngineName() + " "
        + Engine.getInstance().getVersion() + (device.isGpu() ? " CUDA" : " CPU") + " build");
    report.meta("model", base.id() + " (random He-initialised MLP 64-[64,64]-4; speed does not depend on the weights)");
    report.meta("cluster", "embedded KRaft broker + embedded schema registry in this JVM, loopback, 2 partitions");
    report.meta("logging", "io.lorastream at WARN during the run (use --verbose for INFO)");
  }

  /**
   * Measures what other processes use over 2 s, repeating up to {@code waitQuietSeconds} until it is
   * below {@link #QUIET_CORES}; returns the last reading (cores).
   */
  private double waitForQuiet() throws InterruptedException {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(waitQuietSeconds);
    while (true) {
      CpuLoad.Snap a = CpuLoad.now();
      java.util.concurrent.TimeUnit.SECONDS.sleep(2); // sampling the machine's load, not a test
      double other = CpuLoad.otherCores(a, CpuLoad.now());
      if (other <= QUIET_CORES || System.nanoTime() >= deadline) {
        console.printf("other processes use %.2f of %d cores%s%n", other, Runtime.getRuntime().availableProcessors(),
            other > QUIET_CORES ? ": the machine is busy, figures will be pessimistic (see --wait-quiet)" : "");
        return other;
      }
      console.printf("waiting for a quiet machine: other processes use %.2f cores%n", other);
    }
  }

  private String loadTable() {
    StringBuilder sb = new StringBuilder("Average cores in use while each section ran (2 cores in all). Figures from a"
        + " section where other processes used more than " + QUIET_CORES + " cores were measured on a shared machine.\n\n"
        + " The hypervisor column is the part of \"other\" that the host gave to other guests while this machine's"
        + " CPUs were runnable (steal time), a share no process here can see or avoid.\n\n"
        + "| section | wall s | this JVM | other processes | of which the hypervisor (steal) |\n|---|---|---|---|---|\n");
    loads.forEach((name, v) -> {
      @SuppressWarnings("unchecked")
      Map<String, Object> m = (Map<String, Object>) v;
      sb.append("| ").append(name).append(" | ").append(m.get("wallSeconds")).append(" | ").append(m.get("coresThisJvm"))
          .append(" | ").append(m.get("coresOtherProcesses")).append(" | ").append(m.get("coresStolenByHypervisor"))
          .append(" |\n");
    });
    return sb.toString();
  }

  /** The services log every snapshot and swap at INFO; on the console that is noise during a benchmark. */
  private static void quietLogs() {
    if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext lc) {
      lc.getLogger("io.lorastream").setLevel(ch.qos.logback.classic.Level.WARN);
    }
  }

  private static void deleteQuietly(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
    } catch (java.io.IOException ignored) {
      // a temp dir left behind is harmless
    }
  }

  /** Total memory from /proc/meminfo, for the report header. */
  private static final class ProcInfoMem {
    static double totalGb() {
      try {
        for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
          if (l.startsWith("MemTotal:")) {
            return Long.parseLong(l.replaceAll("\\D", "")) / 1024.0 / 1024.0;
          }
        }
      } catch (java.io.IOException | RuntimeException ignored) {
        return Double.NaN;
      }
      return Double.NaN;
    }
  }
}
