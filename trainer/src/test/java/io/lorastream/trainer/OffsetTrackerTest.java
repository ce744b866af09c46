package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.trainer.OffsetTracker.Cut;
import io.lorastream.trainer.OffsetTracker.Range;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class OffsetTrackerTest {
  private static final TopicPartition P0 = new TopicPartition("examples.train", 0);
  private static final TopicPartition P1 = new TopicPartition("examples.train", 1);

  @Test
  void pendingRecordsAreNotClaimedUntilSettled() {
    OffsetTracker t = new OffsetTracker();
    t.start(P0, 0);
    t.polled(P0, 0, true);
    t.polled(P0, 1, false); // another task's record behind a pending one
    t.polled(P0, 2, true);
    assertThat(t.cut().ranges()).containsExactly(new Range(P0, 0, 0));
    assertThat(t.hasUncommittedProgress()).isFalse();

    t.settle(1);
    // offset 1 is passed but 2 is pending: the frontier stops at 2, covering 0 and 1
    assertThat(t.frontier(P0)).isEqualTo(2);
    t.settle(1);
    assertThat(t.frontier(P0)).isEqualTo(3);
    assertThat(t.cut().ranges()).containsExactly(new Range(P0, 0, 3));
  }

  @Test
  void consecutiveCommittedCutsTileEachPartition() {
    OffsetTracker t = new OffsetTracker();
    t.start(P0, 5);
    t.start(P1, 0);
    t.polled(P0, 5, true);
    t.polled(P1, 0, true);
    t.polled(P1, 1, true);
    t.settle(2);
    Cut first = t.cut();
    assertThat(first.ranges()).containsExactly(new Range(P0, 5, 6), new Range(P1, 0, 1));
    t.committed(first);
    t.settle(1);
    Cut second = t.cut();
    assertThat(second.ranges()).containsExactly(new Range(P0, 6, 6), new Range(P1, 1, 2));
    assertThat(second.untilOffsets()).containsEntry(P0, 6L).containsEntry(P1, 2L);
  }

  @Test
  void observedPositionCoversTransactionMarkersOnlyWhenNothingIsPending() {
    OffsetTracker t = new OffsetTracker();
    t.start(P0, 0);
    t.polled(P0, 0, true);
    t.observePosition(P0, 2); // offset 1 was a commit marker
    assertThat(t.frontier(P0)).isZero();
    t.settle(1);
    assertThat(t.frontier(P0)).isEqualTo(2);
    t.observePosition(P0, 1); // never backwards
    assertThat(t.frontier(P0)).isEqualTo(2);
  }

  /**
   * Regression (chaos IT): the published bad-record count was an instance counter, so a rollback
   * re-read counted a bad record twice and a restart forgot earlier ones. A cut now counts only the
   * bad records whose offsets it claims.
   */
  @Test
  void aCutCountsExactlyTheBadRecordsItClaims() {
    OffsetTracker t = new OffsetTracker();
    t.start(P0, 0);
    t.start(P1, 0);
    t.polledBad(P0, 0);
    t.polled(P0, 1, true);
    t.polledBad(P0, 2); // behind a pending record: not claimable yet
    t.polledBad(P1, 0);
    assertThat(t.uncommittedBadRecords()).isEqualTo(3);
    Cut first = t.cut();
    assertThat(first.ranges()).containsExactly(new Range(P0, 0, 1), new Range(P1, 0, 1));
    assertThat(first.badRecords()).isEqualTo(2);
    t.committed(first);
    assertThat(t.uncommittedBadRecords()).isEqualTo(1);

    // A rollback forgets the unclaimed bad record; reading it again counts it once.
    t.rollback();
    assertThat(t.uncommittedBadRecords()).isZero();
    t.polled(P0, 1, true);
    t.polledBad(P0, 2);
    t.settle(1);
    Cut second = t.cut();
    assertThat(second.ranges()).containsExactly(new Range(P0, 1, 3), new Range(P1, 1, 1));
    assertThat(second.badRecords()).isEqualTo(1);
    t.committed(second);
    assertThat(t.cut().badRecords()).isZero();
    assertThat(t.uncommittedBadRecords()).isZero();
  }

  @Test
  void rollbackForgetsEverythingAfterTheLastCommittedCut() {
    OffsetTracker t = new OffsetTracker();
    t.start(P0, 0);
    t.polled(P0, 0, true);
    t.settle(1);
    t.committed(t.cut());
    t.polled(P0, 1, true);
    t.polled(P0, 2, false);
    t.settle(1);
    assertThat(t.rollback()).containsExactly(Map.entry(P0, 1L));
    assertThat(t.pendingCount()).isZero();
    assertThat(t.frontier(P0)).isEqualTo(1);
    // the same offsets can be polled again after the seek
    t.polled(P0, 1, true);
    assertThat(t.pendingCount()).isEqualTo(1);
  }

  @Test
  void misuseIsRejected() {
    OffsetTracker t = new OffsetTracker();
    assertThatThrownBy(() -> t.polled(P0, 0, true)).isInstanceOf(IllegalStateException.class);
    t.start(P0, 3);
    assertThatThrownBy(() -> t.polled(P0, 2, true)).hasMessageContaining("out of order");
    assertThatThrownBy(() -> t.settle(1)).isInstanceOf(IllegalArgumentException.class);
    t.polled(P0, 3, true);
    Cut stale = new Cut(List.of(new Range(P0, 0, 3)));
    assertThatThrownBy(() -> t.committed(stale)).hasMessageContaining("does not extend");
  }

  /**
   * A simulated trainer polls records of two partitions in random interleavings, trains some in
   * micro-batches, commits cuts at random moments and sometimes "crashes" (rollback). Every offset
   * must end up in exactly one committed range, and every committed range may only contain offsets
   * that were settled when it was cut.
   */
  @Test
  void randomizedCutsCoverEveryOffsetExactlyOnce() {
    Random rnd = new Random(7);
    for (int trial = 0; trial < 50; trial++) {
      int[] ends = {rnd.nextInt(200), rnd.nextInt(200)};
      TopicPartition[] tps = {P0, P1};
      OffsetTracker t = new OffsetTracker();
      long[] next = new long[2];
      for (TopicPartition tp : tps) {
        t.start(tp, 0);
      }
      Map<TopicPartition, List<Range>> committed = new HashMap<>();
      List<long[]> pending = new ArrayList<>(); // {partition, offset} in poll order
      while (next[0] < ends[0] || next[1] < ends[1]) {
        int action = rnd.nextInt(10);
        if (action < 5) {
          int p = rnd.nextInt(2);
          if (next[p] < ends[p]) {
            boolean train = rnd.nextInt(4) != 0;
            t.polled(tps[p], next[p], train);
            if (train) {
              pending.add(new long[] {p, next[p]});
            }
            next[p]++;
          }
        } else if (action < 8) {
          int n = rnd.nextInt(pending.size() + 1);
          t.settle(n);
          pending.subList(0, n).clear();
        } else if (action == 8) {
          Cut c = t.cut();
          for (Range r : c.ranges()) {
            // nothing pending may lie inside a claimed range
            for (long[] pr : pending) {
              if (tps[(int) pr[0]].equals(r.partition())) {
                assertThat(pr[1]).isGreaterThanOrEqualTo(r.until());
              }
            }
            committed.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r);
          }
          t.committed(c);
        } else if (rnd.nextInt(3) == 0) {
          Map<TopicPartition, Long> seek = t.rollback();
          pending.clear();
          next[0] = seek.get(P0);
          next[1] = seek.get(P1);
        }
      }
      // clean shutdown: the rest is trained and cut once more
      t.settle(pending.size());
      Cut last = t.cut();
      last.ranges().forEach(r -> committed.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r));
      t.committed(last);
      for (int p = 0; p < 2; p++) {
        int[] hits = new int[ends[p]];
        for (Range r : committed.getOrDefault(tps[p], List.of())) {
          for (long o = r.from(); o < r.until(); o++) {
            hits[(int) o]++;
          }
        }
        for (int o = 0; o < ends[p]; o++) {
          assertThat(hits[o]).as("trial %d partition %d offset %d", trial, p, o).isEqualTo(1);
        }
      }
    }
  }
}
