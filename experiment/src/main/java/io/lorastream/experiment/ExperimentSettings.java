package io.lorastream.experiment;

import java.nio.file.Path;
import java.util.List;

/**
 * Typed settings of one experiment run, validated at construction so a bad flag fails before any
 * broker starts, with a message naming the flag and the fix. The command layer fills it from
 * picocli options whose defaults depend on the workload (see {@code ExperimentCommand}).
 *
 * @param out directory for report.md, results.json, charts and the pretrained base
 * @param seed seeds the workload order/sampling, base init, pretraining and adapter init
 * @param device DJL device: auto, cpu or gpu[:N]
 * @param microBatch examples per micro-batch for every learning variant
 * @param accumulation micro-batches per optimizer step
 * @param loraLr AdamW learning rate of the LoRA variants
 * @param fullLr AdamW learning rate of online full fine-tuning (same optimizer, its own rate)
 * @param alpha LoRA alpha (scale s = alpha / r)
 * @param targets LoRA target layers; empty = the model's default (Q/V for the transformer)
 * @param publishSteps optimizer steps between adapter snapshots
 * @param window examples per accuracy window
 * @param plateauWindow optimizer steps per plateau window
 * @param plateauMargin relative loss improvement below which the plateau schedule grows the rank
 * @param pretrainEpochs passes over the pretraining period
 * @param pretrainLr learning rate of pretraining
 * @param pretrainBatch batch size of pretraining
 * @param variants comma-separated variant names, or "all"
 */
public record ExperimentSettings(Path out, long seed, String device, int microBatch, int accumulation, double loraLr,
    double fullLr, float alpha, List<String> targets, long publishSteps, int window, int plateauWindow,
    double plateauMargin, int pretrainEpochs, double pretrainLr, int pretrainBatch, String variants) {

  public ExperimentSettings {
    require(microBatch >= 1 && microBatch <= 4096, "--micro-batch", microBatch, "use 1..4096");
    require(accumulation >= 1 && accumulation <= 256, "--accumulation", accumulation, "use 1..256");
    require(loraLr > 0 && Double.isFinite(loraLr), "--lr", loraLr, "use a positive learning rate such as 0.005");
    require(fullLr > 0 && Double.isFinite(fullLr), "--full-lr", fullLr, "use a positive learning rate such as 0.0005");
    require(alpha > 0 && Float.isFinite(alpha), "--alpha", alpha, "use a positive alpha such as 16");
    require(publishSteps >= 1, "--publish-steps", publishSteps, "use >= 1");
    require(window >= 10, "--window", window, "use at least 10 examples per window");
    require(plateauWindow >= 2, "--plateau-window", plateauWindow, "use >= 2 optimizer steps");
    require(plateauMargin >= 0 && plateauMargin < 1, "--plateau-margin", plateauMargin, "use a fraction in [0, 1)");
    require(pretrainEpochs >= 1, "--pretrain-epochs", pretrainEpochs, "use >= 1");
    require(pretrainLr > 0 && Double.isFinite(pretrainLr), "--pretrain-lr", pretrainLr, "use a positive learning rate");
    require(pretrainBatch >= 1, "--pretrain-batch", pretrainBatch, "use >= 1");
    require(device != null && device.matches("auto|cpu|gpu|gpu:\\d+"), "--device", device, "use auto, cpu, gpu or gpu:N");
    targets = List.copyOf(targets);
    variants = variants == null ? "all" : variants;
  }

  /** The same settings with other learning rates (the tuned ones). */
  public ExperimentSettings withRates(double lora, double full) {
    return new ExperimentSettings(out, seed, device, microBatch, accumulation, lora, full, alpha, targets, publishSteps,
        window, plateauWindow, plateauMargin, pretrainEpochs, pretrainLr, pretrainBatch, variants);
  }

  /** The same settings for another seed, writing to {@code dir}. */
  public ExperimentSettings withSeed(long s, Path dir) {
    return new ExperimentSettings(dir, s, device, microBatch, accumulation, loraLr, fullLr, alpha, targets, publishSteps,
        window, plateauWindow, plateauMargin, pretrainEpochs, pretrainLr, pretrainBatch, variants);
  }

  private static void require(boolean ok, String flag, Object value, String fix) {
    if (!ok) {
      throw new IllegalArgumentException("Invalid " + flag + " " + value + ". Fix: " + fix + ".");
    }
  }
}
