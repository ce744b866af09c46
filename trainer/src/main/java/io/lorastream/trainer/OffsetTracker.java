package io.lorastream.trainer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.TopicPartition;

/**
 * Offset bookkeeping that makes trainer crash recovery exact. Every polled input record is either
 * <em>pending</em> (an example that will be trained but whose gradient is not yet applied to A/B)
 * or <em>passed</em> (another task's example, a bad record, a transaction marker gap). Per partition
 * the <em>frontier</em> is the first offset that is not yet settled: the oldest pending record, or,
 * when nothing is pending, the position after everything polled. A snapshot may only claim offsets
 * below the frontier, because only those are reflected in the adapter weights it carries; anything
 * after it is re-read after a restart. {@link #cut()} yields one range per partition from the end
 * of the previous committed cut to the frontier, so the ranges of committed snapshots tile each
 * partition's offset space exactly once. Pending records settle in poll order (micro-batches are
 * assembled in that order), which is why a single global FIFO suffices. Bad records are passed
 * like any skipped record but also remembered, so that a cut can say how many of them it claims:
 * a published bad-record count then counts each bad record exactly once, by the snapshot that
 * claims its offset, however often crashes and rollbacks make the trainer read it. Not
 * thread-safe: owned by the trainer thread.
 */
public final class OffsetTracker {

  /** One partition's covered range {@code [from, until)} in a cut. */
  public record Range(TopicPartition partition, long from, long until) {
    public long size() {
      return until - from;
    }
  }

  /**
   * The ranges of one prospective snapshot, one per known partition (possibly empty), and how many
   * bad records lie in them.
   */
  public record Cut(List<Range> ranges, long badRecords) {
    public Cut {
      ranges = List.copyOf(ranges);
      if (badRecords < 0) {
        throw new IllegalArgumentException("negative bad-record count " + badRecords);
      }
    }

    public Cut(List<Range> ranges) {
      this(ranges, 0);
    }

    /** Where a consumer resumes after this cut is committed: partition → untilOffset. */
    public Map<TopicPartition, Long> untilOffsets() {
      Map<TopicPartition, Long> m = new LinkedHashMap<>();
      ranges.forEach(r -> m.put(r.partition(), r.until()));
      return m;
    }

    /** Number of offsets covered (records plus any gaps such as transaction markers). */
    public long coveredOffsets() {
      return ranges.stream().mapToLong(Range::size).sum();
    }

    public boolean isEmpty() {
      return coveredOffsets() == 0;
    }

    /** For log lines: {@code partition:[from,until)} per range. */
    public String describe() {
      StringBuilder sb = new StringBuilder();
      for (Range r : ranges) {
        sb.append(sb.length() > 0 ? " " : "").append(r.partition().partition()).append(":[").append(r.from())
            .append(',').append(r.until()).append(')');
      }
      return sb.toString();
    }
  }

