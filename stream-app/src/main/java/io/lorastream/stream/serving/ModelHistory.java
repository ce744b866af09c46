package io.lorastream.stream.serving;

import java.util.Optional;

/**
 * The models the evaluator may score an example with. Prequential evaluation must never use a
 * model that was trained on the example itself, so {@link #modelFor} answers by input position:
 * the newest adapter version whose snapshot covers only offsets below the example's offset on its
 * {@code examples.train} partition, or the frozen base when no adapter qualifies. Implementations
 * are fed from the adapter subscriber on another thread and must be safe for concurrent reads.
 */
public interface ModelHistory {

  /**
   * The newest model of {@code task} not trained on offset {@code offset} of {@code examples.train}
   * partition {@code partition}; empty when the qualifying version is no longer (or not yet) known,
   * in which case the caller must skip rather than guess.
   */
  Optional<ScoringModel> modelFor(String task, int partition, long offset);

  /** The model serving {@code task} now (newest adapter version, or the frozen base). */
  ScoringModel current(String task);

  /** The frozen base model (version 0), scored on every example for comparison. */
  ScoringModel frozen();
}
