package io.lorastream.lora;

import ai.djl.Device;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.train.Pretrainer;

/** One pretrained demo base per test JVM (pretraining costs seconds; several tests read it). */
public final class PretrainedFixture {
  static final long SEED = 1;
  public static final RotatingSubspaceStream GEN = RotatingSubspaceStream.withDefaults(SEED);
  private static Pretrainer.Result result;

  private PretrainedFixture() {}

  /** Pretrained on 30k phase-0 examples of the default stream; shared, do not close its model. */
  public static synchronized Pretrainer.Result result() {
    if (result == null) {
      result = new Pretrainer(Pretrainer.Config.defaults().withEpochs(8))
          .train(ModelSpec.demoDefault(SEED), GEN.phaseSource(0, 30_000, 99), 30_000, Device.cpu());
    }
    return result;
  }
}
