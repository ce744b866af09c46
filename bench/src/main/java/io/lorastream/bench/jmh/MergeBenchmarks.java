package io.lorastream.bench.jmh;

import ai.djl.Device;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Folding an adapter into a serving model ({@code W' = W + s B A} for every layer, what a consumer
 * does for each new version) and the pure-Java forward of the merged model for one example, on the
 * benchmark's 64-wide MLP and on a 1024-input one. A rank-16 adapter with random factors is merged;
 * the cost does not depend on the values.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class MergeBenchmarks {
  /** input width - hidden widths - classes. */
  @Param({"64-64,64-4", "1024-64,64-4", "1024-1024,1024-16"})
  public String model;

  private BaseModel base;
  private List<MergedModel.Delta> deltas;
  private MergedModel merged;
  private float[] x;

  @Setup(Level.Trial)
  public void setUp() {
    String[] parts = model.split("-");
    List<Integer> hidden = new ArrayList<>();
    for (String h : parts[1].split(",")) {
      hidden.add(Integer.parseInt(h));
    }
    base = BaseModel.create(ModelSpec.mlp(Integer.parseInt(parts[0]), hidden, Integer.parseInt(parts[2]), 3), Device.cpu());
    SplittableRandom rnd = new SplittableRandom(11);
    int r = 16;
    deltas = new ArrayList<>();
    for (LayerInfo l : base.linearLayers()) {
      float[] a = new float[r * l.in()];
      float[] b = new float[l.out() * r];
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) rnd.nextGaussian() * 0.01f;
      }
      for (int i = 0; i < b.length; i++) {
        b[i] = (float) rnd.nextGaussian() * 0.01f;
      }
      deltas.add(new MergedModel.Delta(l.name(), r, 2.0, a, b));
    }
    merged = MergedModel.merge(base, deltas);
    x = new float[base.inputSize()];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextDouble(-1, 1);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    base.close();
  }

  @Benchmark
  public MergedModel merge() {
    return MergedModel.merge(base, deltas);
  }

  @Benchmark
  public float[] forward() {
    return merged.logits(x);
  }
}
