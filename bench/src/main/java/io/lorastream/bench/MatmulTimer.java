package io.lorastream.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lorastream.lora.model.Devices;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Measures what DJL (PyTorch engine, CPU, one intra-op thread as lorastream configures it)
 * achieves on plain matrix products of given shapes, each call including the allocation and
 * release of its result as in a training step. Per shape it takes the best of several timed
 * batches of calls, i.e. the machine's matmul capability at that size. Must be used from one
 * thread; results are cached per shape.
 */
final class MatmulTimer implements AutoCloseable {
  private final NDManager manager;
  private final Map<String, Double> secondsPerCall = new HashMap<>();

  /** The reference matmul on {@code device}, the one the benchmarked learner runs on. */
  MatmulTimer(Device device) {
    Devices.tuneCurrentThread();
    this.manager = NDManager.newBaseManager(device);
  }

  /** Seconds per call of (m x k) @ (k x n), best of 5 batches of ~20 ms. */
  double seconds(int m, int k, int n) {
    String key = m + "x" + k + "x" + n;
    Double cached = secondsPerCall.get(key);
    if (cached != null) {
      return cached;
    }
    double best;
    try (NDManager sub = manager.newSubManager()) {
      NDArray a = sub.randomNormal(new Shape(m, k));
      NDArray b = sub.randomNormal(new Shape(k, n));
      int calls = 1;
      while (true) { // calibrate: double until one batch takes >= 20 ms
        long t = timeCalls(a, b, calls);
        if (t >= 20_000_000L || calls >= (1 << 22)) {
          break;
        }
        calls *= 2;
      }
      best = Double.MAX_VALUE;
      for (int rep = 0; rep < 5; rep++) {
        best = Math.min(best, timeCalls(a, b, calls) / 1e9 / calls);
      }
    }
    secondsPerCall.put(key, best);
    return best;
  }

  private static long timeCalls(NDArray a, NDArray b, int calls) {
    long t = System.nanoTime();
    for (int i = 0; i < calls; i++) {
      NDArray c = a.matMul(b);
      c.close();
    }
    return System.nanoTime() - t;
  }

  /** FLOP/s of one shape. */
  double flops(int m, int k, int n) {
    return 2.0 * m * k * n / seconds(m, k, n);
  }

  /** Cost floor of one DJL op: a one-element add and the release of its result, in seconds. */
  double perOpFloorSeconds() {
    try (NDManager sub = manager.newSubManager()) {
      NDArray a = sub.create(new float[] {1f});
      int calls = 20_000;
      double best = Double.MAX_VALUE;
      for (int rep = 0; rep < 5; rep++) {
        long t = System.nanoTime();
        for (int i = 0; i < calls; i++) {
          NDArray c = a.add(1f);
          c.close();
        }
        best = Math.min(best, (System.nanoTime() - t) / 1e9 / calls);
      }
      return best;
    }
  }

  /** The step's matrix products timed one by one. */
  record Matched(long matmulFlops, double matmulSeconds, List<Map<String, Object>> shapes) {
    double flopsPerSecond() {
      return matmulFlops / matmulSeconds;
    }
  }

  Matched matched(List<FlopModel.Matmul> products) {
    long flops = 0;
    double secs = 0;
    List<Map<String, Object>> rows = new ArrayList<>();
    for (FlopModel.Matmul p : products) {
      double s = seconds(p.m(), p.k(), p.n());
      flops += p.flops();
      secs += s;
      Map<String, Object> row = new java.util.LinkedHashMap<>();
      row.put("product", p.what());
      row.put("shape", p.m() + "x" + p.k() + " @ " + p.k() + "x" + p.n());
      row.put("flops", p.flops());
      row.put("microsPerCall", Report.round(s * 1e6));
      row.put("gflops", Report.round(p.flops() / s / 1e9));
      rows.add(row);
    }
    return new Matched(flops, secs, rows);
  }

  @Override
  public void close() {
    manager.close();
  }
}
