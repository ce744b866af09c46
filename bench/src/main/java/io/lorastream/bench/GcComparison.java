package io.lorastream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Rollout latency under different garbage collectors. A JVM's collector is fixed at start-up, so
 * each one gets its own child JVM running {@code lorastream bench --quick --sections rollout} with
 * this run's flags plus the collector's (exactly what {@code LORASTREAM_JAVA_OPTS} would pass through
 * the {@code ./lorastream} script); the children's bench.json files are read back and tabulated
 * next to this run's own headline.
 */
final class GcComparison {
  /** Collector name to JVM flag. */
  static final Map<String, String> FLAGS = Map.of("G1", "-XX:+UseG1GC", "G1-10ms", "-XX:+UseG1GC -XX:MaxGCPauseMillis=10",
      "ZGC", "-XX:+UseZGC", "Parallel", "-XX:+UseParallelGC", "Serial", "-XX:+UseSerialGC");

  private GcComparison() {
  }

  static void run(BenchContext ctx, Path out, List<String> collectors, int fetchMaxWait, int waitQuietSeconds)
      throws Exception {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (String gc : collectors) {
      String flag = FLAGS.get(gc);
      if (flag == null) {
        throw new IllegalArgumentException("--rollout-gcs: unknown collector '" + gc + "'; choose from " + FLAGS.keySet());
      }
      Path dir = out.resolve("gc-" + gc);
      Files.createDirectories(dir);
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      for (String f : MemoryBench.jvmFlags()) {
        if (!f.matches("-XX:[+-]Use\\w+GC") && !f.startsWith("-XX:MaxGCPauseMillis")) {
          cmd.add(f);
        }
      }
      cmd.addAll(List.of(flag.split(" ")));
      cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.lorastream.launcher.Main", "bench", "--quick",
          "--sections", "rollout", "--fetch-max-wait", fetchMaxWait + "," + fetchMaxWait, "--rollout-gcs", "none",
          "--seed", String.valueOf(ctx.plan.seed()), "--wait-quiet", String.valueOf(waitQuietSeconds), "--out",
          dir.toString()));
      ctx.progress("rollout/GC: child JVM with %s (%s), log %s", gc, flag, dir.resolve("console.log"));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("console.log").toFile()).start();
      if (!p.waitFor(6 + waitQuietSeconds * 3L / 60, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IllegalStateException("GC comparison child for " + gc + " timed out; see " + dir.resolve("console.log"));
      }
      // The child runs the measurement twice; the second one, in a warmed-up JVM, is the one compared.
      JsonNode run = new ObjectMapper().readTree(dir.resolve("bench.json").toFile()).path("sections").path("rollout")
          .path("sweep").path(1);
      if (run.isMissingNode()) {
        throw new IllegalStateException("GC comparison child for " + gc + " wrote no rollout result; see "
            + dir.resolve("console.log"));
      }
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("gc", gc);
      row.put("flag", flag);
      for (String k : List.of("snapshots", "samples", "p50Ms", "p99Ms", "maxMs", "samplesOverlappingGc", "gcPauses",
          "gcPauseTotalMs", "gcPauseMaxMs", "p99WithoutGcMs", "subscriberWaitMicrosPerWakeup", "trainerExamplesPerSecond")) {
        row.put(k, run.path(k).isNumber() ? run.path(k).asDouble() : null);
      }
      rows.add(row);
      ctx.progress("rollout/GC: %s -> p50 %.1f ms, p99 %.1f ms, max %.1f ms", gc, row.get("p50Ms"), row.get("p99Ms"),
          row.get("maxMs"));
      ctx.report.add(Figure.of("4", "rollout p99 under " + gc + " (own JVM, " + run.path("snapshots").asInt() + " snapshots)",
          (Double) row.get("p99Ms"), "ms", "same run's p50", (Double) row.get("p50Ms")).withTarget("< 50 ms", (Double) row.get("p99Ms") < 50, String.format(Locale.ROOT,
              "%.0f samples overlapped GC pauses (total %.0f ms, max %.0f ms); p99 without them %.1f ms",
              row.get("samplesOverlappingGc"), row.get("gcPauseTotalMs"), row.get("gcPauseMaxMs"), row.get("p99WithoutGcMs"))));
    }
    StringBuilder md = new StringBuilder("Each collector in its own JVM (this run's flags + the collector flag) running `bench"
        + " --quick --sections rollout` twice in a row at fetch.max.wait.ms=" + fetchMaxWait + "; the second, warmed-up"
        + " measurement is shown:\n\n| GC | snapshots | p50 ms | p99 ms | max ms |"
        + " samples overlapping a pause | pauses (total / max ms) | p99 without them | subscriber run-queue wait per wakeup |"
        + " trainer ex/s |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (Map<String, Object> r : rows) {
      md.append(String.format(Locale.ROOT, "| %s | %.0f | %.1f | %.1f | %.1f | %.0f | %.0f (%.0f / %.0f) | %.1f | %.0f us | %.0f |%n",
          r.get("gc"), r.get("snapshots"), r.get("p50Ms"), r.get("p99Ms"), r.get("maxMs"), r.get("samplesOverlappingGc"),
          r.get("gcPauses"), r.get("gcPauseTotalMs"), r.get("gcPauseMaxMs"), r.get("p99WithoutGcMs"),
          r.get("subscriberWaitMicrosPerWakeup"), r.get("trainerExamplesPerSecond")));
    }
    ctx.report.section("rolloutByGc", rows);
    ctx.report.markdown("4b. Rollout latency by garbage collector", md.toString());
  }
}
