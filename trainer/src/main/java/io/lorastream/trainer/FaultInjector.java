package io.lorastream.trainer;

/**
 * A hook the trainer calls at the points where a crash is most dangerous for exactly-once
 * recovery, so that a chaos test can throw (simulating a kill: the trainer stops at once, without a
 * final snapshot, leaving any open transaction to be aborted by its successor) or block there.
 * Production code uses {@link #NONE}. Calls happen on the trainer thread, except the two points
 * inside the snapshot transaction ({@link #BEFORE_SEND}, {@link #AFTER_SEND_BEFORE_COMMIT}), which
 * run on the publisher thread; calls never overlap. A fault that is not a KafkaException kills the
 * trainer: later fault points of that instance rethrow it without calling the injector again.
 */
@FunctionalInterface
public interface FaultInjector {
  /** At a (re)start: predecessors fenced ({@code initTransactions} done), the committed state not yet read. */
  String BEFORE_RESTORE = "before-restore";
  /** After {@code poll()} returned records, before any of them is trained. */
  String AFTER_POLL = "after-poll";
  /** After a micro-batch was trained, before its offsets can be claimed by a snapshot. */
  String AFTER_TRAIN = "after-train";
  /** Transaction begun, nothing sent yet. */
  String BEFORE_SEND = "before-send";
  /** Snapshot, metrics and offsets sent (flushed to the broker) inside the open transaction, not yet committed. */
  String AFTER_SEND_BEFORE_COMMIT = "after-send-before-commit";
  /** The transaction is committed. */
  String AFTER_COMMIT = "after-commit";

  FaultInjector NONE = point -> { };

  /** Called at {@code point}; any exception thrown here stops the trainer like a crash. */
  void at(String point);
}
