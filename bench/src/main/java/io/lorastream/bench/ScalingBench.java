package io.lorastream.bench;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.trainer.TrainerConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Item 6 (throughput part): trainer examples per second against micro-batch size (at rank 16) and
 * against rank (at the default micro-batch), each through Kafka and from memory with the ratio,
 * plus the arithmetic rate each point reaches; and snapshot size and publish time against rank,
 * from the snapshots the trainer committed (publish = last micro-batch to commit callback: flush,
 * encode, verify, serialize, transaction) with the in-process part timed separately.
 */
final class ScalingBench {
  private ScalingBench() {
  }

  static void run(BenchContext ctx) throws Exception {
    List<io.lorastream.lora.data.Example> examples = ctx.trainExamples();
    long m = ctx.plan.scalingExamples();
    List<Map<String, Object>> byBatch = new ArrayList<>();
    StringBuilder md = new StringBuilder();
    md.append(String.format(Locale.ROOT, "Each point: the same examples (at least %d, sized for ~%.1f s in memory) through the"
        + " real trainer (Kafka) and as the same micro-batches from memory just before and after it (memory ex/s is their mean),"
        + " k=2, trainer defaults otherwise; by micro-batch size, also the other setting of trainer.steps.ahead than auto's,"
        + " between the second in-memory run and a third. GFLOP/s = FlopModel FLOPs per micro-batch x measured rate;"
        + " the matmul reference is DJL at that point's product shapes.%n%n", m, ctx.plan.scalingSeconds()));
    md.append("**Micro-batch size (rank 16)**\n\n| b | Kafka ex/s | memory ex/s | ratio | ratio, steps inline / queued"
        + " (steps.ahead=0 / 2) | Kafka trainer thread: reading input / publishing | GFLOP/s (memory) | DJL matmul GFLOP/s"
        + " at these shapes | % of it | snapshots in window |\n"
        + "|---|---|---|---|---|---|---|---|---|---|\n");
    try (MatmulTimer timer = new MatmulTimer(ctx.base.device())) {
      boolean warmed = false;
      for (int b : ctx.plan.batchSizes()) {
        Map<String, String> o = Map.of(TrainerConfig.RANK_SCHEDULE, "fixed:16", TrainerConfig.MICROBATCH_SIZE, String.valueOf(b));
        Map<String, Object> row = point(ctx, "b" + b, o, b, 16, m, examples, timer, !warmed, true);
        warmed = true;
        byBatch.add(row);
        md.append(String.format(Locale.ROOT, "| %d | %.0f | %.0f | %.3f | %.3f / %.3f | %s / %s | %.3f | %.2f | %s | %s |%n",
            b, row.get("kafkaExPerSec"), row.get("memoryExPerSec"), row.get("ratio"), row.get("inlineRatio"),
            row.get("queuedRatio"),
            Report.pct((Double) row.get("kafkaReadPathShare")), Report.pct((Double) row.get("kafkaPublishShare")),
            row.get("gflopsMemory"), row.get("matmulGflops"),
            Report.pct((Double) row.get("gflopsMemory") / (Double) row.get("matmulGflops")), row.get("snapshots")));
      }
      List<Map<String, Object>> byRank = new ArrayList<>();
      md.append("\n**Rank (b = 16)**\n\n| r | Kafka ex/s | memory ex/s | ratio | GFLOP/s (memory) | snapshot bytes |"
          + " trainer-thread ms per snapshot (median) | encode / verify / serialize ms | snapshots |\n"
          + "|---|---|---|---|---|---|---|---|---|\n");
      for (int r : ctx.plan.ranks()) {
        Map<String, String> o = Map.of(TrainerConfig.RANK_SCHEDULE, "fixed:" + r, TrainerConfig.MICROBATCH_SIZE, "16");
        Map<String, Object> row = point(ctx, "r" + r, o, 16, r, m, examples, timer, false, false);
        row.putAll(snapshotCosts(ctx, r));
        if (row.get("snapshotBytes") == null) {
          row.put("snapshotBytes", row.get("wireBytesInProcess"));
        }
        byRank.add(row);
        md.append(String.format(Locale.ROOT, "| %d | %.0f | %.0f | %.3f | %.3f | %s | %s | %.3f / %.3f / %.3f | %s |%n", r,
            row.get("kafkaExPerSec"), row.get("memoryExPerSec"), row.get("ratio"), row.get("gflopsMemory"),
            row.get("snapshotBytes"), row.get("publishMsMedian") == null ? "-"
                : String.format(Locale.ROOT, "%.3f", (Double) row.get("publishMsMedian")), row.get("encodeMs"), row.get("verifyMs"),
            row.get("serializeMs"), row.get("snapshots")));
      }
      Map<String, Object> data = new LinkedHashMap<>();
      data.put("examplesPerPoint", m);
      data.put("byMicroBatch", byBatch);
      data.put("byRank", byRank);
      ctx.report.section("scaling", data);
      Map<String, Object> best = byBatch.stream().max((x, y) -> Double.compare((Double) x.get("kafkaExPerSec"),
          (Double) y.get("kafkaExPerSec"))).orElseThrow();
      ctx.report.add(Figure.of("6", "trainer ex/s at the best micro-batch (b=" + best.get("b") + ", r=16)",
          (Double) best.get("kafkaExPerSec"), "ex/s", "same step from memory", (Double) best.get("memoryExPerSec")));
      Map<String, Object> r16 = byRank.stream().filter(x -> x.get("r").equals(16)).findFirst().orElse(null);
      if (r16 != null && r16.get("publishMsMedian") != null) {
        ctx.report.add(Figure.of("6", "trainer-thread time per snapshot at r=16 (median; transaction on the publisher thread)", (Double) r16.get("publishMsMedian"),
            "ms", "in-process encode+verify+serialize", (Double) r16.get("encodeMs") + (Double) r16.get("verifyMs")
                + (Double) r16.get("serializeMs")));
      }
      md.append("\nReading input = share of the Kafka trainer thread's stack samples in poll, Avro decoding, validation and"
          + " offset tracking; publishing = snapshot transactions' share of the window. With larger micro-batches the"
          + " training step gets cheaper per example while those per-record costs stay, so they set the ratio.\n");
      ctx.report.markdown("6. Scaling: micro-batch size, rank, snapshots", md.toString());
    }
  }

