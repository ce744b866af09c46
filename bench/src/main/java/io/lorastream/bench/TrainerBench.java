package io.lorastream.bench;

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
    TrainerConfig tc = TrainerRuns.trainerConfig(ctx, Map.of());
    ExampleData.Batches batches = ctx.batches(tc.microBatchSize());
    Map<String, Object> jit = TrainerRuns.settleJit(ctx, tc.adapterConfig(), tc.learnerConfig(), batches,
        ctx.plan.trainerSeconds() * 4);
    TrainerRuns.Result warm = TrainerRuns.memory(ctx, "warmup", tc.adapterConfig(), tc.learnerConfig(), batches,
        ctx.plan.trainerExamples(), false);
    long m = ctx.plan.examplesFor(warm.examplesPerSecond(), ctx.plan.trainerSeconds(), ctx.plan.trainerExamples());
    // Unmeasured Kafka runs warm the consumer, Avro, publishing and broker paths the same way.
    Map<String, Object> kafkaJit = TrainerRuns.settleKafkaJit(ctx, Math.max(2000, m / 2), ctx.plan.trainerSeconds() * 8);
    ctx.progress("trainer: in-memory and Kafka runs of %d examples, %d round(s) of 4 variants (b=%d, k=%d, schedule %s)",
        m, ctx.plan.trainerRepeats(), tc.microBatchSize(), tc.accumulationSteps(), tc.rankSchedule().toSpec());
    // The defaults; the same with publishing pushed out of the window; with the steps queued to the
    // step thread (trainer.steps.ahead=2; the CPU default steps inline); with decoding moved to a
    // second thread (trainer.decode.ahead). Each Kafka run sits between two in-memory runs.
    List<PairedRuns.Variant> variants = List.of(
        new PairedRuns.Variant("overhead-", "Kafka, defaults", Map.of()),
        new PairedRuns.Variant("nopublish-", "Kafka, publishing outside the window",
            Map.of(TrainerConfig.PUBLISH_STEPS, "1000000000", TrainerConfig.PUBLISH_INTERVAL_MS, "86400000")),
        new PairedRuns.Variant("ahead-", "Kafka, steps.ahead=2", Map.of(TrainerConfig.STEPS_AHEAD, "2")),
        new PairedRuns.Variant("decode-", "Kafka, decode.ahead=true", Map.of(TrainerConfig.DECODE_AHEAD, "true")));
    PairedRuns paired = PairedRuns.measure(variants, ctx.plan.trainerRepeats(),
        PairedRuns.memory(ctx, "mem-", ctx.base, tc, batches, m), PairedRuns.trainer(ctx, "trainer", ctx.base, tc, batches, m));
    TrainerRuns.Result kafka = paired.typical(0);
    TrainerRuns.Result quiet = paired.typical(1);
    double ratio = paired.ratio(0);
    double perBatchKafkaMs = 1000.0 * tc.microBatchSize() / paired.meanRate(0);
    double perBatchMemMs = 1000.0 * tc.microBatchSize() / paired.meanReference(0);
    double publishShare = kafka.publishMsTotal() / (kafka.seconds() * 1000);
    String breakdown = String.format(Locale.ROOT,
        "per micro-batch %.3f ms via Kafka vs %.3f ms from memory (+%.3f ms). Publishing: %d snapshot transactions in"
            + " the window (every %d optimizer steps, at most one per %d ms), trainer-thread time per snapshot (last step"
            + " to commit handled; the transaction itself runs on the publisher thread) median %.3f ms, %s of the window;"
            + " with publishing moved out of the window the ratio is %.3f. Reading from Kafka (poll, Avro decode,"
            + " validation, offsets) is %s of the trainer thread's samples; the trainer thread was on a CPU %s of the"
            + " window (in memory %s); cores used per thread group of this JVM in the window: %s; trainer thread"
            + " samples: %s; GC %s; %s",
        perBatchKafkaMs, perBatchMemMs, perBatchKafkaMs - perBatchMemMs, kafka.snapshots().size(), tc.publishSteps(),
        tc.publishMinIntervalMs(), kafka.snapshots().isEmpty() ? 0.0 : kafka.publishMsMedian(), Report.pct(publishShare),
        paired.ratio(1), Report.pct(readShare(kafka.profile())), Report.pct(kafka.cpuShare()),
        Report.pct(paired.memory().get(1).cpuShare()), kafka.coresByThreads(), IngestBench.topShares(kafka.profile(), 7),
        kafka.gc(), paired.spreadNote());
    String memRef = "same OnlineLearner step from memory (the in-memory runs around each)";
    int n = ctx.plan.trainerRepeats();
    ctx.report.add(paired.figure(0, "2", "trainer ex/s through Kafka (defaults, " + PairedRuns.runsLabel(n) + ")", memRef)
        .withTarget(">= 0.95", ratio >= 0.95, breakdown));
    ctx.report.add(paired.figure(1, "2", "trainer ex/s through Kafka, no snapshot in the window (" + PairedRuns.runsLabel(n) + ")",
        memRef));
    ctx.report.add(paired.figure(2, "2", "trainer ex/s through Kafka, steps queued to the step thread (trainer.steps.ahead"
        + "=2; auto is " + tc.stepsAhead(ctx.base.device().isGpu(), ctx.base.inputSize()) + " here, " + PairedRuns.runsLabel(n) + ")",
        memRef));
    ctx.report.add(paired.figure(3, "2", "trainer ex/s through Kafka, records also decoded on a second thread (trainer"
        + ".decode.ahead=true, " + PairedRuns.runsLabel(n) + ")", memRef));

    Map<String, Object> data = sectionData(tc, m, jit, kafkaJit, paired, "kafkaRuns", "kafkaWithoutPublishingRuns",
        "kafkaStepsAheadRuns", "kafkaDecodeAheadRuns");
    data.put("referenceExamplesPerSecond", Report.round(paired.meanReference(0)));
    Map<String, Object> big = largeBatch(ctx, examples.size());
    data.put("largeMicroBatch", big.get("data"));
    ctx.report.section("trainer", data);
    ctx.report.markdown("2. Trainer overhead", String.join("\n",
        String.format(Locale.ROOT, "AdapterTrainer with its defaults (b=%d, k=%d, schedule %s, a snapshot every %d"
            + " optimizer steps or %d ms, at most one per %d ms) on %d pre-produced examples of 64 floats, against"
            + " OnlineLearner.trainMicroBatch on the same micro-batches from memory with the same LearnerConfig and"
            + " AdapterConfig. Window: end of the first micro-batch to the one reaching %d examples. Every Kafka run sits"
            + " between two in-memory runs, its ratio is to their mean, and a variant's ratio is the median of its runs'."
            + " Before measuring, in-memory training ran until the JIT compiler threads went quiet (" + jit + "), then"
            + " unmeasured Kafka runs of the trainer until they went quiet there too (" + kafkaJit + ").",
            tc.microBatchSize(), tc.accumulationSteps(), tc.rankSchedule().toSpec(), tc.publishSteps(),
            tc.publishIntervalMs(), tc.publishMinIntervalMs(), examples.size(), m),
        "",
        runTable(paired),
        "",
        "Trainer thread through Kafka (the defaults' run closest to their median ratio), share of stack samples in the window:",
        "",
        IngestBench.profileTable(kafka.profile()),
        "Trainer thread through Kafka with publishing outside the window (the run closest to their median ratio):",
        "",
        IngestBench.profileTable(quiet.profile()),
        "In-memory thread, for comparison:",
        "",
        IngestBench.profileTable(paired.memory().get(1).profile()),
        (String) big.get("markdown")));
  }

  /**
   * The same comparison at b=512 (rank 16 from the start, as in the scaling table), the micro-batch
   * at which the step is cheap per example and the per-record costs of reading input decide the
   * ratio: the defaults against the other setting of trainer.steps.ahead and one fetcher thread,
   * and the same step from memory beside a spinning thread: the machine's own cost of a busy second
   * core, which no feed can avoid.
   */
  private static Map<String, Object> largeBatch(BenchContext ctx, int topicExamples) throws Exception {
    int b = LARGE_BATCH;
    Map<String, String> o = Map.of(TrainerConfig.RANK_SCHEDULE, "fixed:16", TrainerConfig.MICROBATCH_SIZE,
        String.valueOf(b));
    TrainerConfig tc = TrainerRuns.trainerConfig(ctx, o);
    ExampleData.Batches batches = ctx.batches(b);
    Map<String, Object> jit = TrainerRuns.settleJit(ctx, tc.adapterConfig(), tc.learnerConfig(), batches,
        ctx.plan.trainerSeconds() * 2);
    TrainerRuns.Result probe = TrainerRuns.memory(ctx, "b" + b + "-probe", tc.adapterConfig(), tc.learnerConfig(), batches,
        8L * b, false);
    long sized = ctx.plan.examplesFor(probe.examplesPerSecond(), ctx.plan.trainerSeconds(), ctx.plan.trainerExamples());
    long m = sized - sized % b;
    Map<String, Object> kafkaJit = TrainerRuns.settleKafkaJit(ctx, o, Math.max(8L * b, m / 2),
        ctx.plan.trainerSeconds() * 4);
    int auto = tc.stepsAhead(ctx.base.device().isGpu(), ctx.base.inputSize());
    String other = auto == 0 ? "2" : "0"; // what auto did not choose here
    ctx.progress("trainer: b=%d, %d examples per run, %d round(s) of 4 variants", b, m, ctx.plan.trainerRepeats());
    List<PairedRuns.Variant> variants = List.of(
        new PairedRuns.Variant("b" + b + "-", "Kafka, b=" + b + ", defaults (steps.ahead=auto: " + auto + ")", o),
        new PairedRuns.Variant("b" + b + "-other-", "Kafka, b=" + b + ", steps.ahead=" + other,
            with(o, TrainerConfig.STEPS_AHEAD, other)),
        new PairedRuns.Variant("b" + b + "-fetch1-", "Kafka, b=" + b + ", fetch.threads=1",
            with(o, TrainerConfig.FETCH_THREADS, "1")),
        PairedRuns.Variant.besideSpinner("b" + b + "-spin-"));
    PairedRuns paired = PairedRuns.measure(variants, ctx.plan.trainerRepeats(),
        PairedRuns.memory(ctx, "b" + b + "-mem-", ctx.base, tc, batches, m),
        PairedRuns.trainer(ctx, "trainer", ctx.base, tc, batches, m));
    TrainerRuns.Result kafka = paired.typical(0);
    double ratio = paired.ratio(0);
    double perBatchKafkaMs = 1000.0 * b / paired.meanRate(0);
    double perBatchMemMs = 1000.0 * b / paired.meanReference(0);
    String why = String.format(Locale.ROOT, "per micro-batch %.3f ms via Kafka vs %.3f ms from memory (+%.3f ms, %.2f us"
            + " per record). Reading input (poll, Avro decode, validation, offsets) is %s of the trainer thread's samples,"
            + " publishing %s; the trainer thread was on a CPU %s of the window; cores per thread group: %s; top samples:"
            + " %s; with trainer.steps.ahead=%s the ratio is %.3f, with one fetcher thread %.3f; the same step from memory"
            + " beside a thread spinning on the other core (no feed at all) runs at %.3f of memory; GC %s; %s",
        perBatchKafkaMs, perBatchMemMs, perBatchKafkaMs - perBatchMemMs, 1000.0 * (perBatchKafkaMs - perBatchMemMs) / b,
        Report.pct(readShare(kafka.profile())), Report.pct(kafka.publishMsTotal() / (kafka.seconds() * 1000)),
        Report.pct(kafka.cpuShare()), kafka.coresByThreads(), IngestBench.topShares(kafka.profile(), 5),
        other, paired.ratio(1), paired.ratio(2), paired.ratio(3), kafka.gc(), paired.spreadNote());
    String memRef = "same step from memory (the in-memory runs around each)";
    int n = ctx.plan.trainerRepeats();
    ctx.report.add(paired.figure(0, "2", "trainer ex/s through Kafka, b=" + b + " (r=16, " + PairedRuns.runsLabel(n) + ")", memRef)
        .withTarget(">= 0.90", ratio >= 0.90, why));
    ctx.report.add(paired.figure(1, "2", "same at b=" + b + ", trainer.steps.ahead=" + other + " (auto is " + auto + " here)",
        memRef));
    ctx.report.add(paired.figure(2, "2", "same at b=" + b + ", read and decoded by one fetcher thread"
        + " (trainer.fetch.threads=1)", memRef));
    ctx.report.add(paired.figure(3, "2", "same step at b=" + b + " from memory, beside a thread spinning on the other core",
        memRef));
    Map<String, Object> data = sectionData(tc, m, jit, kafkaJit, paired, "kafkaRuns", "kafkaOtherStepsAheadRuns",
        "kafkaFetch1Runs", "memoryBesideSpinnerRuns");
    String md = String.join("\n", "",
        String.format(Locale.ROOT, "**At b=%d** (rank 16 throughout, k=%d, %d examples per run of %d on the topic;"
            + " in-memory JIT warm-up %s, Kafka %s):", b, tc.accumulationSteps(), m, topicExamples, jit, kafkaJit),
        "",
        runTable(paired),
        "",
        "Trainer thread through Kafka at b=" + b + " (the defaults' run closest to their median ratio):",
        "",
        IngestBench.profileTable(kafka.profile()));
    return Map.of("data", data, "markdown", md);
  }

  /** The micro-batch of the large-batch comparison (the second row). */
  static final int LARGE_BATCH = 512;

  private static Map<String, String> with(Map<String, String> base, String key, String value) {
    Map<String, String> m = new java.util.HashMap<>(base);
    m.put(key, value);
    return m;
  }

  /** Every run of a comparison in the order they ran, as a markdown table. */
  private static String runTable(PairedRuns paired) {
    return String.join("\n", "| run | ex/s | ratio to the in-memory runs around it | trainer thread on CPU | other threads"
        + " of this JVM (cores) | snapshots in window | publish median ms | GC pauses |", "|---|---|---|---|---|---|---|---|",
        String.join("\n", paired.rows(TrainerBench::row)));
  }

  /** A comparison's data for bench.json: its settings, warm-ups, in-memory runs, each variant's runs under its key, its ratio. */
  private static Map<String, Object> sectionData(TrainerConfig tc, long examplesPerRun, Map<String, Object> jit,
      Map<String, Object> kafkaJit, PairedRuns paired, String... variantKeys) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("config", tc.toString());
    data.put("examplesPerRun", examplesPerRun);
    data.put("jitWarmup", jit);
    data.put("kafkaJitWarmup", kafkaJit);
    data.put("memoryRuns", paired.memory().stream().map(TrainerRuns.Result::toMap).toList());
    for (int v = 0; v < variantKeys.length; v++) {
      data.put(variantKeys[v], runMaps(paired, v));
    }
    data.put("ratio", Report.round(paired.ratio(0)));
    return data;
  }

  static List<Map<String, Object>> runMaps(PairedRuns paired, int variant) {
    return paired.runs(variant).stream().map(r -> {
      Map<String, Object> m = new LinkedHashMap<>(r.run().toMap());
      m.put("referenceExamplesPerSecond", Report.round(r.reference()));
      m.put("ratio", Report.round(r.ratio()));
      return (Map<String, Object>) m;
    }).toList();
  }

  /** Share of the samples spent reading input (poll, decode, validate, offsets). */
  static double readShare(StackSampler.Profile p) {
    if (p == null) {
      return Double.NaN;
    }
    return p.share("deserialize (Avro + schema cache)") + p.share("validate + assemble micro-batch")
        + p.share("poll: waiting for / fetching records") + p.share("offset tracking + status");
  }

  private static String row(String name, TrainerRuns.Result r, double ratio) {
    @SuppressWarnings("unchecked")
    Map<String, Object> gc = r.gc();
    double others = r.coresByThreads().entrySet().stream().filter(e -> !e.getKey().startsWith("bench-trainer")
        && !e.getKey().startsWith("bench-memtrain")).mapToDouble(Map.Entry::getValue).sum();
    return String.format(Locale.ROOT, "| %s | %.0f | %s | %s | %.2f | %d | %s | %s (%s ms) |", name, r.examplesPerSecond(),
        Double.isNaN(ratio) ? "-" : String.format(Locale.ROOT, "%.3f", ratio), Report.pct(r.cpuShare()), others,
        r.snapshots().size(), r.snapshots().isEmpty() ? "-" : String.format(Locale.ROOT, "%.1f", r.publishMsMedian()),
        gc.get("pauses"), gc.get("pauseTotalMs"));
  }

}
