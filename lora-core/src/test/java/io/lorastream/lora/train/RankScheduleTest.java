package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RankScheduleTest {

  @Test
  void stepMilestonesGiveTheRankInForce() {
    RankSchedule s = RankSchedule.parse("steps:2@0,4@50,8@150,16@300");
    assertThat(s.initialRank()).isEqualTo(2);
    RankSchedule.Controller c = s.controller();
    assertThat(c.afterStep(1, 1.0)).isEqualTo(2);
    assertThat(c.afterStep(49, 1.0)).isEqualTo(2);
    assertThat(c.afterStep(50, 1.0)).isEqualTo(4);
    assertThat(c.afterStep(299, 1.0)).isEqualTo(8);
    assertThat(c.afterStep(300, 1.0)).isEqualTo(16);
    assertThat(c.afterStep(100_000, 1.0)).isEqualTo(16);
    assertThat(RankSchedule.parse(s.toSpec())).isEqualTo(s);
    assertThat(RankSchedule.progressive().toSpec()).isEqualTo("steps:2@0,4@100,8@250,16@500");
    assertThat(RankSchedule.parse("progressive")).isEqualTo(RankSchedule.progressive());
  }

  @Test
  void fixedNeverChanges() {
    RankSchedule s = RankSchedule.parse("fixed:4");
    assertThat(s).isEqualTo(RankSchedule.fixed(4));
    RankSchedule.Controller c = s.controller();
    for (int i = 1; i < 500; i++) {
      assertThat(c.afterStep(i, 1.0)).isEqualTo(4);
    }
  }

  @Test
  void plateauGrowsWhenTheWindowedMeanStopsImprovingByTheMargin() {
    RankSchedule s = RankSchedule.parse("plateau:2,4,8:window=10:margin=0.05");
    assertThat(s).isEqualTo(RankSchedule.plateau(List.of(2, 4, 8), 10, 0.05));
    RankSchedule.Controller c = s.controller();
    long step = 0;
    double loss = 2.0;
    // Improving by 2% per step: window means differ by ~18% > 5%: no growth.
    for (int i = 0; i < 60; i++) {
      loss *= 0.98;
      assertThat(c.afterStep(++step, loss)).isEqualTo(2);
    }
    // Flat: growth exactly when two full windows of flat losses exist (older window still had
    // improvement until it is entirely flat... the newer window mean must fail the margin).
    int grewAt = -1;
    for (int i = 1; i <= 40 && grewAt < 0; i++) {
      if (c.afterStep(++step, loss) == 4) {
        grewAt = i;
      }
    }
    assertThat(grewAt).isBetween(1, 20);
    // After growth both windows restart: no second growth before 2*window more steps.
    for (int i = 1; i < 20; i++) {
      assertThat(c.afterStep(++step, loss)).isEqualTo(4);
    }
    assertThat(c.afterStep(++step, loss)).isEqualTo(8);
    // Top of the list: stays.
    for (int i = 0; i < 50; i++) {
      assertThat(c.afterStep(++step, loss)).isEqualTo(8);
    }
  }

  @Test
  void plateauResumeStartsFromTheRestoredRank() {
    RankSchedule.Controller c = RankSchedule.parse("plateau:2,4,8,16:window=3").controller();
    c.resume(100, 8);
    for (int i = 1; i <= 5; i++) {
      assertThat(c.afterStep(100 + i, 1.0)).isEqualTo(8);
    }
    assertThat(c.afterStep(106, 1.0)).isEqualTo(16);
  }

  @Test
  void theLearnerCapsEveryScheduleAtMaxRankAndPerLayerCeilings() {
    Random rnd = new Random(1);
    AdapterConfig ac = AdapterConfig.defaults().withMaxRank(16)
        .withOverride("fc1", new AdapterConfig.LayerOverride(4, null, null));
    try (BaseModel base = BaseModel.create(ModelSpec.demoDefault(60), Device.cpu());
        OnlineLearner l = OnlineLearner.create(base, ac,
            LearnerConfig.defaults().withSchedule(RankSchedule.parse("steps:2@0,8@2,32@4")))) {
      assertThat(l.ranks()).isEqualTo(Map.of("fc0", 2, "fc1", 2, "head", 2));
      int[] fc0 = new int[6];
      for (int i = 0; i < 6; i++) {
        l.trainMicroBatch(Fixtures.gaussianFloats(rnd, 8 * 32, 1), Fixtures.labels(rnd, 8, 4), null);
        fc0[i] = l.ranks().get("fc0");
      }
      assertThat(fc0).containsExactly(2, 8, 8, 16, 16, 16);
      assertThat(l.ranks()).isEqualTo(Map.of("fc0", 16, "fc1", 4, "head", 16));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "fixed", "fixed:0", "fixed:x", "steps:", "steps:2@5", "steps:4@0,2@10", "steps:2@0,x@3",
      "steps:2@0,4", "steps:2@0,4@0", "plateau:", "plateau:4,2", "plateau:2,4:window=0", "plateau:2,4:margin=abc",
      "plateau:2,4:speed=3", "cosine:3"})
  void malformedSchedulesAreRejectedWithAClearMessage(String spec) {
    assertThatThrownBy(() -> RankSchedule.parse(spec))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("rank schedule '" + spec + "'")
        .hasMessageContaining("Examples:");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {"steps:3@0,16@3|3", "fixed:16|16", "plateau:2,4:window=7:margin=0.1|2", "progressive|2"})
  void parseGivesTheInitialRank(String spec, int initial) {
    assertThat(RankSchedule.parse(spec).initialRank()).isEqualTo(initial);
  }
}
