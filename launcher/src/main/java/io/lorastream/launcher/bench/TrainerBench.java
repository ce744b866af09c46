package io.lorastream.launcher.bench;

import io.lorastream.trainer.TrainerConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Item 2: examples per second of the real trainer reading {@code bench.train} through Kafka,
 * against the same {@code OnlineLearner} step fed the same micro-batches from memory. The input is
 * produced before the trainer starts, so it never waits on a producer. The in-memory reference
 * runs before and after the Kafka run and the mean is used, which brackets any drift of the
 * machine (JIT, turbo, page cache). The trainer runs with its shipped defaults (b=16, k=2, the
 * progressive rank schedule, a snapshot every 50 optimizer steps), and once more with publishing
 * pushed out of the window, which separates the cost of reading from Kafka from the cost of
 * publishing snapshots. Both trainer threads are sampled to show where the time goes.
 */
final class TrainerBench {
  private TrainerBench() {
  }

  static void run(BenchContext ctx) throws Exception {
    List<io.lorastream.lora.data.Example> examples = ctx.trainExamples();
    long m = ctx.plan.trainerExamples();
    TrainerConfig tc = TrainerRuns.trainerConfig(ctx, Map.of());
    ExampleData.Batches batches = ExampleData.batches(examples, tc.microBatchSize());
    ctx.progress("trainer: warm-up, then in-memory / Kafka / in-memory runs of %d examples (b=%d, k=%d, schedule %s)",
        m, tc.microBatchSize(), tc.accumulationSteps(), tc.rankSchedule().toSpec());
    TrainerRuns.memory(ctx, "warmup", tc.adapterConfig(), tc.trainConfig(), batches, m / 4, false);
    TrainerRuns.Result mem1 = TrainerRuns.memory(ctx, "mem-a", tc.adapterConfig(), tc.trainConfig(), batches, m, true);
    ctx.progress("trainer: in-memory %.0f ex/s", mem1.examplesPerSecond());
    TrainerRuns.Result kafka = TrainerRuns.kafka(ctx, "overhead-" + System.currentTimeMillis(), Map.of(), m, true, null);
    ctx.progress("trainer: through Kafka %.0f ex/s (%d snapshots in the window)", kafka.examplesPerSecond(),
        kafka.snapshots().size());
    TrainerRuns.Result mem2 = TrainerRuns.memory(ctx, "mem-b", tc.adapterConfig(), tc.trainConfig(), batches, m, true);
    ctx.progress("trainer: in-memory %.0f ex/s", mem2.examplesPerSecond());
    TrainerRuns.Result quiet = TrainerRuns.kafka(ctx, "nopublish-" + System.currentTimeMillis(),
        Map.of(TrainerConfig.PUBLISH_STEPS, "1000000000", TrainerConfig.PUBLISH_INTERVAL_MS, "86400000"), m, true, null);
    ctx.progress("trainer: through Kafka without snapshots in the window %.0f ex/s", quiet.examplesPerSecond());

    double ref = (mem1.examplesPerSecond() + mem2.examplesPerSecond()) / 2;
    double ratio = kafka.examplesPerSecond() / ref;
    double perBatchKafkaMs = 1000.0 * tc.microBatchSize() / kafka.examplesPerSecond();
    double perBatchMemMs = 1000.0 * tc.microBatchSize() / ref;
    double publishShare = kafka.publishMsTotal() / (kafka.seconds() * 1000);
    String breakdown = String.format(Locale.ROOT,
        "per micro-batch %.3f ms via Kafka vs %.3f ms from memory (+%.3f ms); snapshot publishing took %s of the"
            + " window (%d snapshots, median %.1f ms each); without publishing in the window the ratio is %.3f;"
            + " trainer thread on CPU %s; samples: %s; GC %s",
        perBatchKafkaMs, perBatchMemMs, perBatchKafkaMs - perBatchMemMs, Report.pct(publishShare), kafka.snapshots().size(),
        kafka.publishMsMedian(), quiet.examplesPerSecond() / ref, Report.pct(kafka.cpuShare()),
        IngestBench.topShares(kafka.profile(), 7), kafka.gc());
    boolean met = ratio >= 0.95;
    ctx.report.add(Figure.of("2", "trainer ex/s through Kafka (defaults)", kafka.examplesPerSecond(), "ex/s",
        "same OnlineLearner step from memory (mean of runs before/after)", ref).withTarget(">= 0.95", met, breakdown));
    ctx.report.add(Figure.of("2", "trainer ex/s through Kafka, no snapshot in window", quiet.examplesPerSecond(), "ex/s",
        "same OnlineLearner step from memory", ref));

    Map<String, Object> data = new LinkedHashMap<>();
    data.put("config", tc.toString());
    data.put("memoryBefore", mem1.toMap());
    data.put("kafka", kafka.toMap());
    data.put("memoryAfter", mem2.toMap());
    data.put("kafkaWithoutPublishing", quiet.toMap());
    data.put("ratio", Report.round(ratio));
    ctx.report.section("trainer", data);
    ctx.report.markdown("2. Trainer overhead", String.join("\n",
        String.format(Locale.ROOT, "AdapterTrainer with its defaults (%s) on %d pre-produced examples of 64 floats, against"
            + " OnlineLearner.trainMicroBatch on the same micro-batches from memory with the same TrainConfig and"
            + " AdapterConfig. Window: end of the first micro-batch to the one reaching %d examples.",
            tc, examples.size(), m),
        "",
        "| run | ex/s | ratio to memory | thread on CPU | snapshots in window | publish median ms | GC pauses |",
        "|---|---|---|---|---|---|---|",
        row("in-memory (before)", mem1, ref),
        row("Kafka, defaults", kafka, ref),
        row("in-memory (after)", mem2, ref),
        row("Kafka, publishing outside the window", quiet, ref),
        "",
        "Trainer thread through Kafka, share of stack samples:",
        "",
        IngestBench.profileTable(kafka.profile()),
        "In-memory thread, for comparison:",
        "",
        IngestBench.profileTable(mem2.profile())));
  }

  private static String row(String name, TrainerRuns.Result r, double ref) {
    @SuppressWarnings("unchecked")
    Map<String, Object> gc = r.gc();
    return String.format(Locale.ROOT, "| %s | %.0f | %.3f | %s | %d | %s | %s (%s ms) |", name, r.examplesPerSecond(),
        r.examplesPerSecond() / ref, Report.pct(r.cpuShare()), r.snapshots().size(),
        r.snapshots().isEmpty() ? "-" : String.format(Locale.ROOT, "%.1f", r.publishMsMedian()), gc.get("pauses"),
        gc.get("pauseTotalMs"));
  }
}
