package io.lorastream.bench;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.InferenceRequest;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.stream.inference.InferenceConfig;
import io.lorastream.stream.inference.InferenceService;
import io.lorastream.trainer.TrainerConfig;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToIntFunction;

/**
 * Item 5: predictions per second with a merged rank-16 adapter, against the frozen base alone and
 * against the same adapter unmerged (in plain Java, and through DJL as {@code LoraModel} computes
 * it). The in-process comparison runs the serving models on one thread in interleaved rounds
 * (base, merged, unmerged, ... repeated) and takes each one's median, so drift hits all alike.
 * With a request budget, the same comparison runs end to end through {@link InferenceService}
 * (Kafka Streams, Avro requests and predictions) in the order base, merged, base, merged.
 */
final class InferenceBench {
  private static final String REQUESTS = "bench.requests";
  private static final String PREDICTIONS = "bench.predictions";
  private static final String ADAPTERS = "bench.adapters.serve";
  private static final String SERVED = "bench-serve";

  private InferenceBench() {
  }

  static void run(BenchContext ctx) throws Exception {
    List<Example> examples = ctx.trainExamples();
    TrainerConfig tc = TrainerRuns.trainerConfig(ctx, Map.of(TrainerConfig.RANK_SCHEDULE, "fixed:16"));
    ExampleData.Batches batches = ExampleData.batches(examples, 16);
    AdapterSnapshot snap;
    DecodedAdapter decoded;
    ctx.progress("inference: training a rank-16 adapter for the comparison");
    try (OnlineLearner learner = OnlineLearner.create(ctx.base, tc.adapterConfig(), tc.learnerConfig())) {
      for (int i = 0; i < Math.min(200, batches.count()); i++) {
        learner.trainMicroBatch(batches.features().get(i), batches.labels().get(i), null);
      }
      learner.flush();
      snap = SnapshotCodec.encode(learner, SnapshotMeta.of(SERVED, 1, "bench"));
      decoded = SnapshotCodec.decode(snap, ctx.base, null);
      float[][] xs = new float[Math.min(4096, examples.size())][];
      for (int i = 0; i < xs.length; i++) {
        xs[i] = examples.get(i).features();
      }
      MergedModel base = MergedModel.ofBase(ctx.base);
      MergedModel merged = decoded.merge(ctx.base);
      UnmergedLora unmerged = new UnmergedLora(ctx.base, decoded);
      double maxDiff = 0;
      double maxDiffDjl = 0;
      for (int i = 0; i < 256; i++) {
        float[] pm = merged.predictProba(xs[i]);
        float[] pu = unmerged.predictProba(xs[i]);
        double[] zl = learner.model().logits(xs[i], 1);
        float[] zm = merged.logits(xs[i]);
        for (int c = 0; c < pm.length; c++) {
          maxDiff = Math.max(maxDiff, Math.abs(pm[c] - pu[c]));
          maxDiffDjl = Math.max(maxDiffDjl, Math.abs(zm[c] - zl[c]));
        }
      }
      ctx.progress("inference: %d interleaved rounds of base / merged / unmerged (Java) / unmerged (DJL)",
          ctx.plan.inferenceRounds());
      Map<String, ToIntFunction<float[]>> variants = new LinkedHashMap<>();
      variants.put("base", x -> argmax(base.predictProba(x)));
      variants.put("merged r=16", x -> argmax(merged.predictProba(x)));
      variants.put("unmerged r=16 (Java)", x -> argmax(unmerged.predictProba(x)));
      variants.put("unmerged r=16 (DJL LoraModel, 1 row)", x -> argmax(learner.model().logits(x, 1)));
      Map<String, List<Double>> rates = new LinkedHashMap<>();
      variants.keySet().forEach(k -> rates.put(k, new ArrayList<>()));
      for (int round = -1; round < ctx.plan.inferenceRounds(); round++) { // round -1 warms the JIT
        for (Map.Entry<String, ToIntFunction<float[]>> v : variants.entrySet()) {
          double r = rate(v.getValue(), xs, 200);
          if (round >= 0) {
            rates.get(v.getKey()).add(r);
          }
        }
      }
      Map<String, Double> median = new LinkedHashMap<>();
      rates.forEach((k, l) -> median.put(k, Stats.percentile(l, 0.5)));
      double rBase = median.get("base");
      double rMerged = median.get("merged r=16");
      double rUnmerged = median.get("unmerged r=16 (Java)");
      double rDjl = median.get("unmerged r=16 (DJL LoraModel, 1 row)");
      // Each round runs base and merged back to back, so the per-round ratio cancels slow drift.
      List<Double> perRound = new ArrayList<>();
      for (int i = 0; i < rates.get("base").size(); i++) {
        perRound.add(rates.get("merged r=16").get(i) / rates.get("base").get(i));
      }
      double ratio = Stats.percentile(perRound, 0.5);
      String why = String.format(Locale.ROOT, "merged and base run identical code on identically shaped weights (the merge"
          + " folds s*B*A into W), so a gap is run-to-run noise: per-round merged/base ratios %s", perRound.stream()
          .map(r -> String.format(Locale.ROOT, "%.3f", r)).toList());
      ctx.report.add(Figure.of("5", "in-process predictions/s, merged r=16", rMerged, "pred/s", "frozen base alone", rBase)
          .withRatio(ratio, "median of per-round merged/base").withTarget(">= 0.98", ratio >= 0.98, why));
      ctx.report.add(Figure.of("5", "in-process predictions/s, merged r=16", rMerged, "pred/s",
          "unmerged LoRA in Java (W x + s B A x)", rUnmerged));
      ctx.report.add(Figure.of("5", "in-process predictions/s, merged r=16", rMerged, "pred/s",
          "unmerged LoRA through DJL (LoraModel.logits, 1 row)", rDjl));
      Map<String, Object> data = new LinkedHashMap<>();
      data.put("perRoundPredictionsPerSecond", rates);
      data.put("medianPredictionsPerSecond", median);
      data.put("perRoundMergedOverBase", perRound);
      data.put("mergedOverBaseRatio", ratio);
      data.put("maxAbsProbabilityDiffMergedVsUnmerged", maxDiff);
      data.put("maxAbsLogitDiffMergedVsDjl", maxDiffDjl);
      StringBuilder md = new StringBuilder(String.format(Locale.ROOT, "One thread, %d distinct 64-float requests, %d"
          + " interleaved rounds of 200 ms per variant, medians (the merged/base ratio is the median of the per-round ratios). Merged and unmerged outputs agree to %.1e (probabilities,"
          + " Java) and %.1e (logits, DJL).%n%n| serving model | predictions/s | vs base | merged vs this |%n|---|---|---|---|%n",
          xs.length, ctx.plan.inferenceRounds(), maxDiff, maxDiffDjl));
      median.forEach((k, v) -> md.append(String.format(Locale.ROOT, "| %s | %.0f | %.3f | %.3f |%n", k, v, v / rBase, rMerged / v)));
      if (ctx.plan.e2eRequests() > 0) {
        Map<String, Object> e2e = endToEnd(ctx, snap, examples);
        data.put("endToEnd", e2e);
        double b = (Double) e2e.get("baseMean");
        double mm = (Double) e2e.get("mergedMean");
        ctx.report.add(Figure.of("5", "end-to-end predictions/s (InferenceService), merged r=16", mm, "pred/s",
            "same service serving the frozen base", b));
        md.append(String.format(Locale.ROOT, "%nEnd to end through InferenceService (Kafka Streams, 1 thread, Avro requests"
            + " and predictions, %d requests per run, after one unmeasured warm-up run, in the order base, merged, base,"
            + " merged): base %s, merged %s"
            + " predictions/s -> ratio %.3f.%n", ctx.plan.e2eRequests(), e2e.get("base"), e2e.get("merged"), mm / b));
      }
      ctx.report.section("inference", data);
      ctx.report.markdown("5. Inference", md.toString());
    }
  }

