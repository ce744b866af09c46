package io.lorastream.lora.bench;

import ai.djl.Device;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.lora.train.RankSchedule;
import java.util.Random;

/** Prints OnlineLearner training throughput (examples/s) at b=32, r=16 on the CPU. */
public final class ThroughputBench {
  private ThroughputBench() {}

  public static void main(String[] args) {
    int b = args.length > 0 ? Integer.parseInt(args[0]) : 32;
    int r = args.length > 1 ? Integer.parseInt(args[1]) : 16;
    int steps = args.length > 2 ? Integer.parseInt(args[2]) : 2000;
    System.out.println(run(b, r, steps));
  }

  /** Trains {@code steps} micro-batches after a warm-up and returns a one-line report. */
  public static String run(int b, int r, int steps) {
    ModelSpec spec = ModelSpec.demoDefault(1);
    Random rnd = new Random(3);
    float[] f = new float[b * spec.inputSize()];
    int[] y = new int[b];
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(),
            LearnerConfig.defaults().withSchedule(RankSchedule.fixed(r)).withMicroBatchSize(b))) {
      for (int i = 0; i < f.length; i++) {
        f[i] = (float) rnd.nextGaussian();
      }
      for (int i = 0; i < b; i++) {
        y[i] = rnd.nextInt(spec.numClasses());
      }
      for (int i = 0; i < 200; i++) {
        learner.trainMicroBatch(f, y, null);
      }
      long t0 = System.nanoTime();
      for (int i = 0; i < steps; i++) {
        learner.trainMicroBatch(f, y, null);
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      return String.format("OnlineLearner throughput: b=%d r=%d k=1 device=%s: %.0f examples/s (%.3f ms per micro-batch incl. optimizer step)",
          b, r, base.device(), steps * (double) b / secs, secs * 1000 / steps);
    }
  }
}
