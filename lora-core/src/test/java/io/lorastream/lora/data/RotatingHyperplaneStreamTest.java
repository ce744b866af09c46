package io.lorastream.lora.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The MOA/River hyperplane definition: label rule, noise rate, drift of only the drifting weights, determinism. */
class RotatingHyperplaneStreamTest {

  @Test
  void withoutNoiseOrDriftTheLabelIsTheSideOfTheCentredHyperplane() {
    RotatingHyperplaneStream s = new RotatingHyperplaneStream(new RotatingHyperplaneStream.Config(5, 0, 0, 0, 0, 2000, 3));
    double[] w = s.weights();
    double half = 0.5 * java.util.Arrays.stream(w).sum();
    int ones = 0;
    while (s.hasNext()) {
      Example e = s.next();
      double dot = 0;
      for (int i = 0; i < 5; i++) {
        assertThat(e.features()[i]).isBetween(0f, 1f);
        dot += w[i] * e.features()[i];
      }
      assertThat(e.label()).isEqualTo(dot >= half ? 1 : 0);
      ones += e.label();
    }
    assertThat(ones).as("a hyperplane through the cube's centre splits it about evenly").isBetween(850, 1150);
    assertThat(s.weights()).containsExactly(w);
    assertThatThrownBy(s::next).hasMessageContaining("2000 examples");
  }

  @Test
  void noiseFlipsTheConfiguredShareAndOnlyTheDriftingWeightsMove() {
    RotatingHyperplaneStream.Config c = new RotatingHyperplaneStream.Config(10, 2, 0.001, 0.1, 0.1, 20_000, 4);
    RotatingHyperplaneStream noisy = new RotatingHyperplaneStream(c);
    RotatingHyperplaneStream again = new RotatingHyperplaneStream(new RotatingHyperplaneStream.Config(10, 2, 0.001, 0.1,
        0.1, 20_000, 4));
    double[] start = noisy.weights();
    List<Example> a = new ArrayList<>();
    while (noisy.hasNext()) {
      a.add(noisy.next());
    }
    double[] end = noisy.weights();
    for (int i = 2; i < 10; i++) {
      assertThat(end[i]).as("weight %d does not drift", i).isEqualTo(start[i]);
    }
    assertThat(Math.abs(end[0] - start[0]) + Math.abs(end[1] - start[1])).as("drifting weights moved").isGreaterThan(0);
    // the same seed gives the same stream
    for (Example e : a) {
      Example f = again.next();
      assertThat(f.features()).containsExactly(e.features());
      assertThat(f.label()).isEqualTo(e.label());
    }
    // noise: label disagrees with the (drifting) rule on about 10 %; replay the weights to check
    RotatingHyperplaneStream replay = new RotatingHyperplaneStream(new RotatingHyperplaneStream.Config(10, 2, 0.001, 0,
        0.1, 20_000, 4));
    int flipped = 0;
    for (Example e : a) {
      flipped += replay.next().label() != e.label() ? 1 : 0;
    }
    assertThat(flipped / 20_000.0).isBetween(0.08, 0.12);
  }

  @Test
  void badSettingsAreRefused() {
    assertThatThrownBy(() -> new RotatingHyperplaneStream.Config(3, 4, 0, 0, 0, 1, 1)).hasMessageContaining("driftFeatures");
    assertThatThrownBy(() -> new RotatingHyperplaneStream.Config(3, 1, 0, 1.5, 0, 1, 1)).hasMessageContaining("noise");
  }
}
