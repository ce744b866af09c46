package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.metrics.Health;
import io.lorastream.trainer.TrainerStatus;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The trainer's health answer: what readiness and liveness probes see in each state. */
class TrainerHealthTest {

  private static TrainerStatus status(TrainerStatus.State state, String stalledOn, long retries) {
    return new TrainerStatus("a", state, 7, 100, 0, 100, 0, 0, 0, 3, 3, 0, 0, 0.5, Map.of("fc0", 2), stalledOn,
        retries, 0);
  }

  @Test
  void aRestoringTrainerIsNotReadyButAliveAndSaysWhatItWaitsFor() {
    Health h = TrainerMeters.health(status(TrainerStatus.State.STARTING,
        "waiting for the schema registry to read the committed state", 4), Optional.empty());
    assertThat(h.healthy()).isFalse();
    assertThat(h.alive()).isTrue();
    assertThat(h.detail()).isEqualTo("trainer state STARTING: stalled on waiting for the schema registry to read "
        + "the committed state (4 retries)");
    assertThat(TrainerMeters.health(status(TrainerStatus.State.STARTING, null, 0), Optional.empty()).detail())
        .contains("restoring the committed state");
  }

  @Test
  void runningIsUpStoppingIsAliveAndStoppedIsDead() {
    Health running = TrainerMeters.health(status(TrainerStatus.State.RUNNING, "committing v4", 2), Optional.empty());
    assertThat(running.healthy()).isTrue();
    assertThat(running.detail()).contains("last version 3", "stalled on committing v4");
    Health stopping = TrainerMeters.health(status(TrainerStatus.State.STOPPING, null, 0), Optional.empty());
    assertThat(stopping.healthy()).isFalse();
    assertThat(stopping.alive()).isTrue();
    Health stopped = TrainerMeters.health(status(TrainerStatus.State.STOPPED, null, 0),
        Optional.of(new IllegalStateException("boom")));
    assertThat(stopped.alive()).isFalse();
    assertThat(stopped.detail()).isEqualTo("trainer state STOPPED: IllegalStateException");
  }
}
