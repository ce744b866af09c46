package io.lorastream.trainer;

import java.util.Map;

/**
 * A read-only picture of a running trainer, refreshed after every poll and every micro-batch, for
 * status lines and tests. {@code examplesSeen} counts examples handed to the learner (cumulative
 * across restarts, as in snapshots); {@code examplesBuffered} those read but waiting for a full
 * micro-batch; the record counters are for this instance only. {@code inputLag} is how many
 * input offsets the consumer still has to read up to the last stable offset it knows of (summed
 * over partitions; -1 until every partition has been fetched): 0 together with no buffered
 * examples means everything committed to the input so far has been read.
 */
public record TrainerStatus(
    String adapterId,
    State state,
    long optimizerStep,
    long examplesSeen,
    int examplesBuffered,
    long recordsPolled,
    long otherTaskRecords,
    long badRecords,
    long skippedNonFiniteBatches,
    long lastCommittedVersion,
    long snapshotsCommitted,
    long transactionsAborted,
    long inputLag,
    double lossEma,
    Map<String, Integer> ranks) {

  /** Lifecycle of a trainer. */
  public enum State { CREATED, STARTING, RUNNING, STOPPING, STOPPED }

  public TrainerStatus {
    ranks = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(ranks));
  }

  static TrainerStatus initial(String adapterId) {
    return new TrainerStatus(adapterId, State.CREATED, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, Double.NaN, Map.of());
  }
}