  private static Map<String, Object> point(BenchContext ctx, String label, Map<String, String> overrides, int b, int r,
      long m, List<io.lorastream.lora.data.Example> examples, MatmulTimer timer, boolean warmUp, boolean bothModes)
      throws Exception {
    TrainerConfig tc = TrainerRuns.trainerConfig(ctx, overrides);
    ExampleData.Batches batches = ctx.batches(b);
    // A short in-memory run warms up and sizes the window to about plan.scalingSeconds.
    if (warmUp) {
      TrainerRuns.settleJit(ctx, tc.adapterConfig(), tc.learnerConfig(), batches, ctx.plan.scalingSeconds() * 4);
    }
    TrainerRuns.Result probe = TrainerRuns.memory(ctx, "scaling-size-" + label, tc.adapterConfig(), tc.learnerConfig(),
        batches, Math.max(4L * b, m / 4), false);
    long n = ctx.plan.examplesFor(probe.examplesPerSecond(), ctx.plan.scalingSeconds(), m);
    ctx.progress("scaling: %s (b=%d, r=%d): %d examples in memory, through Kafka, in memory again", label, b, r, n);
    TrainerRuns.Result memBefore = TrainerRuns.memory(ctx, "scaling-" + label, tc.adapterConfig(), tc.learnerConfig(), batches,
        n, false);
    TrainerRuns.Result kafka = TrainerRuns.kafka(ctx, "scaling-" + label + "-" + System.currentTimeMillis(), overrides, n,
        true, null);
    TrainerRuns.Result memAfter = TrainerRuns.memory(ctx, "scaling-" + label, tc.adapterConfig(), tc.learnerConfig(), batches,
        n, false);
    // The Kafka run sits between two in-memory runs; their mean is its reference.
    double memRate = (memBefore.examplesPerSecond() + memAfter.examplesPerSecond()) / 2;
    // The other way of running the step (inline if auto queues it here, queued if auto runs it
    // inline), between memAfter and one more in-memory run: what trainer.steps.ahead=auto chose
    // against what it did not, at every micro-batch size.
    int auto = tc.stepsAhead(ctx.base.device().isGpu(), ctx.base.inputSize());
    TrainerRuns.Result other = null;
    double otherRatio = Double.NaN;
    if (bothModes) {
      Map<String, String> otherMode = new java.util.HashMap<>(overrides);
      otherMode.put(TrainerConfig.STEPS_AHEAD, auto == 0 ? "2" : "0");
      other = TrainerRuns.kafka(ctx, "scaling-" + label + "-other-" + System.currentTimeMillis(), otherMode, n, false, null);
      TrainerRuns.Result memLast = TrainerRuns.memory(ctx, "scaling-" + label, tc.adapterConfig(), tc.learnerConfig(),
          batches, n, false);
      otherRatio = other.examplesPerSecond() / ((memAfter.examplesPerSecond() + memLast.examplesPerSecond()) / 2);
    }
    double ratio = kafka.examplesPerSecond() / memRate;
    List<FlopModel.Layer> layers = ctx.flopLayers(r);
    double perMb = FlopModel.perMicroBatch(layers, b, BenchPlan.CLASSES, tc.accumulationSteps());
    MatmulTimer.Matched matched = timer.matched(FlopModel.matmuls(layers, b));
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("b", b);
    row.put("r", r);
    row.put("examples", n);
    row.put("kafkaSeconds", Report.round(kafka.seconds()));
    row.put("kafkaExPerSec", kafka.examplesPerSecond());
    row.put("memoryExPerSec", memRate);
    row.put("memoryRunsExPerSec", List.of(Report.round(memBefore.examplesPerSecond()), Report.round(memAfter.examplesPerSecond())));
    row.put("ratio", ratio);
    row.put("stepsAheadAuto", auto);
    if (other != null) {
      row.put("inlineRatio", auto == 0 ? ratio : otherRatio);
      row.put("queuedRatio", auto == 0 ? otherRatio : ratio);
      row.put("otherModeExPerSec", other.examplesPerSecond());
    }
    row.put("gflopsMemory", perMb * memRate / b / 1e9);
    row.put("gflopsKafka", perMb * kafka.examplesPerSecond() / b / 1e9);
    row.put("matmulGflops", matched.flopsPerSecond() / 1e9);
    row.put("trainerThreadOnCpu", Report.round(kafka.cpuShare()));
    row.put("snapshots", kafka.snapshots().size());
    row.put("publishMsMedian", kafka.snapshots().isEmpty() ? null : kafka.publishMsMedian());
    row.put("snapshotBytes", kafka.snapshots().isEmpty() ? null
        : (long) Stats.median(kafka.snapshots().stream().mapToDouble(TrainerRuns.Snapshot::bytes).toArray()));
    row.put("gcKafka", kafka.gc());
    row.put("kafkaTrainerThreadTop", IngestBench.topShares(kafka.profile(), 3));
    row.put("kafkaReadPathShare", TrainerBench.readShare(kafka.profile()));
    row.put("kafkaPublishShare", kafka.publishMsTotal() / (kafka.seconds() * 1000));
    row.put("profile", kafka.profile().toMap());
    ctx.progress("scaling: %s Kafka %.0f ex/s, memory %.0f ex/s (mean of %.0f and %.0f; ratio %.3f)", label,
        kafka.examplesPerSecond(), memRate, memBefore.examplesPerSecond(), memAfter.examplesPerSecond(),
        kafka.examplesPerSecond() / memRate);
    return row;
  }