  private static final Comparator<TopicPartition> ORDER =
      Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition);

  private static final class PartitionState {
    long committed;
    long polledUntil;
    final ArrayDeque<Long> pending = new ArrayDeque<>();
    /** Offsets of bad records at or after {@code committed}, ascending. */
    final ArrayDeque<Long> bad = new ArrayDeque<>();

    long frontier() {
      return pending.isEmpty() ? polledUntil : pending.peekFirst();
    }

    long badBelow(long offset) {
      long n = 0;
      for (long o : bad) {
        if (o >= offset) {
          break;
        }
        n++;
      }
      return n;
    }
  }

  private final Map<TopicPartition, PartitionState> partitions = new TreeMap<>(ORDER);
  private final ArrayDeque<TopicPartition> pendingOrder = new ArrayDeque<>();

  /**
   * Declares a partition whose last committed snapshot ended at {@code position} (or that starts
   * at its beginning). Re-declaring resets the partition to that position.
   */
  public void start(TopicPartition tp, long position) {
    if (position < 0) {
      throw new IllegalArgumentException("negative start position " + position + " for " + tp);
    }
    if (!pendingOrder.isEmpty()) {
      throw new IllegalStateException("cannot (re)start " + tp + " while " + pendingOrder.size() + " records are pending");
    }
    PartitionState s = new PartitionState();
    s.committed = position;
    s.polledUntil = position;
    partitions.put(tp, s);
  }

  /**
   * Records one polled record. {@code pending} means it will be trained and must not be claimed by
   * a snapshot until {@link #settle(int)} says its gradient has been applied.
   */
  public void polled(TopicPartition tp, long offset, boolean pending) {
    PartitionState s = state(tp);
    if (offset < s.polledUntil) {
      throw new IllegalStateException("offset " + offset + " of " + tp + " polled twice or out of order (already at "
          + s.polledUntil + ")");
    }
    s.polledUntil = offset + 1;
    if (pending) {
      s.pending.addLast(offset);
      pendingOrder.addLast(tp);
    }
  }

  /**
   * Records one polled record that is skipped as bad (undecodable, invalid): passed like a skipped
   * record, and counted by the cut that claims its offset.
   */
  public void polledBad(TopicPartition tp, long offset) {
    polled(tp, offset, false);
    state(tp).bad.addLast(offset);
  }

  /** Bad records polled since the last committed cut (claimable or not yet). */
  public long uncommittedBadRecords() {
    long n = 0;
    for (PartitionState s : partitions.values()) {
      n += s.bad.size();
    }
    return n;
  }

  /**
   * Tells the tracker the consumer's position on {@code tp} after a poll. Positions can run ahead
   * of the last returned record (transaction markers, aborted records); claiming those offsets too
   * keeps the tiling gap-free. Never moves backwards.
   */
  public void observePosition(TopicPartition tp, long position) {
    PartitionState s = state(tp);
    if (position > s.polledUntil) {
      s.polledUntil = position;
    }
  }

  /** Marks the {@code n} oldest pending records (global poll order) as reflected in the weights. */
  public void settle(int n) {
    if (n < 0 || n > pendingOrder.size()) {
      throw new IllegalArgumentException("cannot settle " + n + " records, " + pendingOrder.size() + " are pending");
    }
    for (int i = 0; i < n; i++) {
      TopicPartition tp = pendingOrder.pollFirst();
      partitions.get(tp).pending.pollFirst();
    }
  }

  public int pendingCount() {
    return pendingOrder.size();
  }

  /** First offset of {@code tp} not yet settled. */
  public long frontier(TopicPartition tp) {
    return state(tp).frontier();
  }

  /** End of the last committed cut for {@code tp}: where a restart would resume. */
  public long committed(TopicPartition tp) {
    return state(tp).committed;
  }

  /** True when some partition has settled offsets beyond its last committed cut. */
  public boolean hasUncommittedProgress() {
    for (PartitionState s : partitions.values()) {
      if (s.frontier() > s.committed) {
        return true;
      }
    }
    return false;
  }

  /** The ranges a snapshot cut now would cover; does not change any state. */
  public Cut cut() {
    List<Range> ranges = new ArrayList<>(partitions.size());
    long bad = 0;
    for (Map.Entry<TopicPartition, PartitionState> e : partitions.entrySet()) {
      PartitionState s = e.getValue();
      ranges.add(new Range(e.getKey(), s.committed, s.frontier()));
      bad += s.badBelow(s.frontier());
    }
    return new Cut(ranges, bad);
  }

  /** Records that the snapshot carrying {@code cut} was committed. */
  public void committed(Cut cut) {
    for (Range r : cut.ranges()) {
      PartitionState s = state(r.partition());
      if (s.committed != r.from() || r.until() < r.from() || r.until() > s.frontier()) {
        throw new IllegalStateException("cut " + r + " does not extend the committed position " + s.committed
            + " (frontier " + s.frontier() + ")");
      }
    }
    for (Range r : cut.ranges()) {
      PartitionState s = state(r.partition());
      s.committed = r.until();
      while (!s.bad.isEmpty() && s.bad.peekFirst() < r.until()) {
        s.bad.pollFirst();
      }
    }
  }

  /**
   * Forgets everything after the last committed cut (after an aborted transaction) and returns the
   * positions the consumer must seek to so the forgotten records are read again.
   */
  public Map<TopicPartition, Long> rollback() {
    pendingOrder.clear();
    Map<TopicPartition, Long> seek = new LinkedHashMap<>();
    partitions.forEach((tp, s) -> {
      s.pending.clear();
      s.bad.clear();
      s.polledUntil = s.committed;
      seek.put(tp, s.committed);
    });
    return Collections.unmodifiableMap(seek);
  }

  public List<TopicPartition> partitions() {
    return List.copyOf(partitions.keySet());
  }

  private PartitionState state(TopicPartition tp) {
    PartitionState s = partitions.get(tp);
    if (s == null) {
      throw new IllegalStateException("partition " + tp + " was never started");
    }
    return s;
  }
}
