package io.lorastream.bench;

import io.lorastream.trainer.TrainerConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Item 3: arithmetic efficiency of a training step on the lorastream MLP. The FLOPs of one
 * micro-batch come from {@link FlopModel} (formula in bench.md); the achieved FLOP/s is that count
 * times the measured in-memory micro-batch rate at rank 16. The reference is DJL's own matmul
 * throughput measured in this run at exactly the step's product shapes, one call at a time as the
 * step issues them, and, for scale, at a large square product (the machine's single-thread peak).
 * The same is done for the spam transformer (LoRA on Q/V) at the experiment's default shape.
 */
final class FlopsBench {
  static final int RANK = 16;

  private FlopsBench() {
  }

  static void run(BenchContext ctx) throws Exception {
    TrainerConfig tc = TrainerRuns.trainerConfig(ctx, Map.of(TrainerConfig.RANK_SCHEDULE, "fixed:" + RANK));
    int b = tc.microBatchSize();
    int k = tc.accumulationSteps();
    List<FlopModel.Layer> layers = ctx.flopLayers(RANK);
    FlopModel.Breakdown fb = FlopModel.microBatch(layers, b, BenchPlan.CLASSES);
    double perMb = FlopModel.perMicroBatch(layers, b, BenchPlan.CLASSES, k);
    ExampleData.Batches batches = ctx.batches(b);
    TrainerRuns.settleJit(ctx, tc.adapterConfig(), tc.learnerConfig(), batches, ctx.plan.trainerSeconds() * 2);
    TrainerRuns.Result warm = TrainerRuns.memory(ctx, "flops-warmup", tc.adapterConfig(), tc.learnerConfig(), batches,
        ctx.plan.trainerExamples() / 4, false);
    long m = ctx.plan.examplesFor(warm.examplesPerSecond(), ctx.plan.trainerSeconds() / 2, 2000);
    ctx.progress("flops: in-memory training at b=%d r=%d over %d examples", b, RANK, m);
    TrainerRuns.Result mem = TrainerRuns.memory(ctx, "flops", tc.adapterConfig(), tc.learnerConfig(), batches, m, false);
    double mbPerSec = mem.examplesPerSecond() / b;
    double achieved = perMb * mbPerSec;

    ctx.progress("flops: timing DJL matmuls at the step's %d product shapes and at 256..1024 squares",
        FlopModel.matmuls(layers, b).size());
    Map<String, Object> data = new LinkedHashMap<>();
    try (MatmulTimer timer = new MatmulTimer(ctx.base.device())) {
      MatmulTimer.Matched matched = timer.matched(FlopModel.matmuls(layers, b));
      double peak = 0;
      Map<String, Object> squares = new LinkedHashMap<>();
      for (int s : new int[] {256, 512, 1024}) {
        double f = timer.flops(s, s, s);
        squares.put(s + "^3", Report.round(f / 1e9));
        peak = Math.max(peak, f);
      }
      double opFloor = timer.perOpFloorSeconds();
      double stepSecs = 1 / mbPerSec;
      double matmulShare = matched.matmulSeconds() / stepSecs;
      String why = String.format(Locale.ROOT, "a micro-batch takes %.0f us but its %d matrix products take %.0f us at"
              + " DJL's measured per-shape speed (%s of the step); the rest is per-op dispatch: the step costs %.0f"
              + " one-element DJL ops (%.1f us each), i.e. autograd, element-wise ops, leaf setup, gradient read-back"
              + " and the AdamW update dominate tensors this small",
          stepSecs * 1e6, FlopModel.matmuls(layers, b).size(), matched.matmulSeconds() * 1e6, Report.pct(matmulShare),
          stepSecs / opFloor, opFloor * 1e6);
      ctx.report.add(Figure.of("3", "training FLOP/s, MLP 64-64-64-4, b=" + b + ", r=" + RANK, achieved / 1e9, "GFLOP/s",
          "DJL matmul at the step's shapes", matched.flopsPerSecond() / 1e9).withReason(why));
      ctx.report.add(Figure.of("3", "training FLOP/s vs single-thread matmul peak", achieved / 1e9, "GFLOP/s",
          "DJL matmul 1024^3-class peak (1 thread)", peak / 1e9));

      data.put("model", "mlp 64-[64,64]-4, every layer adapted, rank " + RANK + ", micro-batch " + b + ", k=" + k);
      data.put("flopsPerMicroBatch", Report.round(perMb));
      data.put("breakdown", breakdownMap(fb, FlopModel.optimizerStep(layers), k));
      data.put("microBatchesPerSecond", Report.round(mbPerSec));
      data.put("achievedGflops", Report.round(achieved / 1e9));
      data.put("matchedMatmulGflops", Report.round(matched.flopsPerSecond() / 1e9));
      data.put("matmulSecondsPerMicroBatch", Report.round(matched.matmulSeconds()));
      data.put("matmulShareOfStep", Report.round(matmulShare));
      data.put("squareMatmulGflops", squares);
      data.put("djlPerOpFloorMicros", Report.round(opFloor * 1e6));
      data.put("shapes", matched.shapes());
      data.put("transformer", transformer(ctx, timer, peak));
      data.put("largeMlp", largeMlp(ctx, timer, peak));
      ctx.report.section("flops", data);

      String transformerMarkdown = (String) ((Map<?, ?>) data.get("transformer")).remove("markdown");
      String largeMarkdown = (String) ((Map<?, ?>) data.get("largeMlp")).remove("markdown");
      StringBuilder shapes = new StringBuilder("| product | shape | FLOPs | us per call | GFLOP/s |\n|---|---|---|---|---|\n");
      for (Map<String, Object> row : matched.shapes()) {
        shapes.append("| ").append(row.get("product")).append(" | ").append(row.get("shape")).append(" | ")
            .append(row.get("flops")).append(" | ").append(row.get("microsPerCall")).append(" | ").append(row.get("gflops"))
            .append(" |\n");
      }
      ctx.report.markdown("3. Arithmetic efficiency", String.join("\n",
          FlopModel.FORMULA,
          "",
          String.format(Locale.ROOT, "MLP 64-[64,64]-4, every layer adapted at r=%d, micro-batch n=%d, k=%d:", RANK, b, k),
          "",
          "| part | FLOPs per micro-batch |",
          "|---|---|",
          "| forward, frozen base matmuls | " + fb.forwardBase() + " |",
          "| forward, adapter matmuls | " + fb.forwardAdapter() + " |",
          "| forward, element-wise + loss | " + fb.forwardElementwise() + " |",
          "| backward, adapter parameter grads | " + fb.backwardAdapterParams() + " |",
          "| backward, input grads through the frozen base | " + fb.backwardInputBase() + " |",
          "| backward, input grads through A | " + fb.backwardInputAdapter() + " |",
          "| backward, element-wise + loss | " + fb.backwardElementwise() + " |",
          "| gradient check + accumulation (3P) | " + fb.bookkeeping() + " |",
          String.format(Locale.ROOT, "| AdamW step / k (16P/%d) | %.0f |", k, FlopModel.optimizerStep(layers) / (double) k),
          String.format(Locale.ROOT, "| **total** | **%.0f** (%.1f kFLOP per example) |", perMb, perMb / b / 1e3),
          "",
          String.format(Locale.ROOT, "Measured: %.0f micro-batches/s from memory -> **%.3f GFLOP/s achieved**. DJL matmul at the"
              + " step's shapes: %.2f GFLOP/s (%.0f us for all %d products) -> **%s**. Square products on one thread: %s"
              + " GFLOP/s -> %s of that peak. One-element DJL op: %.1f us.", mbPerSec, achieved / 1e9,
              matched.flopsPerSecond() / 1e9, matched.matmulSeconds() * 1e6, matched.shapes().size(),
              Report.pct(achieved / matched.flopsPerSecond()), squares, Report.pct(achieved / peak), opFloor * 1e6),
          "",
          shapes.toString(),
          transformerMarkdown,
          largeMarkdown));
    }
  }

  /**
   * The spam transformer at the experiment's default shape (V=8192, L=128, d=128, 4 heads, 2 layers,
   * FFN 256, 2 classes), LoRA r=16 on Q and V, micro-batch 16, full rows (no PAD): FLOPs from
   * {@link TransformerFlops}, rate from in-memory training on random token rows (FLOPs do not
   * depend on the weights, so a random base is as good as a pretrained one).
   */
  static Map<String, Object> transformer(BenchContext ctx, MatmulTimer timer, double peak) {
    int b = 16;
    int seqLen = 128;
    int d = 128;
    int vocab = 8192;
    TransformerFlops tf = new TransformerFlops(b, seqLen, d, 4, 256, 2, 2, RANK);
    TransformerFlops.Count count = tf.count();
    double perMb = count.total(1);
    ctx.progress("flops: spam transformer, in-memory LoRA training at b=%d L=%d d=%d r=%d", b, seqLen, d, RANK);
    io.lorastream.lora.model.ModelSpec spec = io.lorastream.lora.model.ModelSpec.transformer(vocab, seqLen, d, 4, 2, 256, 2, 7);
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
    int batches = 8;
    float[][] rows = new float[batches][b * seqLen];
    int[][] labels = new int[batches][b];
    for (int i = 0; i < batches; i++) {
      for (int j = 0; j < rows[i].length; j++) {
        rows[i][j] = 1 + rnd.nextInt(vocab - 1);
      }
      for (int j = 0; j < b; j++) {
        labels[i][j] = rnd.nextInt(2);
      }
    }
    io.lorastream.lora.train.LearnerConfig train = io.lorastream.lora.train.LearnerConfig.defaults().withMicroBatchSize(b)
        .withAccumulationSteps(1).withSchedule(io.lorastream.lora.train.RankSchedule.fixed(RANK));
    io.lorastream.lora.adapter.AdapterConfig adapter = io.lorastream.lora.adapter.AdapterConfig.defaults().withRank(RANK);
    TrainerRuns.Timed timed;
    try (io.lorastream.lora.model.BaseModel base = io.lorastream.lora.model.BaseModel.create(spec, ctx.base.device());
        io.lorastream.lora.train.OnlineLearner learner = io.lorastream.lora.train.OnlineLearner.create(base, adapter, train)) {
      // 5 warm-up micro-batches: JIT, allocator, autograd graph caches
      timed = TrainerRuns.timedSteps(learner, rows, labels, 5, Math.max(5, ctx.plan.trainerSeconds() / 2), 10);
    }
    double mbPerSec = timed.microBatchesPerSecond();
    double achieved = perMb * mbPerSec;
    List<FlopModel.Matmul> products = new java.util.ArrayList<>(tf.matmuls(false));
    products.addAll(tf.matmuls(true));
    MatmulTimer.Matched matched = timer.matched(products);
    double matmulShare = matched.matmulSeconds() * mbPerSec;
    String why = String.format(Locale.ROOT, "a micro-batch takes %.1f ms; its %d matrix products take %.1f ms at DJL's"
            + " per-shape speed (%s of the step), so the rest (softmax, LayerNorm, masking, reshapes, autograd"
            + " bookkeeping and copies) is the gap", 1e3 / mbPerSec, products.size(), matched.matmulSeconds() * 1e3,
        Report.pct(matmulShare));
    ctx.report.add(Figure.of("3", "training FLOP/s, spam transformer L=" + seqLen + " d=" + d + ", LoRA Q/V r=" + RANK
        + ", b=" + b, achieved / 1e9, "GFLOP/s", "DJL matmul at the step's shapes", matched.flopsPerSecond() / 1e9)
        .withReason(why));
    ctx.report.add(Figure.of("3", "spam transformer FLOP/s vs single-thread matmul peak", achieved / 1e9, "GFLOP/s",
        "DJL matmul 1024^3-class peak (1 thread)", peak / 1e9));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model", "transformer V=" + vocab + " L=" + seqLen + " d=" + d + " h=4 N=2 F=256 C=2, LoRA Q/V r=" + RANK
        + ", micro-batch " + b + ", k=1");
    m.put("flopsPerMicroBatch", Report.round(perMb));
    m.put("forwardMatmulFlops", count.forwardMatmul());
    m.put("backwardMatmulFlops", count.backwardMatmul());
    m.put("elementwiseFlops", count.elementwise());
    m.put("adapterParameters", count.adapterParams());
    m.put("microBatchesPerSecond", Report.round(mbPerSec));
    m.put("examplesPerSecond", Report.round(mbPerSec * b));
    m.put("achievedGflops", Report.round(achieved / 1e9));
    m.put("matchedMatmulGflops", Report.round(matched.flopsPerSecond() / 1e9));
    m.put("matmulShareOfStep", Report.round(matmulShare));
    m.put("markdown", String.join("\n", "", "Spam transformer (the `experiment spam` base):", "",
        TransformerFlops.FORMULA, "",
        String.format(Locale.ROOT, "Per micro-batch (n=%d, L=%d, d=%d, h=4, F=256, N=2, r=%d): forward products %,d,"
                + " backward products %,d, element-wise %,d, total %,.0f FLOPs (%.1f MFLOP per example). Measured %.1f"
                + " micro-batches/s (%.0f examples/s) from memory -> **%.2f GFLOP/s achieved**; DJL matmul at the same %d"
                + " product shapes: %.2f GFLOP/s -> **%s**; of the single-thread square peak: %s. %s.",
            b, seqLen, d, RANK, count.forwardMatmul(), count.backwardMatmul(), count.elementwise(), perMb,
            perMb / b / 1e6, mbPerSec, mbPerSec * b, achieved / 1e9, products.size(), matched.flopsPerSecond() / 1e9,
            Report.pct(achieved / matched.flopsPerSecond()), Report.pct(achieved / peak), why)));
    return m;
  }

  /** Widths of the accelerator-sized MLP: 1024 inputs, two 4096 hidden layers, 16 classes. */
  static final int LARGE_IN = 1024;
  static final List<Integer> LARGE_HIDDEN = List.of(4096, 4096);
  static final int LARGE_CLASSES = 16;

  /**
   * The MLP 1024-4096-4096-16 with LoRA r=16 on every layer, trained from memory on random rows at
   * each of {@code plan.largeMlpBatches}, against DJL's matmul at that point's product shapes. Here
   * the products are large enough that the step should approach the matmul rate: what it loses is
   * the element-wise work, autograd bookkeeping and the optimizer, not per-op dispatch.
   */
  static Map<String, Object> largeMlp(BenchContext ctx, MatmulTimer timer, double peak) {
    io.lorastream.lora.model.ModelSpec spec = io.lorastream.lora.model.ModelSpec.mlp(LARGE_IN, LARGE_HIDDEN,
        LARGE_CLASSES, ctx.plan.seed() + 5);
    TrainerConfig tc = TrainerRuns.trainerConfig(ctx, Map.of(TrainerConfig.RANK_SCHEDULE, "fixed:" + RANK));
    int k = tc.accumulationSteps();
    List<Map<String, Object>> rows = new java.util.ArrayList<>();
    StringBuilder md = new StringBuilder(String.format(Locale.ROOT, "%nMLP %d-%s-%d, every layer adapted at r=%d, k=%d,"
        + " random rows from memory (FLOPs do not depend on the values). Per micro-batch size: the FlopModel count, the"
        + " measured rate, and DJL's matmul at the step's own product shapes in this run.%n%n"
        + "| b | FLOPs per micro-batch | ms per micro-batch | ex/s | GFLOP/s achieved | DJL matmul GFLOP/s at these shapes |"
        + " achieved / matmul | matmul share of the step |%n|---|---|---|---|---|---|---|---|%n", LARGE_IN, LARGE_HIDDEN,
        LARGE_CLASSES, RANK, k));
    try (io.lorastream.lora.model.BaseModel base = io.lorastream.lora.model.BaseModel.create(spec, ctx.base.device())) {
      List<FlopModel.Layer> layers = new java.util.ArrayList<>();
      for (io.lorastream.lora.model.LayerInfo l : base.linearLayers()) {
        layers.add(new FlopModel.Layer(l.name(), l.in(), l.out(), RANK));
      }
      for (int b : ctx.plan.largeMlpBatches()) {
        double perMb = FlopModel.perMicroBatch(layers, b, LARGE_CLASSES, k);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(ctx.plan.seed() + b);
        float[][] xs = new float[2][b * LARGE_IN];
        int[][] ys = new int[2][b];
        for (int i = 0; i < 2; i++) {
          for (int j = 0; j < xs[i].length; j++) {
            xs[i][j] = (float) (rnd.nextDouble() * 2 - 1);
          }
          for (int j = 0; j < b; j++) {
            ys[i][j] = rnd.nextInt(LARGE_CLASSES);
          }
        }
        io.lorastream.lora.train.LearnerConfig train = tc.learnerConfig().withMicroBatchSize(b);
        ctx.progress("flops: MLP %d-%s-%d, in-memory LoRA training at b=%d r=%d (%.1f GFLOP per micro-batch)", LARGE_IN,
            LARGE_HIDDEN, LARGE_CLASSES, b, RANK, perMb / 1e9);
        TrainerRuns.Timed timed;
        try (io.lorastream.lora.train.OnlineLearner learner = io.lorastream.lora.train.OnlineLearner.create(base,
            tc.adapterConfig(), train)) {
          // 2k warm-up micro-batches: one optimizer step included
          timed = TrainerRuns.timedSteps(learner, xs, ys, 2 * k, Math.max(3, ctx.plan.trainerSeconds()), 2L * k);
        }
        double mbPerSec = timed.microBatchesPerSecond();
        double achieved = perMb * mbPerSec;
        MatmulTimer.Matched matched = timer.matched(FlopModel.matmuls(layers, b));
        double ratio = achieved / matched.flopsPerSecond();
        double share = matched.matmulSeconds() * mbPerSec;
        String why = String.format(Locale.ROOT, "a micro-batch takes %.1f ms; its %d matrix products take %.1f ms at DJL's"
                + " per-shape speed (%s of the step); the rest is element-wise work (bias, ReLU and its mask, scale and"
                + " add of the adapter path), autograd's own copies and the optimizer", 1e3 / mbPerSec,
            matched.shapes().size(), matched.matmulSeconds() * 1e3, Report.pct(share));
        Figure f = Figure.of("3", "training FLOP/s, MLP " + LARGE_IN + "-4096-4096-" + LARGE_CLASSES + ", b=" + b + ", r="
            + RANK, achieved / 1e9, "GFLOP/s", "DJL matmul at the step's shapes", matched.flopsPerSecond() / 1e9);
        ctx.report.add(b == 512 ? f.withTarget(">= 0.50", ratio >= 0.50, why) : f.withReason(why));
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("b", b);
        row.put("flopsPerMicroBatch", Report.round(perMb));
        row.put("microBatches", timed.microBatches());
        row.put("seconds", Report.round(timed.seconds()));
        row.put("examplesPerSecond", Report.round(mbPerSec * b));
        row.put("achievedGflops", Report.round(achieved / 1e9));
        row.put("matchedMatmulGflops", Report.round(matched.flopsPerSecond() / 1e9));
        row.put("ratio", Report.round(ratio));
        row.put("matmulShareOfStep", Report.round(share));
        row.put("shapes", matched.shapes());
        rows.add(row);
        md.append(String.format(Locale.ROOT, "| %d | %,.0f | %.1f | %.0f | %.2f | %.2f | %s | %s |%n", b, perMb,
            1e3 / mbPerSec, mbPerSec * b, achieved / 1e9, matched.flopsPerSecond() / 1e9, Report.pct(ratio),
            Report.pct(share)));
      }
    }
    md.append(String.format(Locale.ROOT, "%nSingle-thread square-matmul peak in this run: %.1f GFLOP/s.%n", peak / 1e9));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model", "mlp " + LARGE_IN + "-" + LARGE_HIDDEN + "-" + LARGE_CLASSES + ", every layer adapted, rank " + RANK
        + ", k=" + k);
    m.put("bySize", rows);
    m.put("markdown", md.toString());
    return m;
  }

  static Map<String, Object> breakdownMap(FlopModel.Breakdown fb, long optimizer, int k) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("forwardBase", fb.forwardBase());
    m.put("forwardAdapter", fb.forwardAdapter());
    m.put("forwardElementwise", fb.forwardElementwise());
    m.put("backwardAdapterParams", fb.backwardAdapterParams());
    m.put("backwardInputBase", fb.backwardInputBase());
    m.put("backwardInputAdapter", fb.backwardInputAdapter());
    m.put("backwardElementwise", fb.backwardElementwise());
    m.put("bookkeeping", fb.bookkeeping());
    m.put("optimizerStepPerK", Report.round(optimizer / (double) k));
    return m;
  }
}
