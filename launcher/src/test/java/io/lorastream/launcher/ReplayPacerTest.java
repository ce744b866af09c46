package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ReplayPacerTest {
  private static final long MS = 1_000_000L;

  @Test
  void keepsTheRateAndCatchesUpASmallLag() {
    ReplayPacer p = new ReplayPacer(1000, 0, 200 * MS); // one example per ms
    assertThat(p.waitNanos(1, 0)).isEqualTo(MS);
    assertThat(p.waitNanos(10, 4 * MS)).isEqualTo(6 * MS);
    // 100 ms behind (sent 20 at 120 ms): within the bound, so the next ones go at once until caught up
    assertThat(p.waitNanos(20, 120 * MS)).isZero();
    assertThat(p.waitNanos(21, 120 * MS)).isZero();
    assertThat(p.waitNanos(119, 120 * MS)).isZero();
    assertThat(p.waitNanos(121, 120 * MS)).isEqualTo(MS);
  }

  @Test
  void afterALongStallTheRateStartsOverInsteadOfBursting() {
    ReplayPacer p = new ReplayPacer(1000, 0, 200 * MS);
    assertThat(p.waitNanos(10, 10 * MS)).isZero();
    // paused until 1 s: 990 ms behind, more than the bound
    assertThat(p.waitNanos(11, 1000 * MS)).isZero();
    assertThat(p.waitNanos(12, 1000 * MS)).as("the backlog is not sent at full speed").isEqualTo(MS);
    assertThat(p.waitNanos(20, 1000 * MS)).isEqualTo(9 * MS);
  }

  @Test
  void refusesARateThatIsNotPositive() {
    assertThatThrownBy(() -> new ReplayPacer(0, 0, MS)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ReplayPacer(Double.NaN, 0, MS)).isInstanceOf(IllegalArgumentException.class);
  }
}
