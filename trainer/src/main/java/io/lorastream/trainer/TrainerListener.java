package io.lorastream.trainer;

import java.util.Map;

/**
 * Callbacks for the demo and tests. Every method has a no-op default, runs on the trainer thread
 * and must return quickly; an exception thrown by a listener is logged and otherwise ignored, so a
 * broken dashboard never stops training.
 */
public interface TrainerListener {
  TrainerListener NONE = new TrainerListener() { };

  /** After every trained micro-batch (whether or not it completed an optimizer step). */
  default void onStep(StepStats stats) {
  }

  /**
   * After every trained micro-batch that was not skipped, in input order: the true labels and the
   * classes the adapter predicted for the same examples BEFORE training on them (test-then-train),
   * i.e. the prequential score of this micro-batch. The arrays must not be modified.
   */
  default void onScored(int[] labels, int[] predictions) {
  }

  /**
   * After a snapshot transaction committed. {@code commitWallTimeMillis} is
   * {@code System.currentTimeMillis()} right after {@code commitTransaction()} returned, the
   * reference point for measuring how fast consumers swap the new version in.
   */
  default void onSnapshotCommitted(String adapterId, long version, Map<String, Integer> ranks, long bytes,
      long commitWallTimeMillis, long examplesSeen) {
  }

  /**
   * After every (re)start and every re-read of the committed state: the restored version (0 for a
   * fresh adapter) and the examples it had seen, before anything new is trained.
   */
  default void onRestored(String adapterId, long version, long examplesSeen) {
  }

  /**
   * Where the trainer binds the metrics of its long-lived Kafka clients (roles {@code input}, the
   * training consumer, and {@code snapshots}, the transactional producer). Asked once, when the
   * trainer is created; a service with a metrics endpoint returns its own.
   */
  default io.lorastream.metrics.KafkaClientMeters kafkaClientMeters() {
    return io.lorastream.metrics.KafkaClientMeters.NONE;
  }

  /** Once, when the trainer stops; {@code cause} is null after a clean {@code close()}. */
  default void onStopped(Throwable cause) {
  }
}
