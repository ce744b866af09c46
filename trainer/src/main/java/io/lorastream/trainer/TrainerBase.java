package io.lorastream.trainer;

import ai.djl.Device;
import io.lorastream.config.ConfigException;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.text.TextTokenizer;
import io.lorastream.lora.model.Devices;
import java.io.IOException;
import java.nio.file.Files;

/**
 * Loads the trainer's frozen base model on its device and checks the adapter's targets against
 * it, so that every mistake here fails at startup with a {@link ConfigException} naming the
 * trainer.* key and the fix.
 */
final class TrainerBase {
  private TrainerBase() {
  }

  static BaseModel load(TrainerConfig cfg) {
    if (!Files.isRegularFile(cfg.base())) {
      throw new ConfigException(TrainerConfig.BASE, "Base-model file " + cfg.base() + " (" + TrainerConfig.BASE
          + ") does not exist. Fix: run `lorastream pretrain` to create it, or point " + TrainerConfig.BASE
          + " at an existing file.");
    }
    Device device;
    try {
      device = Devices.resolve(cfg.device());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(TrainerConfig.DEVICE, "Invalid setting '" + TrainerConfig.DEVICE + "': "
          + e.getMessage() + ". Fix: set " + TrainerConfig.DEVICE + " to auto or cpu.");
    }
    BaseModel base;
    try {
      base = BaseModel.load(cfg.base(), device);
    } catch (IOException e) {
      throw new ConfigException(TrainerConfig.BASE, "Cannot load the base model " + cfg.base() + " ("
          + TrainerConfig.BASE + "): " + e.getMessage() + ". Fix: point " + TrainerConfig.BASE
          + " at a file written by `lorastream pretrain`.");
    }
    try {
      cfg.adapterConfig().resolveTargets(base.spec());
    } catch (IllegalArgumentException e) {
      base.close();
      throw new ConfigException(TrainerConfig.TARGETS, "Invalid setting '" + TrainerConfig.TARGETS + "': "
          + e.getMessage() + ". Fix: list layers of this base (comma-separated names or globs such as *.q) or leave "
          + "it empty for the model's default.");
    }
    return base;
  }

  /**
   * The tokenizer the base carries, truncating raw text to {@link TrainerConfig#TEXT_MAX_TOKENS};
   * null when the base has none (text examples are then dead-lettered with that reason).
   */
  static TextTokenizer tokenizer(TrainerConfig cfg, BaseModel base) {
    try {
      return TextTokenizer.forBase(base, cfg.textMaxTokens()).orElse(null);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(TrainerConfig.TEXT_MAX_TOKENS, "Invalid setting '" + TrainerConfig.TEXT_MAX_TOKENS
          + "': " + e.getMessage() + ". Fix: set it to 0 (the base's window) or a length that fits the window.");
    }
  }
}
