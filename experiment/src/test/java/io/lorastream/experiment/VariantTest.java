package io.lorastream.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.lora.train.RankSchedule;
import java.util.List;
import org.junit.jupiter.api.Test;

class VariantTest {

  @Test
  void theStandardSetHasTheLinearBaselinesAndParsableSchedules() {
    List<Variant> all = Variant.standard(400, 20, 0.01);
    assertThat(all).extracting(Variant::name).containsExactly("frozen", "full-ft", "perceptron", "logreg-adagrad",
        "lora-r2", "lora-r4", "lora-r8", "lora-r16", "progressive-steps", "progressive-plateau", "lora-r4-matched",
        "lora-r8-matched", "lora-r16-matched", "progressive-steps-matched");
    for (Variant v : all) {
      if (v.kind() == Variant.Kind.LORA) {
        assertThat(RankSchedule.parse(v.schedule()).toSpec()).isNotBlank();
      }
    }
    Variant steps = Variant.select(all, "progressive-steps").get(0);
    assertThat(steps.schedule()).isEqualTo("steps:2@0,4@50,8@100,16@200");
    assertThat(steps.progressive()).isTrue();
    assertThat(Variant.select(all, "lora-r16").get(0).progressive()).isFalse();
    assertThat(Variant.select(all, "perceptron,logreg-adagrad")).extracting(Variant::kind)
        .containsOnly(Variant.Kind.LINEAR);
    // matched scale: s = alpha * factor / r equals lora-r2's alpha / 2 at every rank
    for (int r : new int[] {4, 8, 16}) {
      Variant m = Variant.select(all, "lora-r" + r + "-matched").get(0);
      assertThat(m.alphaFactor() / r).isEqualTo(1 / 2.0);
      assertThat(m.keepScale()).isFalse();
    }
    Variant pm = Variant.select(all, "progressive-steps-matched").get(0);
    assertThat(pm.keepScale()).isTrue();
    assertThat(pm.schedule()).isEqualTo(steps.schedule());
  }

  @Test
  void tinyStreamsStillGetStrictlyIncreasingMilestones() {
    Variant steps = Variant.select(Variant.standard(3, 2, 0.01), "progressive-steps").get(0);
    assertThat(steps.schedule()).isEqualTo("steps:2@0,4@1,8@2,16@3");
    assertThat(RankSchedule.parse(steps.schedule()).initialRank()).isEqualTo(2);
  }

  @Test
  void selectKeepsTheStandardOrderAndNamesUnknownVariants() {
    List<Variant> all = Variant.standard(100, 10, 0.01);
    assertThat(Variant.select(all, "lora-r4, frozen")).extracting(Variant::name).containsExactly("frozen", "lora-r4");
    assertThat(Variant.select(all, "all")).hasSize(14);
    assertThatThrownBy(() -> Variant.select(all, "lora-r3"))
        .hasMessageContaining("unknown variant 'lora-r3'").hasMessageContaining("lora-r4");
  }
}
