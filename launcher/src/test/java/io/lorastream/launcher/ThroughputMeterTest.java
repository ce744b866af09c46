package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Rates per second over a sliding window from cumulative counts, restarting when a count goes down. */
class ThroughputMeterTest {
  private static final long S = 1_000_000_000L;

  @Test
  void zeroUntilTwoSamples() {
    ThroughputMeter m = new ThroughputMeter(Duration.ofSeconds(10));
    assertThat(m.perSecond()).isZero();
    m.sample(5 * S, 100);
    assertThat(m.perSecond()).isZero();
  }

  @Test
  void rateOverTheWindowForgetsOlderSamples() {
    ThroughputMeter m = new ThroughputMeter(Duration.ofSeconds(10));
    long count = 0;
    for (int t = 0; t <= 10; t++) {
      m.sample(t * S, count);
      count += 1000; // 1000/s for the first 10 s
    }
    assertThat(m.perSecond()).isCloseTo(1000, org.assertj.core.data.Offset.offset(1e-9));
    count -= 1000;
    for (int t = 11; t <= 30; t++) {
      count += 200; // then 200/s
      m.sample(t * S, count);
    }
    assertThat(m.perSecond()).isCloseTo(200, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void aCountThatGoesDownStartsOver() {
    ThroughputMeter m = new ThroughputMeter(Duration.ofSeconds(10));
    m.sample(0, 500);
    m.sample(S, 1500);
    m.sample(2 * S, 10); // restarted source
    assertThat(m.perSecond()).isZero();
    m.sample(3 * S, 60);
    assertThat(m.perSecond()).isEqualTo(50.0);
  }

  @Test
  void rejectsNonPositiveWindow() {
    assertThatThrownBy(() -> new ThroughputMeter(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
  }
}
