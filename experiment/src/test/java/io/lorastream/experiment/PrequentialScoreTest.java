package io.lorastream.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class PrequentialScoreTest {

  @Test
  void accuracyAndBinaryF1AreComputedFromTheConfusionCounts() {
    PrequentialScore s = new PrequentialScore(2, 1, 4);
    // labels:      1 1 0 0 1 0 1 0
    // predictions: 1 0 0 1 1 0 1 1  -> tp=3 fp=2 fn=1, correct 5/8
    s.add(new int[] {1, 1, 0, 0}, new int[] {1, 0, 0, 1});
    s.add(new int[] {1, 0, 1, 0}, new int[] {1, 0, 1, 1});
    assertThat(s.size()).isEqualTo(8);
    assertThat(s.accuracy()).isCloseTo(5.0 / 8, within(1e-12));
    assertThat(s.f1()).isCloseTo(2.0 * 3 / (2 * 3 + 2 + 1), within(1e-12));
    // last window = last 4: labels 1 0 1 0, preds 1 0 1 1 -> 3/4, tp=2 fp=1 fn=0
    assertThat(s.lastWindowAccuracy()).isCloseTo(0.75, within(1e-12));
    assertThat(s.lastWindowF1()).isCloseTo(4.0 / 5, within(1e-12));
  }

  @Test
  void balancedAccuracyKappaMajorityAndOutcomesFollowTheirDefinitions() {
    PrequentialScore s = new PrequentialScore(2, 1, 4);
    // labels 1 1 0 0 0 0 0 0, predictions 1 0 0 0 0 0 0 1
    s.add(new int[] {1, 1, 0, 0, 0, 0, 0, 0}, new int[] {1, 0, 0, 0, 0, 0, 0, 1});
    assertThat(s.majorityRate()).isEqualTo(6.0 / 8);
    assertThat(s.balancedAccuracy()).isCloseTo((1.0 / 2 + 5.0 / 6) / 2, within(1e-12));
    double po = 6.0 / 8;
    double pe = (2.0 / 8) * (2.0 / 8) + (6.0 / 8) * (6.0 / 8);
    assertThat(s.kappa()).isCloseTo((po - pe) / (1 - pe), within(1e-12));
    assertThat(s.outcomes()).isEqualTo("10111110");
    PrequentialScore majority = new PrequentialScore(2, 1, 4);
    majority.add(new int[] {1, 0, 0, 0}, new int[] {0, 0, 0, 0});
    assertThat(majority.kappa()).as("always the majority class: no agreement beyond chance").isCloseTo(0, within(1e-12));
    assertThat(majority.balancedAccuracy()).isEqualTo(0.5);
  }

  @Test
  void windowsAreConsecutiveBlocksAndASmallTrailingRemainderIsDropped() {
    PrequentialScore s = new PrequentialScore(2, 1, 4);
    s.add(new int[] {1, 1, 1, 1, 0, 0, 0, 0, 1}, new int[] {1, 1, 1, 1, 1, 1, 0, 0, 1});
    List<PrequentialScore.Window> w = s.windows();
    assertThat(w).hasSize(2);
    assertThat(w.get(0).end()).isEqualTo(4);
    assertThat(w.get(0).accuracy()).isEqualTo(1.0);
    assertThat(w.get(1).end()).isEqualTo(8);
    assertThat(w.get(1).accuracy()).isEqualTo(0.5);
    s.add(new int[] {1}, new int[] {0}); // 2 trailing examples = half a window: kept
    assertThat(s.windows()).hasSize(3);
    assertThat(s.windows().get(2).accuracy()).isEqualTo(0.5);
  }

  @Test
  void macroF1AveragesOverClassesThatOccur() {
    PrequentialScore s = new PrequentialScore(3, -1, 10);
    // class 0: tp=1 fn=1 -> F1 2/3; class 1: tp=1 fp=1 -> 2/3; class 2 never occurs and is never predicted
    s.add(new int[] {0, 0, 1}, new int[] {0, 1, 1});
    assertThat(s.f1()).isCloseTo(2.0 / 3, within(1e-12));
  }
}
