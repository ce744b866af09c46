package io.lorastream.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class PairedStatsTest {

  private static String outcomes(int onlyA, int onlyB, int both, int neither) {
    return "1".repeat(onlyA) + "0".repeat(onlyB) + "1".repeat(both) + "0".repeat(neither);
  }

  private static String other(int onlyA, int onlyB, int both, int neither) {
    return "0".repeat(onlyA) + "1".repeat(onlyB) + "1".repeat(both) + "0".repeat(neither);
  }

  @Test
  void mcNemarIsExactForFewDiscordantExamplesAndChiSquareForMany() {
    PairedStats.McNemar exact = PairedStats.mcNemar(outcomes(10, 2, 50, 5), other(10, 2, 50, 5));
    assertThat(exact.onlyA()).isEqualTo(10);
    assertThat(exact.onlyB()).isEqualTo(2);
    // 2 * P(X <= 2), X ~ Bin(12, 1/2) = 2 * (1 + 12 + 66) / 4096
    assertThat(exact.pValue()).isCloseTo(2.0 * 79 / 4096, within(1e-12));
    PairedStats.McNemar chi = PairedStats.mcNemar(outcomes(60, 40, 10, 0), other(60, 40, 10, 0));
    // (|60 - 40| - 1)^2 / 100 = 3.61; P(chi2_1 > 3.61) = 0.05743
    assertThat(chi.pValue()).isCloseTo(0.05743, within(2e-5));
    assertThat(PairedStats.mcNemar("1100", "1100").pValue()).isEqualTo(1.0);
  }

  @Test
  void erfcMatchesKnownValues() {
    assertThat(PairedStats.erfc(0)).isCloseTo(1.0, within(1e-7));
    assertThat(PairedStats.erfc(1)).isCloseTo(0.157299207, within(1e-7));
    assertThat(PairedStats.erfc(2)).isCloseTo(0.004677735, within(1e-8));
  }

  @Test
  void blockBootstrapIntervalsCoverTheObservedDifferenceAndShrinkToAPointWhenThereIsNoSpread() {
    String all = "1".repeat(400);
    String none = "0".repeat(400);
    PairedStats.Interval certain = PairedStats.blockBootstrap(all, none, 50, 500, 1);
    assertThat(certain.difference()).isEqualTo(1.0);
    assertThat(certain.low()).isEqualTo(1.0);
    assertThat(certain.high()).isEqualTo(1.0);
    assertThat(certain.blocks()).isEqualTo(8);
    Random rnd = new Random(3);
    StringBuilder a = new StringBuilder();
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 2000; i++) {
      a.append(rnd.nextDouble() < 0.9 ? '1' : '0');
      b.append(rnd.nextDouble() < 0.85 ? '1' : '0');
    }
    PairedStats.Interval ci = PairedStats.blockBootstrap(a.toString(), b.toString(), 100, 2000, 5);
    assertThat(ci.low()).isLessThan(ci.difference());
    assertThat(ci.high()).isGreaterThan(ci.difference());
    assertThat(ci.low()).as("a 5-point gap over 2,000 examples is resolved").isGreaterThan(0);
    assertThat(ci.high() - ci.low()).isLessThan(0.06);
    assertThatThrownBy(() -> PairedStats.blockBootstrap("10", "1", 1, 100, 1)).hasMessageContaining("same");
  }
}
