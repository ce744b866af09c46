package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.trainer.TrainerConfig;
import org.junit.jupiter.api.Test;

class DemoScheduleTest {
  @Test
  void theDefaultDemoKeepsTheTrainersScheduleAndOtherLengthsScaleItsMilestones() {
    assertThat(DemoRun.scaledSchedule(DemoRun.DEFAULT_EXAMPLES))
        .isEqualTo(TrainerConfig.DEFAULTS.get(TrainerConfig.RANK_SCHEDULE));
    assertThat(DemoRun.scaledSchedule(5_000)).isEqualTo("steps:2@0,4@25,8@63,16@100");
    assertThat(DemoRun.scaledSchedule(80_000)).isEqualTo("steps:2@0,4@400,8@1000,16@1600");
    assertThat(DemoRun.scaledSchedule(100)).as("milestones stay strictly increasing").isEqualTo("steps:2@0,4@1,8@2,16@3");
    assertThat(DemoRun.scaledPublishSteps(DemoRun.DEFAULT_EXAMPLES))
        .isEqualTo(Long.parseLong(TrainerConfig.DEFAULTS.get(TrainerConfig.PUBLISH_STEPS)));
    assertThat(DemoRun.scaledPublishSteps(5_000)).isEqualTo(13);
    assertThat(DemoRun.scaledPublishSteps(200_000)).as("never fewer snapshots than the default").isEqualTo(50);
  }
}
