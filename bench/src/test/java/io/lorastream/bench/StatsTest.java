package io.lorastream.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class StatsTest {

  @Test
  void nearestRankPercentilesAreMeasuredValues() {
    double[] oneToHundred = IntStream.rangeClosed(1, 100).asDoubleStream().toArray();
    assertThat(Stats.percentile(oneToHundred, 0.50)).isEqualTo(50);
    assertThat(Stats.percentile(oneToHundred, 0.99)).isEqualTo(99);
    assertThat(Stats.percentile(oneToHundred, 1.0)).isEqualTo(100);
    double[] oneToTen = IntStream.rangeClosed(1, 10).asDoubleStream().toArray();
    assertThat(Stats.percentile(oneToTen, 0.99)).isEqualTo(10); // rank ceil(9.9) = 10
    assertThat(Stats.percentile(oneToTen, 0.5)).isEqualTo(5);
    assertThat(Stats.percentile(new double[] {7}, 0.01)).isEqualTo(7);
  }

  @Test
  void doesNotDependOnInputOrderNorModifyIt() {
    double[] shuffled = {9, 1, 8, 2, 7, 3, 6, 4, 5, 10};
    double[] copy = shuffled.clone();
    assertThat(Stats.percentile(shuffled, 0.9)).isEqualTo(9);
    assertThat(shuffled).containsExactly(copy);
    assertThat(Stats.percentile(List.of(3L, 1L, 2L), 0.5)).isEqualTo(2);
  }

  @Test
  void emptyAndInvalidInputs() {
    assertThat(Stats.percentile(new double[0], 0.5)).isNaN();
    assertThat(Stats.median(new double[0])).isNaN();
    assertThatThrownBy(() -> Stats.percentile(new double[] {1}, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Stats.percentile(new double[] {1}, 1.5)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void ratioGuardsAgainstMissingReferences() {
    assertThat(Stats.ratio(95, 100)).isEqualTo(0.95);
    assertThat(Stats.ratio(1, 0)).isNaN();
    assertThat(Stats.ratio(Double.NaN, 1)).isNaN();
  }
}
