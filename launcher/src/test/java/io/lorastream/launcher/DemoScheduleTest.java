package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.trainer.TrainerConfig;
import org.junit.jupiter.api.Test;

class DemoScheduleTest {
  private static final String DEFAULT_SCHEDULE = TrainerConfig.DEFAULTS.get(TrainerConfig.RANK_SCHEDULE);
  private static final long DEFAULT_PUBLISH = Long.parseLong(TrainerConfig.DEFAULTS.get(TrainerConfig.PUBLISH_STEPS));
  private static final int DEFAULT_B = Integer.parseInt(TrainerConfig.DEFAULTS.get(TrainerConfig.MICROBATCH_SIZE));

  @Test
  void theDefaultDemoKeepsTheTrainersDefaults() {
    DemoScale d = DemoScale.of(DemoScale.DEFAULT_EXAMPLES);
    assertThat(d.microBatch()).isEqualTo(DEFAULT_B);
    assertThat(d.stepFactor()).isEqualTo(1.0);
    assertThat(d.rankSchedule()).isEqualTo(DEFAULT_SCHEDULE);
    assertThat(d.publishSteps()).isEqualTo(DEFAULT_PUBLISH);
    assertThat(d.gateExamples()).isEqualTo(DemoScale.DEFAULT_GATE_EXAMPLES);
    assertThat(d.maxLag()).isEqualTo(DemoScale.DEFAULT_MAX_LAG);
  }

  @Test
  void aShorterRunTrainsSmallerMicroBatchesForAsManyStepsPerPhase() {
    DemoScale d = DemoScale.of(5_000);
    assertThat(d.microBatch()).isEqualTo(4);
    assertThat(d.stepFactor()).isEqualTo(1.0);
    assertThat(d.rankSchedule()).as("milestones are in steps, and the steps are the default run's").isEqualTo(DEFAULT_SCHEDULE);
    assertThat(d.publishSteps()).isEqualTo(DEFAULT_PUBLISH);
    assertThat(d.maxLag()).as("the same share of a phase").isEqualTo(250);
    assertThat(d.gateExamples()).as("never below the floor").isEqualTo(DemoScale.MIN_GATE_EXAMPLES);
    assertThat(DemoScale.of(12_000).gateExamples()).isEqualTo(24);

    DemoScale small = DemoScale.of(100);
    assertThat(small.microBatch()).as("a micro-batch of one example is the floor").isEqualTo(1);
    assertThat(small.rankSchedule()).as("below it the milestones move instead").isEqualTo("steps:2@0,4@8,8@20,16@32");
    DemoScale tiny = DemoScale.of(10);
    assertThat(tiny.rankSchedule()).as("milestones stay strictly increasing").isEqualTo("steps:2@0,4@1,8@2,16@3");
    assertThat(tiny.publishSteps()).isEqualTo(5);
  }

  @Test
  void aLongerRunKeepsTheMicroBatchAndStretchesTheMilestones() {
    DemoScale d = DemoScale.of(80_000);
    assertThat(d.microBatch()).isEqualTo(DEFAULT_B);
    assertThat(d.rankSchedule()).isEqualTo("steps:2@0,4@400,8@1000,16@1600");
    assertThat(d.publishSteps()).as("never fewer snapshots than the default").isEqualTo(DEFAULT_PUBLISH);
    assertThat(d.gateExamples()).isEqualTo(DemoScale.DEFAULT_GATE_EXAMPLES);
  }

  @Test
  void aChosenMicroBatchMovesTheStepCountedSettings() {
    DemoScale d = DemoScale.of(5_000).withMicroBatch(16);
    assertThat(d.stepFactor()).isEqualTo(0.25);
    assertThat(d.rankSchedule()).isEqualTo("steps:2@0,4@25,8@63,16@100");
    assertThat(d.publishSteps()).isEqualTo(13);
    assertThatThrownBy(() -> DemoScale.of(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> DemoScale.of(5_000).withMicroBatch(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
