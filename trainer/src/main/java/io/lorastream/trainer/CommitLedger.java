package io.lorastream.trainer;

import io.lorastream.lora.snapshot.DecodedAdapter;

/**
 * What the adapter has committed, kept by the trainer thread: the last committed snapshot (the
 * state a rollback returns to), the highest version used (new versions continue from it), and the
 * published counters, exactly once like examplesSeen: the values of the last committed snapshot
 * (restored on start) plus what the next cut adds. Bad records are counted by the cut that claims
 * their offsets ({@link OffsetTracker}); skipped micro-batches by the cut that settles them.
 */
final class CommitLedger {
  private DecodedAdapter lastCommitted;
  private long lastVersion;
  private long badCommitted;
  private long skippedCommitted;
  private long skippedSinceCommit;
  private long snapshotsCommitted;
  private long transactionsAborted;
  /** Tombstones on the adapters topic ignored as unauthentic at the last (re)start. */
  private int ignoredDeletions;
  /** Publish at once: an ignored deletion is the newest record after the restored snapshot. */
  private boolean supersedeDeletion;

  /** At a (re)start: the state read from the adapters topic. */
  void restored(CommittedStateReader.State s) {
    lastVersion = s.found().maxVersion();
    lastCommitted = s.snapshot();
    badCommitted = s.counter(SnapshotMetrics.SNAPSHOT_BAD_RECORDS);
    skippedCommitted = s.counter(SnapshotMetrics.SNAPSHOT_SKIPPED_NON_FINITE);
    skippedSinceCommit = 0;
    ignoredDeletions = s.found().ignoredDeletions();
    supersedeDeletion = s.found().supersedeDeletion();
  }

  /** A transaction committed; {@code skippedAtCut} is what the cut counted, later skips stay pending. */
  void committed(long version, DecodedAdapter verified, SnapshotMetrics.Values values, long skippedAtCut) {
    supersedeDeletion = false;
    badCommitted = values.badRecords();
    skippedCommitted = values.skippedNonFiniteBatches();
    skippedSinceCommit -= skippedAtCut;
    lastVersion = version;
    lastCommitted = verified;
    snapshotsCommitted++;
  }

  /** Back to the last committed snapshot: what was skipped since is skipped again on the re-read. */
  void rolledBack() {
    skippedSinceCommit = 0;
  }

  void aborted() {
    transactionsAborted++;
  }

  void skippedMicroBatch() {
    skippedSinceCommit++;
  }

  /** The last committed snapshot, or null for a fresh adapter. */
  DecodedAdapter lastCommitted() {
    return lastCommitted;
  }

  long lastCommittedVersion() {
    return lastCommitted == null ? 0 : lastCommitted.version();
  }

  long lastVersion() {
    return lastVersion;
  }

  long nextVersion() {
    return lastVersion + 1;
  }

  long badCommitted() {
    return badCommitted;
  }

  /** Skipped micro-batches in the adapter's history, including those since the last commit. */
  long skippedTotal() {
    return skippedCommitted + skippedSinceCommit;
  }

  /** Skips not yet claimed by a cut. */
  long skippedSinceCommit() {
    return skippedSinceCommit;
  }

  long snapshotsCommitted() {
    return snapshotsCommitted;
  }

  long transactionsAborted() {
    return transactionsAborted;
  }

  int ignoredDeletions() {
    return ignoredDeletions;
  }

  boolean supersedeDeletion() {
    return supersedeDeletion;
  }
}
