package io.lorastream.bench;

import io.lorastream.trainer.TrainerConfig;
import java.util.ArrayList;
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
    TrainerConfig tc = TrainerRuns.trainerConfig(ctx, Map.of());
    ExampleData.Batches batches = ctx.batches(tc.microBatchSize());
    Map<String, Object> jit = TrainerRuns.settleJit(ctx, tc.adapterConfig(), tc.learnerConfig(), batches,
        ctx.plan.trainerSeconds() * 4);
    TrainerRuns.Result warm = TrainerRuns.memory(ctx, "warmup", tc.adapterConfig(), tc.learnerConfig(), batches,
        ctx.plan.trainerExamples(), false);
    long m = ctx.plan.examplesFor(warm.examplesPerSecond(), ctx.plan.trainerSeconds(), ctx.plan.trainerExamples());
    // Unmeasured Kafka runs warm the consumer, Avro, publishing and broker paths the same way.
    Map<String, Object> kafkaJit = TrainerRuns.settleKafkaJit(ctx, Math.max(2000, m / 2), ctx.plan.trainerSeconds() * 8);
    ctx.progress("trainer: in-memory and Kafka runs of %d examples, alternating %d time(s) (b=%d, k=%d, schedule %s)",
        m, ctx.plan.trainerRepeats(), tc.microBatchSize(), tc.accumulationSteps(), tc.rankSchedule().toSpec());
    List<TrainerRuns.Result> mems = new ArrayList<>();
    List<TrainerRuns.Result> kafkas = new ArrayList<>();
    mems.add(TrainerRuns.memory(ctx, "mem-0", tc.adapterConfig(), tc.learnerConfig(), batches, m, true));
    ctx.progress("trainer: in-memory %.0f ex/s", mems.get(0).examplesPerSecond());
    for (int i = 1; i <= ctx.plan.trainerRepeats(); i++) {
      kafkas.add(TrainerRuns.kafka(ctx, "overhead-" + i + "-" + System.currentTimeMillis(), Map.of(), m, true, null));
      ctx.progress("trainer: through Kafka %.0f ex/s (%d snapshots in the window)", kafkas.get(i - 1).examplesPerSecond(),
          kafkas.get(i - 1).snapshots().size());
      mems.add(TrainerRuns.memory(ctx, "mem-" + i, tc.adapterConfig(), tc.learnerConfig(), batches, m, true));
      ctx.progress("trainer: in-memory %.0f ex/s", mems.get(i).examplesPerSecond());
    }
    // The same trainer with its steps queued to the step thread (trainer.steps.ahead=2; the CPU
    // default steps inline), and with decoding moved to a second thread (trainer.decode.ahead).
    List<TrainerRuns.Result> stepsAhead = new ArrayList<>();
    List<TrainerRuns.Result> decodeAhead = new ArrayList<>();
    for (int i = 1; i <= ctx.plan.trainerRepeats(); i++) {
      stepsAhead.add(TrainerRuns.kafka(ctx, "ahead-" + i + "-" + System.currentTimeMillis(),
          Map.of(TrainerConfig.STEPS_AHEAD, "2"), m, true, null));
      ctx.progress("trainer: through Kafka, steps queued to the step thread %.0f ex/s",
          stepsAhead.get(i - 1).examplesPerSecond());
      decodeAhead.add(TrainerRuns.kafka(ctx, "decode-" + i + "-" + System.currentTimeMillis(),
          Map.of(TrainerConfig.DECODE_AHEAD, "true"), m, true, null));
      ctx.progress("trainer: through Kafka, decoding ahead as well %.0f ex/s", decodeAhead.get(i - 1).examplesPerSecond());
    }
    List<TrainerRuns.Result> quiets = new ArrayList<>();
    for (int i = 1; i <= ctx.plan.trainerRepeats(); i++) {
      quiets.add(TrainerRuns.kafka(ctx, "nopublish-" + i + "-" + System.currentTimeMillis(),
          Map.of(TrainerConfig.PUBLISH_STEPS, "1000000000", TrainerConfig.PUBLISH_INTERVAL_MS, "86400000"), m, true, null));
      ctx.progress("trainer: through Kafka without snapshots in the window %.0f ex/s",
          quiets.get(i - 1).examplesPerSecond());
      mems.add(TrainerRuns.memory(ctx, "mem-q" + i, tc.adapterConfig(), tc.learnerConfig(), batches, m, true));
      ctx.progress("trainer: in-memory %.0f ex/s", mems.get(mems.size() - 1).examplesPerSecond());
    }
    double quietMean = Stats.mean(quiets.stream().mapToDouble(TrainerRuns.Result::examplesPerSecond).toArray());
    TrainerRuns.Result quiet = quiets.stream().min(java.util.Comparator.comparingDouble(
        r -> Math.abs(r.examplesPerSecond() - quietMean))).orElseThrow();

    double ref = Stats.mean(mems.stream().mapToDouble(TrainerRuns.Result::examplesPerSecond).toArray());
    // The Kafka run closest to the mean of the Kafka runs stands for the trainer in the breakdown.
    double kafkaMean = Stats.mean(kafkas.stream().mapToDouble(TrainerRuns.Result::examplesPerSecond).toArray());
    TrainerRuns.Result kafka = kafkas.stream().min(java.util.Comparator.comparingDouble(
        r -> Math.abs(r.examplesPerSecond() - kafkaMean))).orElseThrow();
    double ratio = kafkaMean / ref;
    double perBatchKafkaMs = 1000.0 * tc.microBatchSize() / kafkaMean;
    double perBatchMemMs = 1000.0 * tc.microBatchSize() / ref;
    double publishShare = kafka.publishMsTotal() / (kafka.seconds() * 1000);
    double quietRatio = quietMean / ref;
    String breakdown = String.format(Locale.ROOT,
        "per micro-batch %.3f ms via Kafka vs %.3f ms from memory (+%.3f ms). Publishing: %d snapshot transactions in"
            + " the window (every %d optimizer steps), trainer-thread time per snapshot (last step to commit handled;"
            + " the transaction itself runs on the publisher thread) median %.3f ms, %s of the window; with publishing moved"
            + " out of the window the ratio is %.3f. Reading from Kafka (poll, Avro decode, validation, offsets) is"
            + " %s of the trainer thread's samples; the trainer thread was on a CPU %s of the window (in memory %s);"
            + " cores used per thread group of this JVM in the window: %s; trainer thread samples: %s; GC %s",
        perBatchKafkaMs, perBatchMemMs, perBatchKafkaMs - perBatchMemMs, kafka.snapshots().size(), tc.publishSteps(),
        kafka.publishMsMedian(), Report.pct(publishShare), quietRatio,
        Report.pct(readShare(kafka.profile())), Report.pct(kafka.cpuShare()), Report.pct(mems.get(1).cpuShare()),
        kafka.coresByThreads(), IngestBench.topShares(kafka.profile(), 7), kafka.gc());
    boolean met = ratio >= 0.95;
    ctx.report.add(Figure.of("2", "trainer ex/s through Kafka (defaults, mean of " + kafkas.size() + ")", kafkaMean, "ex/s",
        "same OnlineLearner step from memory (mean of the runs around them)", ref).withTarget(">= 0.95", met, breakdown));
    ctx.report.add(Figure.of("2", "trainer ex/s through Kafka, no snapshot in the window (mean of " + quiets.size() + ")",
        quietMean, "ex/s", "same OnlineLearner step from memory", ref));
    double stepsAheadMean = Stats.mean(stepsAhead.stream().mapToDouble(TrainerRuns.Result::examplesPerSecond).toArray());
    ctx.report.add(Figure.of("2", "trainer ex/s through Kafka, steps queued to the step thread (trainer.steps.ahead"
        + "=2, mean of " + stepsAhead.size() + ")", stepsAheadMean, "ex/s", "the defaults (steps.ahead=auto: "
        + tc.stepsAhead(ctx.base.device().isGpu(), ctx.base.inputSize()) + " on this device)", kafkaMean));
    double decodeMean = Stats.mean(decodeAhead.stream().mapToDouble(TrainerRuns.Result::examplesPerSecond).toArray());
    ctx.report.add(Figure.of("2", "trainer ex/s through Kafka, records also decoded on a second thread (trainer.decode"
        + ".ahead=true, mean of " + decodeAhead.size() + ")", decodeMean, "ex/s", "the defaults (decoded on the trainer "
        + "thread)", kafkaMean));

    Map<String, Object> data = new LinkedHashMap<>();
    data.put("config", tc.toString());
    data.put("examplesPerRun", m);
    data.put("jitWarmup", jit);
    data.put("kafkaJitWarmup", kafkaJit);
    data.put("memoryRuns", mems.stream().map(TrainerRuns.Result::toMap).toList());
    data.put("kafkaRuns", kafkas.stream().map(TrainerRuns.Result::toMap).toList());
    data.put("kafkaWithoutPublishingRuns", quiets.stream().map(TrainerRuns.Result::toMap).toList());
    data.put("kafkaStepsAheadRuns", stepsAhead.stream().map(TrainerRuns.Result::toMap).toList());
    data.put("kafkaDecodeAheadRuns", decodeAhead.stream().map(TrainerRuns.Result::toMap).toList());
    data.put("referenceExamplesPerSecond", Report.round(ref));
    data.put("ratio", Report.round(ratio));
    ctx.report.section("trainer", data);
    List<String> rows = new ArrayList<>();
    for (int i = 0; i < mems.size(); i++) {
      rows.add(row("in-memory #" + i, mems.get(i), ref));
      if (i < kafkas.size()) {
        rows.add(row("Kafka, defaults #" + (i + 1) + (kafkas.get(i) == kafka ? " (profiled below)" : ""), kafkas.get(i), ref));
      } else if (i - kafkas.size() < quiets.size()) {
        rows.add(row("Kafka, publishing outside the window #" + (i - kafkas.size() + 1), quiets.get(i - kafkas.size()), ref));
      }
    }
    ctx.report.markdown("2. Trainer overhead", String.join("\n",
        String.format(Locale.ROOT, "AdapterTrainer with its defaults (b=%d, k=%d, schedule %s, a snapshot every %d"
            + " optimizer steps or %d ms) on %d pre-produced examples of 64 floats, against OnlineLearner.trainMicroBatch"
            + " on the same micro-batches from memory with the same LearnerConfig and AdapterConfig. Window: end of the first"
            + " micro-batch to the one reaching %d examples; in-memory and Kafka runs alternate, the reference is the mean"
            + " of the in-memory runs. Before measuring, in-memory training ran until the JIT compiler threads went quiet"
            + " (" + jit + "), then unmeasured Kafka runs of the trainer until they went quiet there too (" + kafkaJit
            + ").", tc.microBatchSize(), tc.accumulationSteps(), tc.rankSchedule().toSpec(),
            tc.publishSteps(), tc.publishIntervalMs(), examples.size(), m),
        "",
        "| run | ex/s | ratio to memory | trainer thread on CPU | other threads of this JVM (cores) | snapshots in window |"
            + " publish median ms | GC pauses |",
        "|---|---|---|---|---|---|---|---|",
        String.join("\n", rows),
        "",
        "Trainer thread through Kafka (the run closest to the mean), share of stack samples in the window:",
        "",
        IngestBench.profileTable(kafka.profile()),
        "Trainer thread through Kafka with publishing outside the window (the run closest to their mean):",
        "",
        IngestBench.profileTable(quiet.profile()),
        "In-memory thread, for comparison:",
        "",
        IngestBench.profileTable(mems.get(1).profile())));
  }

  /** Share of the samples spent reading input (poll, decode, validate, offsets). */
  static double readShare(StackSampler.Profile p) {
    if (p == null) {
      return Double.NaN;
    }
    return p.share("deserialize (Avro + schema cache)") + p.share("validate + assemble micro-batch")
        + p.share("poll: waiting for / fetching records") + p.share("offset tracking + status");
  }

  private static String row(String name, TrainerRuns.Result r, double ref) {
    @SuppressWarnings("unchecked")
    Map<String, Object> gc = r.gc();
    double others = r.coresByThreads().entrySet().stream().filter(e -> !e.getKey().startsWith("bench-trainer")
        && !e.getKey().startsWith("bench-memtrain")).mapToDouble(Map.Entry::getValue).sum();
    return String.format(Locale.ROOT, "| %s | %.0f | %.3f | %s | %.2f | %d | %s | %s (%s ms) |", name, r.examplesPerSecond(),
        r.examplesPerSecond() / ref, Report.pct(r.cpuShare()), others, r.snapshots().size(),
        r.snapshots().isEmpty() ? "-" : String.format(Locale.ROOT, "%.1f", r.publishMsMedian()), gc.get("pauses"),
        gc.get("pauseTotalMs"));
  }
}
