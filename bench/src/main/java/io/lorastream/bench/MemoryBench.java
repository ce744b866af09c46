package io.lorastream.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.trainer.TrainerConfig;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Item 6 (memory part): peak heap and peak RSS of one trainer at rank 16, measured in a child JVM
 * ({@link TrainerMemoryProbe}) that runs only the trainer against this run's broker, with this
 * JVM's heap and GC flags. The reference is the same child's RSS before it created the trainer
 * (JVM, classes and libraries already loaded), so the ratio shows what training adds.
 */
final class MemoryBench {
  private MemoryBench() {
  }

  static void run(BenchContext ctx, Path out) throws Exception {
    ctx.trainExamples();
    long examples = Math.min(ctx.plan.scalingExamples(), ctx.plan.trainTopicExamples() - 64);
    String label = "memprobe-" + System.currentTimeMillis();
    ctx.createTopic("bench.adapters." + label, 1, true);
    Map<String, String> settings = new HashMap<>(TrainerRuns.settings(ctx, label,
        Map.of(TrainerConfig.RANK_SCHEDULE, "fixed:16")));
    settings.put("kafka.bootstrap.servers", ctx.cluster.bootstrapServers());
    settings.put("registry.url", ctx.cluster.registryUrl());
    List<String> cmd = childCommand(TrainerMemoryProbe.class.getName());
    cmd.add(String.valueOf(examples));
    settings.forEach((k, v) -> cmd.add(k + "=" + v));
    Path log = out.resolve("trainer-memory-probe.log");
    ctx.progress("memory: child JVM trains %d examples at r=16 alone (log %s)", examples, log);
    Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
    String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException("trainer memory probe failed (exit " + (p.isAlive() ? "timeout" : p.exitValue())
          + "); see " + log + "; output: " + stdout);
    }
    String json = stdout.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow(
        () -> new IllegalStateException("trainer memory probe printed no result; see " + log));
    @SuppressWarnings("unchecked")
    Map<String, Object> r = new ObjectMapper().readValue(json, Map.class);
    double heapPeakMb = ((Number) r.get("heapUsedPeakSampledBytes")).doubleValue() / 1e6;
    double poolPeakMb = ((Number) r.get("heapPoolPeaksSumBytes")).doubleValue() / 1e6;
    double rssPeakMb = ((Number) r.get("rssPeakKb")).doubleValue() / 1024;
    double rssStartMb = ((Number) r.get("rssAtStartKb")).doubleValue() / 1024;
    ctx.progress("memory: trainer at r=16: heap peak %.0f MB (pool peaks %.0f MB), RSS peak %.0f MB (at start %.0f MB)",
        heapPeakMb, poolPeakMb, rssPeakMb, rssStartMb);
    ctx.report.add(Figure.of("6", "trainer peak RSS at r=16 (own JVM, VmHWM)", rssPeakMb, "MB",
        "same JVM before creating the trainer", rssStartMb));
    ctx.report.add(Figure.of("6", "trainer peak heap used at r=16 (sampled every 10 ms)", heapPeakMb, "MB",
        "sum of per-pool peaks (upper bound)", poolPeakMb));
    Map<String, Object> data = new LinkedHashMap<>(r);
    data.put("command", String.join(" ", cmd.subList(0, Math.min(cmd.size(), 8))) + " ...");
    ctx.report.section("memory", data);
    ctx.report.markdown("6. Trainer memory at r=16", String.format(Locale.ROOT, "Child JVM (flags of this run: %s) running"
            + " only an AdapterTrainer (fixed rank 16, b=16) for %s examples. Heap used, sampled every 10 ms: peak %.1f MB;"
            + " sum of per-pool peaks %.1f MB; max heap %.0f MB; non-heap pool peaks %.1f MB. RSS: %.0f MB before the"
            + " trainer existed, peak (VmHWM) %.0f MB, at the end %.0f MB. RSS includes libtorch and its allocator,"
            + " which the heap figures do not.", jvmFlags(), r.get("examplesTrained"), heapPeakMb, poolPeakMb,
        ((Number) r.get("maxHeapBytes")).doubleValue() / 1e6,
        ((Number) r.get("nonHeapPoolPeaksSumBytes")).doubleValue() / 1e6, rssStartMb, rssPeakMb,
        ((Number) r.get("rssEndKb")).doubleValue() / 1024));
  }

  /** {@code java <this JVM's -X/-XX/-D flags> -cp <this classpath> <main>}. */
  static List<String> childCommand(String mainClass) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmFlags());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass);
    return cmd;
  }

  /** The heap, GC and system-property flags this JVM was started with (no agents or debuggers). */
  static List<String> jvmFlags() {
    List<String> flags = new ArrayList<>();
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("-X") || a.startsWith("-D")) {
        flags.add(a);
      }
    }
    if (flags.stream().noneMatch(f -> f.startsWith("-Dai.djl.offline"))) {
      flags.add("-Dai.djl.offline=true");
    }
    return flags;
  }
}
