package io.lorastream.lora.bench;

import ai.djl.Device;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.model.TokenRows;
import io.lorastream.lora.train.FullFineTuner;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.lora.train.RankSchedule;
import java.util.List;
import java.util.Random;
import java.util.function.IntSupplier;

/**
 * CPU speed of the text models (not a test): LoRA training (Q/V, r=4 and r=16), full fine-tuning
 * and pure-Java merged predictions for the transformer at seqLen 64 and 128 (V=8192, d=128,
 * 4 heads, 2 layers, ffn 256) and for the embedding bag (d=64, hidden [64]). Rows are full (no
 * PAD) unless said otherwise, the worst case. Each number is measured for about
 * {@code -Dseconds=3} after a warm-up. Threads: {@code -Dlorastream.torch.threads=N} (default 1).
 *
 * <p>Run: {@code java -cp <lora-core test classpath> io.lorastream.lora.bench.TextModelBench}
 */
public final class TextModelBench {
  private TextModelBench() {}

  private static final double SECONDS = Double.parseDouble(System.getProperty("seconds", "3"));

  public static void main(String[] args) {
    System.out.printf("TextModelBench: torch intra-op threads=%s, %d cores, micro-batch 16%n",
        Integer.getInteger("lorastream.torch.threads", 1), Runtime.getRuntime().availableProcessors());
    for (int seqLen : new int[] {64, 128}) {
      ModelSpec spec = ModelSpec.transformer(8192, seqLen, 128, 4, 2, 256, 2, 1);
      report(spec, List.of());
    }
    report(ModelSpec.embeddingBag(8192, 128, 64, List.of(64), 2, 1), List.of());
  }

  private static void report(ModelSpec spec, List<String> targets) {
    String name = spec.kind() + (spec.kind().equals(ModelSpec.TRANSFORMER)
        ? " L=" + spec.seqLen() + " d=" + spec.dModel() : " L=" + spec.seqLen() + " d=" + spec.dModel() + " h=" + spec.hiddenSizes());
    Random rnd = new Random(7);
    int b = 16;
    float[] x = rows(rnd, b, spec, spec.seqLen());
    int[] y = new int[b];
    for (int i = 0; i < b; i++) {
      y[i] = rnd.nextInt(2);
    }
    try (BaseModel base = BaseModel.create(spec, Device.cpu())) {
      System.out.printf("%n%s: %,d parameters%n", name, base.parameterCount());
      for (int r : new int[] {4, 16}) {
        LearnerConfig tc = LearnerConfig.defaults().withSchedule(RankSchedule.fixed(r)).withMicroBatchSize(b);
        try (OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults().withTargets(targets), tc)) {
          double eps = rate(() -> {
            learner.trainMicroBatch(x, y, null);
            return b;
          });
          System.out.printf("  LoRA train  r=%-2d targets=%s (%,d trainable, %.2f%%): %8.1f examples/s%n", r,
              learner.ranks().keySet(), learner.trainableParameters(),
              100.0 * learner.trainableParameters() / base.parameterCount(), eps);
        }
      }
      try (FullFineTuner ft = FullFineTuner.create(base, LearnerConfig.defaults().withMicroBatchSize(b))) {
        double eps = rate(() -> {
          ft.trainMicroBatch(x, y, null);
          return b;
        });
        System.out.printf("  full FT     (%,d trainable):                  %8.1f examples/s%n", ft.trainableParameters(), eps);
      }
      float[] x32 = rows(rnd, 32, spec, spec.seqLen());
      int[] y32 = new int[32];
      try (FullFineTuner ft = FullFineTuner.create(base, LearnerConfig.defaults().withL2Lambda(0).withClipNorm(1))) {
        double eps = rate(() -> {
          ft.trainMicroBatch(x32, y32, null);
          return 32;
        });
        System.out.printf("  pretraining (full FT, batch 32, no L2):        %8.1f examples/s%n", eps);
      }
      double dev = rate(() -> {
        base.logits(x32, 32);
        return 32;
      });
      System.out.printf("  frozen base on device (DJL, batch 32):         %8.1f predictions/s%n", dev);
      MergedModel merged = MergedModel.ofBase(base);
      for (int len : new int[] {spec.seqLen(), spec.seqLen() / 2}) {
        float[][] single = new float[64][];
        float[] many = rows(rnd, 64, spec, len);
        for (int i = 0; i < 64; i++) {
          single[i] = java.util.Arrays.copyOfRange(many, i * spec.seqLen(), (i + 1) * spec.seqLen());
        }
        int[] k = {0};
        double pps = rate(() -> {
          merged.predict(single[k[0]++ & 63]);
          return 1;
        });
        System.out.printf("  MergedModel (pure Java, 1 thread) %3d tokens:  %8.1f predictions/s%n", len, pps);
      }
    }
  }

  /** n rows of {@code len} random real tokens, PAD after. */
  private static float[] rows(Random rnd, int n, ModelSpec spec, int len) {
    float[] x = new float[n * spec.seqLen()];
    for (int i = 0; i < n; i++) {
      int[] t = new int[len];
      for (int p = 0; p < len; p++) {
        t[p] = 1 + rnd.nextInt(spec.vocabSize() - 1);
      }
      TokenRows.fill(t, x, i * spec.seqLen(), spec.seqLen());
    }
    return x;
  }

  /** Units per second of {@code op} over about {@link #SECONDS} after a warm-up. */
  private static double rate(IntSupplier op) {
    long warm = System.nanoTime();
    while (System.nanoTime() - warm < 0.5e9) {
      op.getAsInt();
    }
    long units = 0;
    long t0 = System.nanoTime();
    long t;
    do {
      units += op.getAsInt();
      t = System.nanoTime();
    } while (t - t0 < SECONDS * 1e9);
    return units / ((t - t0) / 1e9);
  }
}
