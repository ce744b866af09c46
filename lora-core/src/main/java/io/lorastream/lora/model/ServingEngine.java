package io.lorastream.lora.model;

import java.util.List;
import java.util.Locale;

/**
 * Which forward an inference consumer serves merged weights with. {@code java} is the host model
 * ({@link MergedModel}): no native calls, fastest for the small models lorastream builds itself,
 * where a DJL call's fixed cost dominates. {@code djl} runs the shared {@link Forward} on the
 * base's device ({@link DeviceMergedModel}): the only choice on a GPU, and on a CPU 3.7x faster
 * than the Java loops at MiniLM's size (bench section minilm). {@code auto} picks djl when the
 * base sits on a GPU or has at least {@value #AUTO_DJL_PARAMETERS} parameters, java otherwise.
 */
public enum ServingEngine {
  JAVA,
  DJL;

  /** Parameter count from which {@code auto} prefers DJL on a CPU (MiniLM has 22.7 M; lorastream's transformer 1.3 M). */
  public static final long AUTO_DJL_PARAMETERS = 5_000_000;

  /** Accepted setting values. */
  public static final List<String> NAMES = List.of("auto", "java", "djl");

  /**
   * Resolves a setting value for {@code base}.
   *
   * @throws IllegalArgumentException for a value outside {@link #NAMES}
   */
  public static ServingEngine choose(String setting, BaseModel base) {
    String s = setting == null ? "auto" : setting.trim().toLowerCase(Locale.ROOT);
    return switch (s) {
      case "java" -> JAVA;
      case "djl" -> DJL;
      case "auto" -> base.device().isGpu() || base.parameterCount() >= AUTO_DJL_PARAMETERS ? DJL : JAVA;
      default -> throw new IllegalArgumentException("unknown serving engine '" + setting + "'; use " + NAMES);
    };
  }

  /** The frozen base as a serving model of this engine. */
  public MergedClassifier ofBase(BaseModel base) {
    return this == JAVA ? MergedModel.ofBase(base) : DeviceMergedModel.ofBase(base);
  }

  /** The base with {@code deltas} folded in, built by this engine. */
  public MergedClassifier merge(BaseModel base, List<MergedModel.Delta> deltas) {
    return this == JAVA ? MergedModel.merge(base, deltas) : DeviceMergedModel.merge(base, deltas);
  }
}
