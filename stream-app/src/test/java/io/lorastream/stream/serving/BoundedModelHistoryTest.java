package io.lorastream.stream.serving;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.OffsetRange;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The version chosen for an example is never one trained on it, and is the newest that is not
 * (checked against a brute-force oracle over random snapshot histories).
 */
class BoundedModelHistoryTest {
  private static final String TRAIN = "examples.train";

  record Fake(long version) implements ScoringModel {
    @Override
    public int predict(LabeledExample example) {
      return 0;
    }
  }

  private static OffsetRange range(int p, long from, long until) {
    return OffsetRange.newBuilder().setTopic(TRAIN).setPartition(p).setFromOffset(from).setUntilOffset(until).build();
  }

  private static long versionFor(ModelHistory h, int p, long o) {
    return h.modelFor("t", p, o).map(ScoringModel::version).orElse(-1L);
  }

  @Test
  void picksTheNewestVersionTrainedOnlyOnEarlierOffsets() {
    BoundedModelHistory h = new BoundedModelHistory(TRAIN, 10, new Fake(0));
    assertThat(versionFor(h, 0, 0)).as("no adapter yet: the base serves").isZero();
    h.record("t", 1, List.of(range(0, 0, 10), range(1, 0, 5)), new Fake(1));
    h.record("t", 2, List.of(range(0, 10, 20), range(1, 5, 5)), new Fake(2));
    h.record("t", 3, List.of(range(0, 20, 30), range(1, 5, 12), OffsetRange.newBuilder(range(0, 99, 1000)).setTopic("other").build()),
        new Fake(3));
    assertThat(versionFor(h, 0, 9)).as("v1 trained on offset 9").isZero();
    assertThat(versionFor(h, 0, 10)).isEqualTo(1);
    assertThat(versionFor(h, 0, 19)).isEqualTo(1);
    assertThat(versionFor(h, 0, 20)).isEqualTo(2);
    assertThat(versionFor(h, 0, 30)).isEqualTo(3);
    assertThat(versionFor(h, 0, 5000)).as("ranges of other topics are ignored").isEqualTo(3);
    assertThat(versionFor(h, 1, 4)).isZero();
    assertThat(versionFor(h, 1, 5)).as("v2 consumed nothing new on p1").isEqualTo(2);
    assertThat(versionFor(h, 1, 12)).isEqualTo(3);
    assertThat(versionFor(h, 7, 1)).as("a partition no snapshot mentions is unknown, not untrained").isZero();
    assertThat(h.current("t").version()).isEqualTo(3);
    assertThat(h.current("other-task").version()).isZero();
  }

  @Test
  void olderOrEqualVersionsAreIgnored() {
    BoundedModelHistory h = new BoundedModelHistory(TRAIN, 10, new Fake(0));
    assertThat(h.record("t", 5, List.of(range(0, 0, 10)), new Fake(5))).isTrue();
    assertThat(h.record("t", 5, List.of(range(0, 10, 20)), new Fake(5))).isFalse();
    assertThat(h.record("t", 4, List.of(range(0, 10, 20)), new Fake(4))).isFalse();
    assertThat(h.retainedVersions("t")).containsExactly(5L);
  }

  @Test
  void whenTheQualifyingVersionWasEvictedItSaysSoInsteadOfGuessingTheBase() {
    BoundedModelHistory h = new BoundedModelHistory(TRAIN, 2, new Fake(0));
    h.record("t", 1, List.of(range(0, 0, 10)), new Fake(1));
    h.record("t", 2, List.of(range(0, 10, 20)), new Fake(2));
    assertThat(versionFor(h, 0, 5)).as("v1's predecessor trained on nothing").isZero();
    h.record("t", 3, List.of(range(0, 20, 30)), new Fake(3));
    assertThat(h.retainedVersions("t")).containsExactly(2L, 3L);
    assertThat(versionFor(h, 0, 15)).as("v1 qualified but is gone").isEqualTo(-1);
    assertThat(versionFor(h, 0, 5)).as("base would be a guess: v1 may have served").isEqualTo(-1);
    assertThat(versionFor(h, 0, 25)).isEqualTo(2);
  }

  @Test
  void aHistoryJoinedMidStreamDoesNotPretendTheBaseServedEarlierOffsets() {
    BoundedModelHistory h = new BoundedModelHistory(TRAIN, 5, new Fake(0));
    // First snapshot seen (e.g. the only one left after compaction) starts at offset 40.
    h.record("t", 7, List.of(range(0, 40, 50)), new Fake(7));
    assertThat(versionFor(h, 0, 45)).isEqualTo(-1);
    assertThat(versionFor(h, 0, 50)).isEqualTo(7);
  }

  @Test
  void randomHistoriesNeverServeAModelTrainedOnTheExampleAndMatchTheOracle() {
    Random rnd = new Random(7);
    for (int trial = 0; trial < 200; trial++) {
      int partitions = 1 + rnd.nextInt(3);
      int capacity = 1 + rnd.nextInt(6);
      BoundedModelHistory h = new BoundedModelHistory(TRAIN, capacity, new Fake(0));
      long[] pos = new long[partitions];
      long start = rnd.nextInt(4) == 0 ? rnd.nextInt(20) : 0;
      java.util.Arrays.fill(pos, start);
      // Oracle: every version with its cumulative positions.
      List<Map<Integer, Long>> positions = new ArrayList<>();
      List<Long> versions = new ArrayList<>();
      long version = 0;
      int snapshots = 1 + rnd.nextInt(12);
      for (int s = 0; s < snapshots; s++) {
        version += 1 + rnd.nextInt(3);
        List<OffsetRange> ranges = new ArrayList<>();
        Map<Integer, Long> cumulative = new HashMap<>();
        // The trainer only publishes after training on something: at least one partition advances.
        int advancing = rnd.nextInt(partitions);
        for (int p = 0; p < partitions; p++) {
          long from = pos[p];
          pos[p] += p == advancing ? 1 + rnd.nextInt(15) : rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(15);
          ranges.add(range(p, from, pos[p]));
          cumulative.put(p, pos[p]);
        }
        h.record("t", version, ranges, new Fake(version));
        positions.add(cumulative);
        versions.add(version);
      }
      for (int q = 0; q < 100; q++) {
        int p = rnd.nextInt(partitions);
        long o = rnd.nextInt((int) pos[p] + 10);
        // The newest version not trained on (p, o), or the base when every version was.
        long expected = 0;
        for (int i = versions.size() - 1; i >= 0; i--) {
          if (positions.get(i).get(p) <= o) {
            expected = versions.get(i);
            break;
          }
        }
        Optional<ScoringModel> got = h.modelFor("t", p, o);
        if (got.isPresent()) {
          long v = got.get().version();
          int idx = versions.indexOf(v);
          if (v != 0) {
            assertThat(positions.get(idx).get(p)).as("version %d must not have trained on %d@%d", v, p, o)
                .isLessThanOrEqualTo(o);
          }
          assertThat(v).as("trial %d: newest qualifying version for %d@%d", trial, p, o).isEqualTo(expected);
        } else {
          assertThat(h.retainedVersions("t")).as("empty only when the qualifying version is not retained")
              .doesNotContain(expected);
        }
        if (expected != 0 && h.retainedVersions("t").contains(expected)) {
          assertThat(got).isPresent();
        }
      }
    }
  }
}
