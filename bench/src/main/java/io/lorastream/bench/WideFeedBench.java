package io.lorastream.bench;

import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.trainer.TrainerConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Item 2, wide examples: can one trainer feed a fast step with the examples an accelerator is
 * given? 1024-float examples (4 KiB of Avro each) at b=4096 through Kafka, against the same step
 * from memory. The model is the benchmark MLP widened to 1024 inputs (1024-64-64-4, every layer
 * adapted at r=16), not the 1024-4096-4096-16 MLP of the flops section: on a CPU that one steps at
 * a few hundred examples per second, which any feed matches, while this one steps fast enough that
 * the host side (fetching 16 MiB per micro-batch, decoding, validating, packing) decides the rate.
 * The topic holds {@code plan.wideRecords} records cycling over two micro-batches' worth of distinct
 * examples, the same two the in-memory reference cycles over, so both sides do identical arithmetic
 * without holding the whole topic in memory.
 */
final class WideFeedBench {
  static final int WIDTH = 1024;
  static final int BATCH = 4096;
  static final String TOPIC = "bench.wide";
  static final String TASK = "wide";

  private WideFeedBench() {
  }

  private static Map<String, String> with(Map<String, String> base, String key, String value) {
    Map<String, String> m = new java.util.HashMap<>(base);
    m.put(key, value);
    return m;
  }

  static void run(BenchContext ctx) throws Exception {
    Path basePath = ctx.work.resolve("wide-base.lsbase");
    ModelSpec spec = ModelSpec.mlp(WIDTH, BenchPlan.HIDDEN, BenchPlan.CLASSES, ctx.plan.seed() + 1);
    try (BaseModel created = BaseModel.create(spec, ctx.base.device())) {
      created.save(basePath);
    }
    List<io.lorastream.lora.data.Example> distinct = ExampleData.generate(2 * BATCH, WIDTH, ctx.plan.seed() + 303);
    int n = ctx.plan.wideRecords();
    ctx.progress("wide: producing %d records of %d floats (%d distinct, cycled) to %s", n, WIDTH, distinct.size(), TOPIC);
    ctx.createTopic(TOPIC, 2, false);
    List<byte[]> once = ExampleData.serialize(distinct, TASK, ctx.serdes.labeledExample().serializer(), TOPIC);
    List<byte[]> values = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      values.add(once.get(i % once.size()));
    }
    double produceSecs = ctx.produce(TOPIC, Collections.nCopies(n, TASK.getBytes(StandardCharsets.UTF_8)), values);
    long recordBytes = once.get(0).length;
    ctx.progress("wide: %d records (%d bytes each, %.0f MB) in %.1f s", n, recordBytes, n * recordBytes / 1e6, produceSecs);