  private static int argmax(float[] p) {
    int best = 0;
    for (int i = 1; i < p.length; i++) {
      if (p[i] > p[best]) {
        best = i;
      }
    }
    return best;
  }

  private static int argmax(double[] p) {
    int best = 0;
    for (int i = 1; i < p.length; i++) {
      if (p[i] > p[best]) {
        best = i;
      }
    }
    return best;
  }

  private static volatile int sink;

  /** Predictions per second of one variant over about {@code millis} ms. */
  private static double rate(ToIntFunction<float[]> predict, float[][] xs, long millis) {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    long t0 = System.nanoTime();
    long n = 0;
    int acc = 0;
    int i = 0;
    while (true) {
      for (int j = 0; j < 64; j++) {
        acc += predict.applyAsInt(xs[i]);
        i = (i + 1) % xs.length;
      }
      n += 64;
      long now = System.nanoTime();
      if (now >= end) {
        sink = acc;
        return n / ((now - t0) / 1e9);
      }
    }
  }

  private static Map<String, Object> endToEnd(BenchContext ctx, AdapterSnapshot snap, List<Example> examples)
      throws Exception {
    int n = ctx.plan.e2eRequests();
    ctx.createTopic(REQUESTS, 2, false);
    ctx.createTopic(PREDICTIONS, 2, false);
    ctx.createTopic(ADAPTERS, 1, true);
    ctx.progress("inference: end to end, producing %d requests and the rank-16 snapshot", n);
    List<byte[]> keys = new ArrayList<>(n);
    List<byte[]> values = new ArrayList<>(n);
    var ser = ctx.serdes.inferenceRequest().serializer();
    for (int i = 0; i < n; i++) {
      float[] x = examples.get(i % examples.size()).features();
      List<Float> f = new ArrayList<>(x.length);
      for (float v : x) {
        f.add(v);
      }
      String id = "req-" + i;
      keys.add(id.getBytes(StandardCharsets.UTF_8));
      values.add(ser.serialize(REQUESTS, InferenceRequest.newBuilder().setRequestId(id).setTask("").setFeatures(f)
          .setTokens(List.of()).setLabel(null).setSentAt(Instant.now()).build()));
    }
    ctx.produce(REQUESTS, keys, values);
    ctx.produce(ADAPTERS, List.of(SERVED.getBytes(StandardCharsets.UTF_8)),
        List.of(ctx.serdes.adapterSnapshot().serializer().serialize(ADAPTERS, snap)));
    List<Double> base = new ArrayList<>();
    List<Double> merged = new ArrayList<>();
    serve(ctx, SERVED, 1, n, "warmup"); // unmeasured: warms Streams, Avro and the predict path
    for (int round = 0; round < 2; round++) {
      base.add(serve(ctx, "bench-none", 0, n, "base-" + round));
      merged.add(serve(ctx, SERVED, 1, n, "merged-" + round));
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("requests", n);
    m.put("base", base.stream().map(Report::round).toList());
    m.put("merged", merged.stream().map(Report::round).toList());
    m.put("baseMean", Stats.mean(Stats.toArray(base)));
    m.put("mergedMean", Stats.mean(Stats.toArray(merged)));
    return m;
  }

  /** One InferenceService over every request; predictions/s from its first prediction to its last. */
  private static double serve(BenchContext ctx, String adapterId, long expectVersion, int n, String label)
      throws Exception {
    Map<String, String> o = new HashMap<>();
    o.put("topic.inference.requests", REQUESTS);
    o.put("topic.inference.predictions", PREDICTIONS);
    o.put("topic.adapters", ADAPTERS);
    o.put(InferenceConfig.ADAPTER_ID, adapterId);
    o.put(InferenceConfig.CONSUMER_ID, "bench-" + label);
    o.put(InferenceConfig.APPLICATION_ID, "bench-inference-" + label + "-" + System.currentTimeMillis());
    o.put(InferenceConfig.STATE_DIR, ctx.work.resolve("inference").toString());
    o.put(InferenceConfig.METRICS_INTERVAL_MS, "0");
    LayeredConfig cfg = ctx.config(o);
    try (InferenceService svc = InferenceService.start(InferenceConfig.from(cfg), new CommonConfig(cfg), ctx.serdes, ctx.base)) {
      if (svc.subscriber().activeVersion() != expectVersion) {
        throw new IllegalStateException("inference run " + label + " serves v" + svc.subscriber().activeVersion()
            + ", expected v" + expectVersion);
      }
      long first = 0;
      long firstCount = 0;
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      long count = 0;
      while (count < n && System.nanoTime() < deadline) {
        TimeUnit.MILLISECONDS.sleep(5); // the benchmark's own wait loop
        count = svc.counters().predictions();
        if (count > 0 && first == 0) {
          first = System.nanoTime();
          firstCount = count;
        }
      }
      long end = System.nanoTime();
      if (count < n) {
        throw new IllegalStateException("inference run " + label + " answered " + count + " of " + n + " requests");
      }
      double rate = (n - firstCount) / ((end - first) / 1e9);
      ctx.progress("inference: end to end %s %.0f predictions/s", label, rate);
      return rate;
    }
  }
}
