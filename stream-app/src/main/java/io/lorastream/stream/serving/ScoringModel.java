package io.lorastream.stream.serving;

import io.lorastream.avro.LabeledExample;

/**
 * One immutable model the evaluator can score with: the frozen base (version 0) or the base merged
 * with one adapter version. Implementations wrap whatever the inference side builds (merged
 * weights); the evaluator only needs the arg-max class. Must be safe to call from several threads.
 */
public interface ScoringModel {
  /** Adapter version this model embodies; 0 for the frozen base. */
  long version();

  /** The predicted class of {@code example} (dense features or tokens, whichever the model reads). */
  int predict(LabeledExample example);

  /** Called once when the model's owner drops it; it may free device memory. */
  default void retire() {}
}