  /** Encode, verify and serialize of one snapshot at rank r, timed in isolation (medians of 50). */
  private static Map<String, Object> snapshotCosts(BenchContext ctx, int r) {
    TrainerConfig tc = TrainerRuns.trainerConfig(ctx, Map.of(TrainerConfig.RANK_SCHEDULE, "fixed:" + r));
    ExampleData.Batches batches = ExampleData.batches(ctx.trainExamples(), 16);
    Serializer<AdapterSnapshot> ser = ctx.serdes.adapterSnapshot().serializer();
    int reps = 50;
    double[] enc = new double[reps];
    double[] ver = new double[reps];
    double[] sz = new double[reps];
    int bytes = 0;
    try (OnlineLearner learner = OnlineLearner.create(ctx.base, tc.adapterConfig(), tc.learnerConfig())) {
      for (int i = 0; i < 20; i++) {
        learner.trainMicroBatch(batches.features().get(i), batches.labels().get(i), null);
      }
      learner.flush();
      for (int i = -20; i < reps; i++) {
        long t0 = System.nanoTime();
        AdapterSnapshot s = SnapshotCodec.encode(learner, SnapshotMeta.of(BenchContext.TASK, 1, "bench"));
        long t1 = System.nanoTime();
        SnapshotCodec.decode(s, ctx.base, null);
        long t2 = System.nanoTime();
        byte[] wire = ser.serialize("bench.adapters.sizes", s);
        long t3 = System.nanoTime();
        bytes = wire.length;
        if (i >= 0) {
          enc[i] = (t1 - t0) / 1e6;
          ver[i] = (t2 - t1) / 1e6;
          sz[i] = (t3 - t2) / 1e6;
        }
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("wireBytesInProcess", bytes);
    m.put("encodeMs", Stats.median(enc));
    m.put("verifyMs", Stats.median(ver));
    m.put("serializeMs", Stats.median(sz));
    return m;
  }
}
