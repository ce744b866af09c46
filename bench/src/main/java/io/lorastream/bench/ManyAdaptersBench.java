package io.lorastream.bench;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LayerAdapter;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import io.lorastream.stream.serving.AdapterSwapper;
import io.lorastream.stream.serving.MergeBudget;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Item 6b: one consumer serving 100 adapters (rank 16 on every layer of the bench base) under a
 * merge budget of 10 adapters: the merged and the compact bytes per adapter, and the latency of
 * the first request to a cold (evicted) adapter against a request to a merged one, measured in the
 * same run. No Kafka: snapshots go straight to the swapper, which is what the subscriber does.
 */
final class ManyAdaptersBench {
  static final int ADAPTERS = 100;
  static final int MERGED = 10;

  private ManyAdaptersBench() {
  }

  static void run(BenchContext ctx) {
    List<AdapterSnapshot> snapshots = new ArrayList<>();
    Random rnd = new Random(ctx.plan.seed());
    try (LoraModel lora = LoraModel.create(ctx.base, AdapterConfig.defaults().withRank(16))) {
      for (int i = 0; i < ADAPTERS; i++) {
        snapshots.add(withRandomB(SnapshotCodec.encode(lora, SnapshotMeta.of("many-" + i, 1, "bench"), null), rnd));
      }
    }
    long merged1;
    {
      MergeBudget probe = new MergeBudget(Long.MAX_VALUE);
      AdapterSwapper one = new AdapterSwapper(ctx.base, AdapterSwapper.ALL_ADAPTERS, null, "bench.train", 2,
          System::currentTimeMillis, ServingEngine.choose("java", ctx.base));
      one.mergeBudget(probe);
      one.offer(snapshots.get(0));
      merged1 = probe.mergedBytes();
    }
    long compact1 = 0;
    for (LayerAdapter l : snapshots.get(0).getLayers()) {
      compact1 += l.getA().remaining() + l.getB().remaining();
    }
    MergeBudget budget = new MergeBudget(MERGED * merged1);
    AdapterSwapper swapper = new AdapterSwapper(ctx.base, AdapterSwapper.ALL_ADAPTERS, null, "bench.train", 2,
        System::currentTimeMillis, ServingEngine.choose("java", ctx.base));
    swapper.mergeBudget(budget);
    ctx.progress("many adapters: %d adapters at r=16, budget %d merged (%d B each)", ADAPTERS, MERGED, merged1);
    for (AdapterSnapshot s : snapshots) {
      swapper.offer(s);
    }
    float[] x = new float[ctx.base.spec().inputSize()];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextGaussian();
    }
    List<Double> cold = new ArrayList<>();
    List<Double> warm = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < ADAPTERS; i++) {
        String id = "many-" + i;
        long t = System.nanoTime();
        swapper.forRequest(id, "c" + i).orElseThrow().model().predictProba(x);
        long t1 = System.nanoTime();
        swapper.forRequest(id, "w" + i).orElseThrow().model().predictProba(x);
        long t2 = System.nanoTime();
        if (round > 0) { // the first round also warms the code
          cold.add((t1 - t) / 1e6);
          warm.add((t2 - t1) / 1e6);
        }
      }
    }
    double coldP50 = Stats.percentile(cold, 0.5);
    double coldP99 = Stats.percentile(cold, 0.99);
    double warmP50 = Stats.percentile(warm, 0.5);
    ctx.report.add(Figure.of("6b", "first request to a cold adapter p50 (100 adapters, 10 merged, r=16)", coldP50, "ms",
        "request to a merged adapter p50", warmP50));
    ctx.report.add(Figure.of("6b", "first request to a cold adapter p99", coldP99, "ms",
        "request to a merged adapter p50", warmP50));
    ctx.report.add(Figure.of("6b", "memory per adapter, merged", merged1 / 1024.0, "KiB",
        "kept while evicted (A and B)", compact1 / 1024.0));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("adapters", ADAPTERS);
    m.put("mergedBudget", MERGED);
    m.put("mergedBytesPerAdapter", merged1);
    m.put("compactBytesPerAdapter", compact1);
    m.put("mergedBytesHeld", budget.mergedBytes());
    m.put("evictions", budget.evictions());
    m.put("coldMerges", budget.coldMerges());
    m.put("coldP50Ms", coldP50);
    m.put("coldP99Ms", coldP99);
    m.put("warmP50Ms", warmP50);
    ctx.report.section("manyAdapters", m);
    ctx.report.markdown("6b. Many adapters under a merge budget", String.format(Locale.ROOT, "%d adapters (rank 16 on"
        + " every layer of %s) in one consumer with inference.merged.budget.mb worth %d merged adapters. Merged: %,d B"
        + " per adapter; evicted adapters keep A and B: %,d B. Requests cycle through every adapter, so each first "
        + "request finds its adapter evicted: p50 %.3f ms, p99 %.3f ms, against %.3f ms for the next request to the "
        + "same (now merged) adapter. The budget held %,d B at the end (limit %,d B) after %d evictions.%n",
        ADAPTERS, ctx.base.id(), MERGED, merged1, compact1, coldP50, coldP99, warmP50, budget.mergedBytes(),
        budget.budgetBytes(), budget.evictions()));
  }

  private static AdapterSnapshot withRandomB(AdapterSnapshot s, Random rnd) {
    List<LayerAdapter> layers = new ArrayList<>();
    for (LayerAdapter l : s.getLayers()) {
      ByteBuffer b = ByteBuffer.allocate(l.getB().remaining()).order(ByteOrder.LITTLE_ENDIAN);
      while (b.hasRemaining()) {
        b.putFloat((float) rnd.nextGaussian() * 0.01f);
      }
      b.flip();
      layers.add(LayerAdapter.newBuilder(l).setB(b).build());
    }
    AdapterSnapshot copy = AdapterSnapshot.newBuilder(s).setLayers(layers).build();
    copy.setChecksum(ByteBuffer.wrap(SnapshotCodec.checksum(copy)));
    return copy;
  }
}
