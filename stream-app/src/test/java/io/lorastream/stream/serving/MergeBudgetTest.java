package io.lorastream.stream.serving;

import static io.lorastream.stream.serving.VersionedAdapters.X;
import static io.lorastream.stream.serving.VersionedAdapters.mismatch;
import static io.lorastream.stream.serving.VersionedAdapters.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.lora.snapshot.SnapshotCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MergeBudgetTest {
  private BaseModel base;

  @BeforeEach
  void setUp() {
    base = VersionedAdapters.zeroBase();
  }

  @AfterEach
  void tearDown() {
    base.close();
  }

  private LazyMerged version(long v, MergeBudget budget) {
    ServingEngine java = ServingEngine.choose("java", base);
    return new LazyMerged(SnapshotCodec.decode(snapshot("t", v, base), base, null), base, java, java.ofBase(base),
        budget);
  }

  @Test
  void theLeastRecentlyUsedVersionIsEvictedAndMergedAgainByItsNextRequest() {
    LazyMerged probe = version(1, MergeBudget.unlimited());
    assertThat(probe.mergedBytes()).as("fc0 (2x2) and head (3x2), float32").isEqualTo(40);
    MergeBudget budget = new MergeBudget(2 * probe.mergedBytes());
    LazyMerged a = version(1, budget);
    LazyMerged b = version(2, budget);
    LazyMerged c = version(3, budget);
    a.warm();
    b.warm();
    a.predictProba(X); // a is now more recent than b
    c.warm();
    assertThat(a.isMerged()).isTrue();
    assertThat(b.isMerged()).as("the least recently used goes").isFalse();
    assertThat(c.isMerged()).isTrue();
    assertThat(budget.mergedBytes()).isEqualTo(80);
    assertThat(budget.evictions()).isEqualTo(1);

    float[] p = b.predictProba(X); // a cold request merges b again and evicts a (older than c)
    assertThat(mismatch(2, p)).isNull();
    assertThat(b.isMerged()).isTrue();
    assertThat(a.isMerged()).isFalse();
    assertThat(budget.coldMerges()).isEqualTo(1);
    assertThat(budget.coldMergeMaxMillis()).isPositive();
    assertThat(budget.mergedVersions()).isEqualTo(2);
    assertThat(mismatch(1, a.predictProba(X))).isNull();
    assertThat(mismatch(3, c.predictProba(X))).isNull();
    assertThat(budget.mergedBytes()).isLessThanOrEqualTo(budget.budgetBytes());
    assertThat(a.compactBytes()).as("A and B of both layers").isEqualTo(4 * (2 + 2 + 4 + 6));
  }

  @Test
  void aRetiredVersionLeavesTheBudgetAndRefusesNewRequests() {
    MergeBudget budget = new MergeBudget(1000);
    LazyMerged a = version(1, budget);
    a.warm();
    assertThat(budget.mergedVersions()).isEqualTo(1);
    a.retire();
    assertThat(budget.mergedVersions()).isZero();
    assertThat(budget.mergedBytes()).isZero();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.predictProba(X))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("retired");
  }
}