    Map<String, String> overrides = Map.of("topic.examples.train", TOPIC, TrainerConfig.BASE, basePath.toString(),
        TrainerConfig.ADAPTER_ID, TASK, TrainerConfig.MICROBATCH_SIZE, String.valueOf(BATCH),
        TrainerConfig.RANK_SCHEDULE, "fixed:16");
    TrainerConfig tc = TrainerRuns.trainerConfig(ctx, overrides);
    ExampleData.Batches batches = ExampleData.batches(distinct, BATCH);
    try (BaseModel base = BaseModel.load(basePath, ctx.base.device())) {
      TrainerRuns.Result probe = TrainerRuns.memory(ctx, base, "wide-probe", tc.adapterConfig(), tc.learnerConfig(), batches,
          4L * BATCH, false);
      long cap = n - 2L * BATCH;
      long sized = Math.min(cap, Math.max(6L * BATCH, (long) (probe.examplesPerSecond() * ctx.plan.trainerSeconds())));
      long m = sized - sized % BATCH;
      // Unmeasured Kafka runs first, until the compiler threads go quiet: the wide records' decode path
      // is compiled there, not in the windows.
      Map<String, Object> jit = TrainerRuns.settleKafkaJit(ctx, overrides, Math.max(4L * BATCH, m / 2),
          ctx.plan.trainerSeconds() * 6);
      ctx.progress("wide: b=%d, %d examples from memory (probe %.0f ex/s), through Kafka, from memory again", BATCH, m,
          probe.examplesPerSecond());
      // The defaults, the steps inline on the trainer thread (auto queues them at this size), records
      // also decoded on a second thread, and read (and decoded) by one or two fetcher threads; each
      // run between two in-memory runs, in a rotating order (PairedRuns).
      List<PairedRuns.Variant> variants = List.of(
          new PairedRuns.Variant("wide-", "Kafka, defaults (steps.ahead=auto: " + tc.stepsAhead(ctx.base.device().isGpu(), WIDTH)
              + ")", overrides),
          new PairedRuns.Variant("wide-inline-", "Kafka, steps.ahead=0", with(overrides, TrainerConfig.STEPS_AHEAD, "0")),
          new PairedRuns.Variant("wide-decode-", "Kafka, decode.ahead=true", with(overrides, TrainerConfig.DECODE_AHEAD, "true")),
          new PairedRuns.Variant("wide-fetch1-", "Kafka, fetch.threads=1", with(overrides, TrainerConfig.FETCH_THREADS, "1")),
          new PairedRuns.Variant("wide-fetch2-", "Kafka, fetch.threads=2", with(overrides, TrainerConfig.FETCH_THREADS, "2")),
          PairedRuns.Variant.besideSpinner("wide-spin-"));
      PairedRuns paired = PairedRuns.measure(variants, ctx.plan.trainerRepeats(),
          PairedRuns.memory(ctx, "wide-mem-", base, tc, batches, m), PairedRuns.trainer(ctx, "wide", base, tc, batches, m));
      TrainerRuns.Result kafka = paired.typical(0);
      TrainerRuns.Result inlineRun = paired.typical(1);
      TrainerRuns.Result fetch2 = paired.typical(4);
      double ratio = paired.ratio(0);
      ctx.progress("wide: Kafka/memory %.3f (inline %.3f, decode-ahead %.3f, 1 fetcher %.3f, 2 fetchers %.3f; memory beside"
              + " a spinning thread %.3f); defaults %.0f ex/s against %.0f from memory", ratio, paired.ratio(1),
          paired.ratio(2), paired.ratio(3), paired.ratio(4), paired.ratio(5), paired.meanRate(0),
          paired.meanReference(0));
      double mbPerSec = kafka.examplesPerSecond() / BATCH;
      String why = String.format(Locale.ROOT, "%.1f MB/s of records reached the step (%.2f micro-batches/s of %.1f MiB);"
              + " the trainer thread was on a CPU %s of the window; reading input (poll, Avro decode, validation,"
              + " offsets) is %s of its samples, publishing %s; cores per thread group: %s; top samples: %s; the same step"
              + " from memory beside a thread spinning on the other core (no feed at all) runs at %.3f of memory; GC %s; %s",
          kafka.examplesPerSecond() * recordBytes / 1e6, mbPerSec, BATCH * recordBytes / (1024.0 * 1024), Report.pct(
              kafka.cpuShare()), Report.pct(TrainerBench.readShare(kafka.profile())), Report.pct(kafka.publishMsTotal()
              / (kafka.seconds() * 1000)), kafka.coresByThreads(), IngestBench.topShares(kafka.profile(), 5),
          paired.ratio(5), kafka.gc(), paired.spreadNote());
      String memRef = "same step from memory (the in-memory runs around each)";
      ctx.report.add(paired.figure(0, "2", "trainer ex/s through Kafka, b=" + BATCH + ", " + WIDTH + "-float examples (MLP "
          + WIDTH + "-64-64-4, r=16, " + PairedRuns.runsLabel(ctx.plan.trainerRepeats()) + ")", memRef).withTarget(">= 0.90",
          ratio >= 0.90, why));
      ctx.report.add(paired.figure(1, "2", "same, steps inline on the trainer thread (trainer.steps.ahead=0)", memRef)
          .withReason("the trainer thread's samples: " + IngestBench.topShares(inlineRun.profile(), 5)));
      ctx.report.add(paired.figure(2, "2", "same, records also decoded on a second thread (trainer.decode.ahead=true)",
          memRef));
      ctx.report.add(paired.figure(3, "2", "same, read and decoded by one fetcher thread (trainer.fetch.threads=1)",
          memRef));
      ctx.report.add(paired.figure(4, "2", "same, by two fetcher threads, one per partition (trainer.fetch.threads=2)",
          memRef).withReason("cores per thread group: " + fetch2.coresByThreads() + "; the trainer thread's samples: "
          + IngestBench.topShares(fetch2.profile(), 5)));
      ctx.report.add(paired.figure(5, "2", "same step from memory, beside a thread spinning on the other core", memRef));

      Map<String, Object> data = new LinkedHashMap<>();
      data.put("model", "mlp " + WIDTH + "-" + BenchPlan.HIDDEN + "-" + BenchPlan.CLASSES + ", every layer adapted, rank 16");
      data.put("config", tc.toString());
      data.put("records", n);
      data.put("recordBytes", recordBytes);
      data.put("produceSeconds", Report.round(produceSecs));
      data.put("examplesPerRun", m);
      data.put("memoryRuns", paired.memory().stream().map(TrainerRuns.Result::toMap).toList());
      data.put("stepsAhead", tc.stepsAhead(ctx.base.device().isGpu(), WIDTH));
      data.put("kafkaRuns", TrainerBench.runMaps(paired, 0));
      data.put("kafkaInlineRuns", TrainerBench.runMaps(paired, 1));
      data.put("kafkaDecodeAheadRuns", TrainerBench.runMaps(paired, 2));
      data.put("kafkaFetch1Runs", TrainerBench.runMaps(paired, 3));
      data.put("kafkaFetch2Runs", TrainerBench.runMaps(paired, 4));
      data.put("memoryBesideSpinnerRuns", TrainerBench.runMaps(paired, 5));
      data.put("kafkaJitWarmup", jit);
      data.put("referenceExamplesPerSecond", Report.round(paired.meanReference(0)));
      data.put("ratio", Report.round(ratio));
      ctx.report.section("wide", data);
      ctx.report.markdown("2b. Wide examples (1024 floats, b=4096)", String.join("\n",
          String.format(Locale.ROOT, "AdapterTrainer at b=%d, r=16, k=%d on %d records of %d floats (%d bytes each,"
              + " cycling over %d distinct examples) against OnlineLearner.trainMicroBatch on the same micro-batches from"
              + " memory; every Kafka run sits between two in-memory runs and its ratio is to their mean. Window of %d"
              + " examples. %s.", BATCH, tc.accumulationSteps(), n, WIDTH, recordBytes, distinct.size(), m, why),
          "",
          "| run | ex/s | ratio to the in-memory runs around it | trainer thread on CPU |",
          "|---|---|---|---|",
          String.join("\n", paired.rows((name, r, q) -> String.format(Locale.ROOT, "| %s | %.0f | %s | %s |", name,
              r.examplesPerSecond(), Double.isNaN(q) ? "-" : String.format(Locale.ROOT, "%.3f", q),
              Report.pct(r.cpuShare())))),
          "",
          "Trainer thread through Kafka (defaults), share of stack samples in the window:",
          "",
          IngestBench.profileTable(kafka.profile()),
          "Trainer thread through Kafka with the steps inline:",
          "",
          IngestBench.profileTable(inlineRun.profile()),
          "Trainer thread through Kafka with two fetcher threads:",
          "",
          IngestBench.profileTable(fetch2.profile()),
          "In-memory thread, for comparison:",
          "",
          IngestBench.profileTable(paired.memory().get(0).profile())));
    }
  }
}
