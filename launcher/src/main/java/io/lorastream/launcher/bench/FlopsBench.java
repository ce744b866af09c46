package io.lorastream.launcher.bench;

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
 * The spam transformer is not part of this code base yet, so only the MLP is measured.
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
    TrainerRuns.settleJit(ctx, tc.adapterConfig(), tc.trainConfig(), batches, ctx.plan.trainerSeconds() * 2);
    TrainerRuns.Result warm = TrainerRuns.memory(ctx, "flops-warmup", tc.adapterConfig(), tc.trainConfig(), batches,
        ctx.plan.trainerExamples() / 4, false);
    long m = ctx.plan.examplesFor(warm.examplesPerSecond(), ctx.plan.trainerSeconds() / 2, 2000);
    ctx.progress("flops: in-memory training at b=%d r=%d over %d examples", b, RANK, m);
    TrainerRuns.Result mem = TrainerRuns.memory(ctx, "flops", tc.adapterConfig(), tc.trainConfig(), batches, m, false);
    double mbPerSec = mem.examplesPerSecond() / b;
    double achieved = perMb * mbPerSec;

    ctx.progress("flops: timing DJL matmuls at the step's %d product shapes and at 256..1024 squares",
        FlopModel.matmuls(layers, b).size());
    Map<String, Object> data = new LinkedHashMap<>();
    try (MatmulTimer timer = new MatmulTimer()) {
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
      ctx.report.add(new Figure("3", "spam transformer FLOP/s", Double.NaN, "GFLOP/s",
          "not measured: lora-core has no transformer model yet (ModelSpec.kind is only \"mlp\")", Double.NaN, Double.NaN,
          "", "", null, ""));

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
      data.put("transformer", "not measured: no transformer model exists in lora-core yet");
      ctx.report.section("flops", data);

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
          "The spam transformer is not measured: there is no transformer model in lora-core yet."));
    }
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
