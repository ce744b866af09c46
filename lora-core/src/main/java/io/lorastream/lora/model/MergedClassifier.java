package io.lorastream.lora.model;

import java.util.Map;

/**
 * A base with one adapter version folded in, as an inference consumer serves it: immutable,
 * callable from any number of request threads at once. Two engines build one
 * ({@link ServingEngine}): {@link MergedModel}, plain Java on the host, and
 * {@link DeviceMergedModel}, DJL on the base's device. Both compute the same function as the
 * training forward of {@link Forward}.
 */
public interface MergedClassifier {

  /** Logits for one model input row (dense features, or token ids as floats for text kinds). */
  float[] logits(float[] row);

  /** Class probabilities (softmax of the logits) for one input row. */
  default float[] predictProba(float[] row) {
    return MergedModel.softmax(logits(row));
  }

  /** Most likely class of one input row (the first one on ties). */
  default int predict(float[] row) {
    float[] z = logits(row);
    int best = 0;
    for (int i = 1; i < z.length; i++) {
      if (z[i] > z[best]) {
        best = i;
      }
    }
    return best;
  }

  int inputSize();

  int numClasses();

  /** Whether input rows are token ids (see {@link TokenRows}). */
  boolean tokenInput();

  /** Vocabulary size including PAD (0 for dense models). */
  int vocabSize();

  /** Rank per adapted layer (empty for the frozen base). */
  Map<String, Integer> ranks();

  /** Which engine computes it, for logs and metrics: {@code java} or {@code djl:<device>}. */
  String engine();

  /**
   * Tells the model its owner dropped it (it left the version history). A model holding device
   * memory frees it once the last request still using it returns; a host model does nothing.
   */
  default void retire() {}
}
