package io.lorastream.lora.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RotatingSubspaceStreamTest {

  @Test
  void sameSeedGivesTheSameStreamAndAnotherSeedDoesNot() {
    RotatingSubspaceStream.Config cfg = RotatingSubspaceStream.Config.defaults(5).withExamplesPerPhase(300);
    List<Example> a = drain(new RotatingSubspaceStream(cfg));
    List<Example> b = drain(new RotatingSubspaceStream(cfg));
    List<Example> c = drain(new RotatingSubspaceStream(RotatingSubspaceStream.Config.defaults(6).withExamplesPerPhase(300)));
    assertThat(a).hasSize(1200);
    for (int i = 0; i < a.size(); i++) {
      assertThat(a.get(i).id()).isEqualTo(b.get(i).id());
      assertThat(a.get(i).features()).containsExactly(b.get(i).features());
      assertThat(a.get(i).label()).isEqualTo(b.get(i).label());
      assertThat(a.get(i).phase()).isEqualTo(i / 300);
    }
    assertThat(a.get(0).features()).isNotEqualTo(c.get(0).features());
    assertThat(a.stream().map(Example::id).distinct().count()).isEqualTo(1200);
  }

  @Test
  void aRecurringPhaseLabelsExactlyAsTheEarlierOneAndASimplerPhaseChangesLess() {
    RotatingSubspaceStream s = new RotatingSubspaceStream(RotatingSubspaceStream.Config.defaults(9)
        .withRecurringConcept().withExamplesPerPhase(10));
    assertThat(s.phases()).isEqualTo(6);
    assertThat(s.phaseName(5)).isEqualTo("phase-5 (m=4, phase 2 again)");
    ExampleSource xs = s.phaseSource(0, 5_000, 3);
    int same = 0;
    int agree4 = 0;
    int agree3 = 0;
    int n = 0;
    while (xs.hasNext()) {
      Example e = xs.next();
      same += s.label(e.features(), 5) == s.label(e.features(), 2) ? 1 : 0;
      agree4 += s.label(e.features(), 4) == e.label() ? 1 : 0;
      agree3 += s.label(e.features(), 3) == e.label() ? 1 : 0;
      n++;
    }
    assertThat(same).as("phase 5 is phase 2's concept").isEqualTo(n);
    assertThat(agree4).as("m=2 departs less from the teacher than m=8").isGreaterThan(agree3);
    assertThatThrownBy(() -> new RotatingSubspaceStream.Config(32, 6, 1, List.of(0, 1, 4), Math.PI / 2, 10, 32,
        List.of(-1, -1, 1))).hasMessageContaining("same number of planes");
    assertThatThrownBy(() -> new RotatingSubspaceStream.Config(32, 6, 1, List.of(0, 1, 1), Math.PI / 2, 10, 32,
        List.of(-1, 2, -1))).hasMessageContaining("earlier phase");
  }

  @Test
  void labelsAreBalancedEnoughInEveryPhase() {
    RotatingSubspaceStream s = RotatingSubspaceStream.withDefaults(7);
    for (int p = 0; p < s.phases(); p++) {
      double[] f = s.classFrequencies(p, 20_000, 123);
      for (double v : f) {
        // at least half of the uniform share 1/C
        assertThat(v).as("class frequency in phase %d: %s", p, java.util.Arrays.toString(f)).isGreaterThan(0.5 / f.length);
      }
    }
  }

  @Test
  void laterPhasesChangeTheLabelingFunctionMoreAndMore() {
    RotatingSubspaceStream s = RotatingSubspaceStream.withDefaults(9);
    ExampleSource xs = s.phaseSource(0, 20_000, 77);
    int[] agree = new int[s.phases()];
    int n = 0;
    while (xs.hasNext()) {
      Example e = xs.next();
      for (int p = 0; p < s.phases(); p++) {
        agree[p] += s.label(e.features(), p) == e.label() ? 1 : 0;
      }
      n++;
    }
    double[] agreement = new double[s.phases()];
    for (int p = 0; p < s.phases(); p++) {
      agreement[p] = agree[p] / (double) n;
    }
    assertThat(agreement[0]).isEqualTo(1.0);
    assertThat(agreement[1]).isLessThan(0.97);
    assertThat(agreement[3]).as("phase-3 vs teacher agreement %s", java.util.Arrays.toString(agreement)).isLessThan(0.6);
    assertThat(agreement[1]).isGreaterThan(agreement[2]);
    assertThat(agreement[2]).isGreaterThan(agreement[3]);
  }

  @Test
  void phaseSourceMatchesTheStreamsConcept() {
    RotatingSubspaceStream s = new RotatingSubspaceStream(RotatingSubspaceStream.Config.defaults(3).withExamplesPerPhase(50));
    for (Example e : drain(s)) {
      assertThat(s.label(e.features(), e.phase())).isEqualTo(e.label());
    }
    assertThat(s.phaseName(3)).isEqualTo("phase-3 (m=8)");
  }

  @Test
  void invalidConfigurationIsRejected() {
    assertThatThrownBy(() -> new RotatingSubspaceStream(8, 4, 1, List.of(0, 5), 10))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2*m <= inputSize");
    assertThatThrownBy(() -> new RotatingSubspaceStream(8, 1, 1, List.of(0), 10))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("numClasses");
  }

  private static List<Example> drain(ExampleSource s) {
    List<Example> out = new ArrayList<>();
    while (s.hasNext()) {
      out.add(s.next());
    }
    return out;
  }
}
