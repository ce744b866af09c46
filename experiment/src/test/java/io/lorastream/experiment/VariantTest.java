package io.lorastream.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.lora.train.RankSchedule;
import java.util.List;
import org.junit.jupiter.api.Test;

class VariantTest {

  @Test
  void theStandardSetIsTheIssuesEightWithParsableSchedules() {
    List<Variant> all = Variant.standard(400, 20, 0.01);
    assertThat(all).extracting(Variant::name).containsExactly("frozen", "full-ft", "lora-r2", "lora-r4", "lora-r8",
        "lora-r16", "progressive-steps", "progressive-plateau");
    for (Variant v : all) {
      if (v.kind() == Variant.Kind.LORA) {
        assertThat(RankSchedule.parse(v.schedule()).toSpec()).isNotBlank();
      }
    }
    assertThat(all.get(6).schedule()).isEqualTo("steps:2@0,4@50,8@100,16@200");
    assertThat(all.get(6).progressive()).isTrue();
    assertThat(all.get(5).progressive()).isFalse();
  }

  @Test
  void tinyStreamsStillGetStrictlyIncreasingMilestones() {
    Variant steps = Variant.standard(3, 2, 0.01).get(6);
    assertThat(steps.schedule()).isEqualTo("steps:2@0,4@1,8@2,16@3");
    assertThat(RankSchedule.parse(steps.schedule()).initialRank()).isEqualTo(2);
  }

  @Test
  void selectKeepsTheStandardOrderAndNamesUnknownVariants() {
    List<Variant> all = Variant.standard(100, 10, 0.01);
    assertThat(Variant.select(all, "lora-r4, frozen")).extracting(Variant::name).containsExactly("frozen", "lora-r4");
    assertThat(Variant.select(all, "all")).hasSize(8);
    assertThatThrownBy(() -> Variant.select(all, "lora-r3"))
        .hasMessageContaining("unknown variant 'lora-r3'").hasMessageContaining("lora-r4");
  }
}
