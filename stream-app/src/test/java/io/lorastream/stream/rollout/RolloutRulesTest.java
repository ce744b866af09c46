package io.lorastream.stream.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.avro.RolloutAction;
import io.lorastream.avro.RolloutCommand;
import io.lorastream.avro.RolloutDecision;
import io.lorastream.avro.RolloutMode;
import io.lorastream.avro.RolloutState;
import io.lorastream.avro.RolloutVersion;
import io.lorastream.avro.VersionStatus;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RolloutRulesTest {
  private final RolloutRules rules = new RolloutRules(2);
  private long clock = 1_000;

  private RolloutState publish(RolloutState s, long... versions) {
    for (long v : versions) {
      s = rules.published(s, v, clock++).state();
    }
    return s;
  }

  private static RolloutCommand cmd(RolloutAction a, Long version) {
    return RolloutCommand.newBuilder().setCommandId("c-" + a + "-" + version).setAdapterId("t").setAction(a)
        .setVersion(version).setActor("ops@test").setReason("").setIssuedAt(Instant.EPOCH).build();
  }

  private RolloutRules.Change run(RolloutState s, RolloutCommand c) {
    return rules.command(s, c, clock++);
  }

  private static VersionStatus status(RolloutState s, long v) {
    return s.getVersions().stream().filter(e -> e.getVersion() == v).findFirst().map(RolloutVersion::getStatus)
        .orElse(null);
  }

  private static RolloutDecision last(RolloutState s) {
    return s.getDecisions().get(s.getDecisions().size() - 1);
  }

  @Test
  void autoModeActivatesEveryPublishedVersionAndRetiresThePrevious() {
    RolloutState s = publish(RolloutRules.initial("t", RolloutMode.AUTO, 0), 1, 2);
    assertThat(s.getActiveVersion()).isEqualTo(2);
    assertThat(RolloutRules.served(s)).isEqualTo(2);
    assertThat(status(s, 1)).isEqualTo(VersionStatus.RETIRED);
    assertThat(last(s).getAction()).isEqualTo("AUTO_PROMOTE");
    assertThat(s.getRevision()).isEqualTo(2);
  }

  @Test
  void aReplayedSnapshotChangesNothing() {
    RolloutState s = publish(RolloutRules.initial("t", RolloutMode.AUTO, 0), 1, 2);
    RolloutRules.Change again = rules.published(s, 2, clock++);
    assertThat(again.state()).isSameAs(s);
    assertThat(rules.published(s, 1, clock++).state().getRevision()).isEqualTo(s.getRevision());
  }

  @Test
  void gatedModeKeepsOneCandidateUnderEvaluationAndQueuesOnlyTheNewest() {
    RolloutState s = publish(RolloutRules.initial("t", RolloutMode.GATED, 0), 1);
    assertThat(s.getCandidateVersion()).isEqualTo(1);
    assertThat(RolloutRules.served(s)).as("nothing unpromoted serves").isZero();
    s = publish(s, 2, 3);
    assertThat(s.getCandidateVersion()).as("the candidate under evaluation is not replaced").isEqualTo(1);
    assertThat(status(s, 2)).isEqualTo(VersionStatus.SUPERSEDED);
    assertThat(status(s, 3)).isEqualTo(VersionStatus.PUBLISHED);

    s = run(s, cmd(RolloutAction.PROMOTE, 1L)).state();
    assertThat(s.getActiveVersion()).isEqualTo(1);
    assertThat(s.getCandidateVersion()).as("the newest waiting version is next").isEqualTo(3);
    assertThat(last(s).getAction()).isEqualTo("PROPOSE");

    s = run(s, cmd(RolloutAction.REJECT, null)).state();
    assertThat(status(s, 3)).isEqualTo(VersionStatus.REJECTED);
    assertThat(s.getCandidateVersion()).isNull();
    assertThat(s.getActiveVersion()).isEqualTo(1);
    RolloutState rejected = s;
    RolloutRules.Change promoteRejected = run(rejected, cmd(RolloutAction.PROMOTE, 3L));
    assertThat(promoteRejected.state().getActiveVersion()).isEqualTo(1);
    assertThat(last(promoteRejected.state()).getAccepted()).isFalse();
    assertThat(last(promoteRejected.state()).getReason()).contains("rejected");
  }

  @Test
  void manualModeLetsTheNewestSnapshotReplaceAnUndecidedCandidate() {
    RolloutState s = publish(RolloutRules.initial("t", RolloutMode.MANUAL, 0), 1, 2);
    assertThat(s.getCandidateVersion()).isEqualTo(2);
    assertThat(status(s, 1)).isEqualTo(VersionStatus.SUPERSEDED);
    s = run(s, cmd(RolloutAction.PROMOTE, null)).state();
    assertThat(s.getActiveVersion()).isEqualTo(2);
    assertThat(last(s).getCommandId()).isEqualTo("c-PROMOTE-null");
    assertThat(last(s).getAccepted()).isTrue();
  }

  @Test
  void rollbackGoesToTheVersionActiveJustBeforeEvenAfterEarlierRollbacks() {
    RolloutState s = publish(RolloutRules.initial("t", RolloutMode.MANUAL, 0), 1);
    s = run(s, cmd(RolloutAction.PROMOTE, null)).state();
    s = publish(s, 2);
    s = run(s, cmd(RolloutAction.PROMOTE, null)).state();
    s = publish(s, 3);
    s = run(s, cmd(RolloutAction.PROMOTE, null)).state();
    s = run(s, cmd(RolloutAction.ROLLBACK, null)).state();
    assertThat(s.getActiveVersion()).isEqualTo(2);
    assertThat(status(s, 3)).isEqualTo(VersionStatus.ROLLED_BACK);
    s = publish(s, 4);
    s = run(s, cmd(RolloutAction.PROMOTE, null)).state();
    s = run(s, cmd(RolloutAction.ROLLBACK, null)).state();
    assertThat(s.getActiveVersion()).as("v2 was active right before v4, not v3").isEqualTo(2);
    s = run(s, cmd(RolloutAction.ROLLBACK, null)).state();
    assertThat(s.getActiveVersion()).isEqualTo(1);
    s = run(s, cmd(RolloutAction.ROLLBACK, 0L)).state();
    assertThat(s.getActiveVersion()).as("rollback --to 0 serves the frozen base").isZero();
  }

  @Test
  void retentionKeepsTheConfiguredNumberOfEarlierActiveVersionsAndReleasesTheRestOnce() {
    RolloutState s = RolloutRules.initial("t", RolloutMode.AUTO, 0);
    List<Long> released = new java.util.ArrayList<>();
    for (long v = 1; v <= 6; v++) {
      RolloutRules.Change c = rules.published(s, v, clock++);
      released.addAll(c.released());
      s = c.state();
    }
    assertThat(RolloutRules.retained(s)).containsExactlyInAnyOrder(6L, 5L, 4L);
    assertThat(released).containsExactly(1L, 2L, 3L);
    RolloutRules.Change pinOld = run(s, cmd(RolloutAction.PIN, 2L));
    assertThat(pinOld.state().getPinnedVersion()).isNull();
    assertThat(last(pinOld.state()).getReason()).contains("no longer retained");
  }

  @Test
  void aPinServesWhateverThTrainerPublishesUntilUnpinned() {
    RolloutState s = publish(RolloutRules.initial("t", RolloutMode.AUTO, 0), 1, 2);
    s = run(s, cmd(RolloutAction.PIN, 1L)).state();
    s = publish(s, 3, 4);
    assertThat(s.getActiveVersion()).isEqualTo(4);
    assertThat(RolloutRules.served(s)).isEqualTo(1);
    assertThat(RolloutRules.retained(s)).as("a pinned version is never released").contains(1L);
    s = run(s, cmd(RolloutAction.UNPIN, null)).state();
    assertThat(RolloutRules.served(s)).isEqualTo(4);
  }

  @Test
  void aRollbackInAutoModePinsSoThatTheNextSnapshotDoesNotUndoIt() {
    RolloutState s = publish(RolloutRules.initial("t", RolloutMode.AUTO, 0), 1, 2);
    s = run(s, cmd(RolloutAction.ROLLBACK, null)).state();
    assertThat(RolloutRules.served(s)).isEqualTo(1);
    assertThat(s.getPinnedVersion()).isEqualTo(1);
    assertThat(last(s).getReason()).contains("pinned");
    s = publish(s, 3);
    assertThat(RolloutRules.served(s)).isEqualTo(1);
  }

  @Test
  void aRefusedCommandIsAnsweredAndChangesNothingServed() {
    RolloutState s = publish(RolloutRules.initial("t", RolloutMode.GATED, 0), 1);
    RolloutRules.Change c = run(s, cmd(RolloutAction.PROMOTE, 7L));
    assertThat(c.state().getActiveVersion()).isZero();
    assertThat(c.state().getCandidateVersion()).isEqualTo(1);
    assertThat(c.state().getRevision()).isEqualTo(s.getRevision() + 1);
    RolloutDecision d = last(c.state());
    assertThat(d.getAccepted()).isFalse();
    assertThat(d.getCommandId()).isEqualTo("c-PROMOTE-7");
    assertThat(d.getReason()).contains("v7 is not a known version");

    RolloutCommand badShare = RolloutCommand.newBuilder(cmd(RolloutAction.CANARY, null)).setShare(1.5).build();
    assertThat(last(run(s, badShare).state()).getReason()).contains("between 0 and 1");
    RolloutCommand badMode = RolloutCommand.newBuilder(cmd(RolloutAction.MODE, null)).setMode("yolo").build();
    assertThat(run(s, badMode).state().getMode()).isEqualTo(RolloutMode.GATED);
  }

  @Test
  void theCanaryIsTheCandidateUnlessAPinOverridesEverything() {
    RolloutState s = publish(RolloutRules.initial("t", RolloutMode.MANUAL, 0), 1);
    s = run(s, RolloutCommand.newBuilder(cmd(RolloutAction.CANARY, null)).setShare(0.25)
        .setConsumers(List.of("inference-2")).build()).state();
    assertThat(s.getCanaryShare()).isEqualTo(0.25);
    assertThat(s.getCanaryConsumers()).containsExactly("inference-2");
    assertThat(RolloutRules.canary(s)).contains(1L);
    s = run(s, cmd(RolloutAction.PIN, 0L)).state();
    assertThat(RolloutRules.canary(s)).isEmpty();
    assertThat(RolloutRules.retainedOrServed(s)).isEqualTo(Set.of(0L, 1L));
  }

  @Test
  void signaturesBindEveryFieldOfCommandsAndStates() {
    byte[] key = "a-shared-secret-of-enough-bytes".getBytes(StandardCharsets.UTF_8);
    RolloutCommand c = RolloutSigning.sign(cmd(RolloutAction.PIN, 3L), key);
    assertThat(RolloutSigning.verify(c, key)).isEqualTo(RolloutSigning.Verdict.OK);
    assertThat(RolloutSigning.verify(RolloutCommand.newBuilder(c).setVersion(4L).build(), key))
        .isEqualTo(RolloutSigning.Verdict.FORGED);
    assertThat(RolloutSigning.verify(cmd(RolloutAction.PIN, 3L), key)).isEqualTo(RolloutSigning.Verdict.UNSIGNED);
    assertThat(RolloutSigning.verify(cmd(RolloutAction.PIN, 3L), null)).isEqualTo(RolloutSigning.Verdict.OK);

    RolloutState s = RolloutSigning.sign(publish(RolloutRules.initial("t", RolloutMode.AUTO, 0), 1), key);
    assertThat(RolloutSigning.verify(s, key)).isEqualTo(RolloutSigning.Verdict.OK);
    RolloutState tampered = RolloutState.newBuilder(s).setPinnedVersion(0L).build();
    assertThat(RolloutSigning.verify(tampered, key)).isEqualTo(RolloutSigning.Verdict.FORGED);
    RolloutState otherKey = RolloutState.newBuilder(s)
        .setSignature(ByteBuffer.wrap(new byte[32])).build();
    assertThat(RolloutSigning.verify(otherKey, key)).isEqualTo(RolloutSigning.Verdict.FORGED);
  }

  @Test
  void theGatesProgressIsKeptForItsCandidateAndDroppedOnceTheCandidateIsDecided() {
    RolloutState s = publish(RolloutRules.initial("t", RolloutMode.GATED, 0), 1);
    io.lorastream.avro.GateProgress p = io.lorastream.avro.GateProgress.newBuilder().setCandidateVersion(1)
        .setActiveVersion(0).setExamples(20).setCandidateRight(15).setActiveRight(5).setErrors(0).build();
    RolloutState with = rules.gateProgress(s, p, clock++).state();
    assertThat(with.getGate()).isEqualTo(p);
    assertThat(with.getRevision()).isEqualTo(s.getRevision() + 1);
    io.lorastream.avro.GateProgress stale = io.lorastream.avro.GateProgress.newBuilder(p).setCandidateVersion(7).build();
    assertThat(rules.gateProgress(with, stale, clock++).state()).as("progress on another candidate").isSameAs(with);
    RolloutState decided = run(with, cmd(RolloutAction.PROMOTE, 1L)).state();
    assertThat(decided.getGate()).isNull();
  }

  @Test
  void decisionsAndVersionsStayBounded() {
    RolloutState s = RolloutRules.initial("t", RolloutMode.AUTO, 0);
    for (long v = 1; v <= 200; v++) {
      s = rules.published(s, v, clock++).state();
    }
    assertThat(s.getDecisions()).hasSizeLessThanOrEqualTo(RolloutRules.MAX_DECISIONS);
    assertThat(s.getVersions()).hasSizeLessThanOrEqualTo(RolloutRules.MAX_VERSIONS);
    assertThat(s.getVersions().get(s.getVersions().size() - 1).getVersion()).isEqualTo(200);
    assertThat(Map.of("v", s.getActiveVersion())).containsEntry("v", 200L);
  }
}
