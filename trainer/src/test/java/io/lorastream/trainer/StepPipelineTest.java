package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.lora.train.RankSchedule;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Steps run behind the caller must train exactly what inline steps train, in order, bounded. */
class StepPipelineTest {
  private static final int B = 8;
  private static final int IN = 32; // ModelSpec.demoDefault's input width

  private static List<MicroBatch> batches(int n, long seed) {
    Random rnd = new Random(seed);
    List<MicroBatch> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new MicroBatch(Fixtures.gaussianFloats(rnd, B * IN, 1.0), Fixtures.labels(rnd, B, 4), null, B, IN));
    }
    return out;
  }

  private static LearnerConfig config() {
    // Ranks grow mid-run, so a step reading the learner while it grows would show.
    return LearnerConfig.defaults().withAccumulationSteps(2).withSchedule(RankSchedule.parse("steps:2@0,4@3,8@6"));
  }

  @Test
  void queuedStepsTrainTheSameWeightsAsInlineStepsAndReportInOrder() {
    List<MicroBatch> data = batches(24, 7);
    try (BaseModel base = BaseModel.create(ModelSpec.demoDefault(12), Device.cpu());
        OnlineLearner inline = OnlineLearner.create(base, AdapterConfig.defaults(), config());
        OnlineLearner queued = OnlineLearner.create(base, AdapterConfig.defaults(), config())) {
      StepPipeline now = new StepPipeline(0, "inline");
      StepPipeline ahead = new StepPipeline(2, "ahead");
      List<StepPipeline.Done> inlineDone = new ArrayList<>();
      List<StepPipeline.Done> queuedDone = new ArrayList<>();
      int maxInFlight = 0;
      for (MicroBatch mb : data) {
        now.submit(inline, mb, inlineDone::add);
        ahead.submit(queued, mb, queuedDone::add);
        maxInFlight = Math.max(maxInFlight, ahead.inFlight());
        assertThat(queuedDone.size() + ahead.inFlight()).as("every batch is done or queued, none lost")
            .isEqualTo(inlineDone.size());
      }
      ahead.drain(queuedDone::add);
      assertThat(ahead.inFlight()).isZero();
      assertThat(maxInFlight).isBetween(1, 2);
      assertThat(ahead.stop()).isTrue();

      assertThat(queuedDone).hasSize(data.size());
      for (int i = 0; i < data.size(); i++) {
        StepPipeline.Done a = inlineDone.get(i);
        StepPipeline.Done q = queuedDone.get(i);
        assertThat(q.batch()).isSameAs(data.get(i));
        assertThat(q.result().loss()).isEqualTo(a.result().loss());
        assertThat(q.result().predictions()).containsExactly(a.result().predictions());
        assertThat(q.after()).isEqualTo(a.after());
      }
      assertThat(queued.ranks()).isEqualTo(inline.ranks()).containsValue(8);
      for (LayerInfo l : inline.model().targets()) {
        assertThat(Fixtures.maxAbsDiff(queued.model().a(l.name()), inline.model().a(l.name()))).isZero();
        assertThat(Fixtures.maxAbsDiff(queued.model().b(l.name()), inline.model().b(l.name()))).isZero();
      }
      assertThat(queued.examplesSeen()).isEqualTo((long) data.size() * B);
    }
  }

  @Test
  void discardDropsQueuedOutcomesAndLeavesTheLearnerIdle() {
    try (BaseModel base = BaseModel.create(ModelSpec.demoDefault(12), Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(), config())) {
      StepPipeline ahead = new StepPipeline(3, "discard");
      List<StepPipeline.Done> done = new ArrayList<>();
      for (MicroBatch mb : batches(3, 8)) {
        ahead.submit(learner, mb, done::add);
      }
      ahead.discard();
      assertThat(ahead.inFlight()).isZero();
      long seen = learner.examplesSeen();
      assertThat(seen).isBetween((long) done.size() * B, 3L * B); // started steps finished, none reported
      ahead.drain(done::add);
      assertThat(learner.examplesSeen()).as("nothing runs after a discard").isEqualTo(seen);
      assertThat(ahead.stop()).isTrue();
    }
  }

  @Test
  void aStepsFailureIsRethrownOnTheSubmittingThread() {
    try (BaseModel base = BaseModel.create(ModelSpec.demoDefault(12), Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults(), config())) {
      StepPipeline ahead = new StepPipeline(2, "failing");
      MicroBatch bad = new MicroBatch(new float[B * IN], new int[] {0, 1, 2, 3, 99, 0, 1, 2}, null, B, IN);
      // A step that fails fast surfaces already in submit (which settles finished steps), else in drain.
      assertThatThrownBy(() -> {
        ahead.submit(learner, bad, d -> { });
        ahead.drain(d -> { });
      }).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("99");
      assertThat(ahead.stop()).isTrue();
    }
  }
}
