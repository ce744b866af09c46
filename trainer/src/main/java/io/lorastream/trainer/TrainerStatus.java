package io.lorastream.trainer;

import java.util.Map;

/**
 * A read-only picture of a running trainer, refreshed after every poll and every micro-batch, for
 * status lines and tests. {@code examplesSeen} counts examples handed to the learner (cumulative
 * across restarts, as in snapshots); {@code examplesBuffered} those read but waiting for a full
 * micro-batch. {@code badRecords} and {@code skippedNonFiniteBatches} are cumulative too: the
 * counts of the last committed snapshot plus those met since, each record or micro-batch counted
 * once however often a rollback or restart makes the trainer read it again.
 * {@code recordsPolled} and {@code otherTaskRecords} count this instance's reads. {@code inputLag} is how many
 * input offsets the consumer still has to read up to the last stable offset it knows of (summed
 * over partitions; -1 until every partition has been fetched): 0 together with no buffered
 * examples means everything committed to the input so far has been read. {@code stalledOn} is
 * null while the trainer makes progress; while a Kafka operation it needs (a commit, the
 * acknowledgement of a snapshot, reading its committed state at a start) times out because the
 * broker is down, restarting or unreachable, it names what the trainer is retrying, e.g.
 * {@code "committing v12"} (an idle trainer has nothing to retry and does not notice), and
 * {@code stallRetries} counts the operations this instance retried because Kafka (or, for a
 * snapshot's schema, the registry) did not answer. A stalled
 * trainer needs no action: it resumes by itself once the broker is back. {@code ignoredDeletions}
 * counts the tombstones on {@code adapters} that the last (re)start ignored because a signing key
 * is set and they were not signed with it (see {@code AdapterDeletion}).
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
    Map<String, Integer> ranks,
    String stalledOn,
    long stallRetries,
    int ignoredDeletions) {

  /** Lifecycle of a trainer. */
  public enum State { CREATED, STARTING, RUNNING, STOPPING, STOPPED }

  public TrainerStatus {
    ranks = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(ranks));
  }

  /** The same figures in another state and stall, e.g. while the learner is being (re)built. */
  TrainerStatus with(State newState, String newStalledOn, long newStallRetries, int newIgnoredDeletions) {
    return new TrainerStatus(adapterId, newState, optimizerStep, examplesSeen, examplesBuffered, recordsPolled,
        otherTaskRecords, badRecords, skippedNonFiniteBatches, lastCommittedVersion, snapshotsCommitted,
        transactionsAborted, inputLag, lossEma, ranks, newStalledOn, newStallRetries, newIgnoredDeletions);
  }

  static TrainerStatus initial(String adapterId) {
    return new TrainerStatus(adapterId, State.CREATED, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, Double.NaN, Map.of(), null, 0, 0);
  }
}
