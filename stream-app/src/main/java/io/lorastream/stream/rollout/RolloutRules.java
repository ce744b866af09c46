package io.lorastream.stream.rollout;

import io.lorastream.avro.GateProgress;
import io.lorastream.avro.RolloutCommand;
import io.lorastream.avro.RolloutDecision;
import io.lorastream.avro.RolloutMode;
import io.lorastream.avro.RolloutState;
import io.lorastream.avro.RolloutVersion;
import io.lorastream.avro.VersionStatus;
import io.lorastream.serde.TrustedAvroClasses;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The rollout policy as a pure function from (state, event) to the next state, so that the
 * controller's decisions can be tested without Kafka and replayed exactly. Events are a valid
 * snapshot being published, an invalid one, and a command (from an operator or the gate). Every
 * command is answered by a decision that names it, accepted or refused with the reason; a refused
 * command changes nothing that is served.
 *
 * <p>Retention: the active, candidate, pinned and newest waiting versions are always kept, plus the
 * {@code retainedVersions} most recent earlier active versions (the rollback targets). A version
 * that leaves this set is released once and for all: the controller deletes its copy from
 * {@code adapters.retained}, so it can no longer be pinned or rolled back to.
 */
public final class RolloutRules {
  static {
    TrustedAvroClasses.install(); // builders deep-copy enums and nested records by class name
  }

  /** Earlier active versions kept for rollback unless configured otherwise. */
  public static final int DEFAULT_RETAINED = 5;
  static final int MAX_DECISIONS = 50;
  static final int MAX_VERSIONS = 64;
  /** Actor of decisions the controller makes because the trainer published. */
  public static final String TRAINER = "trainer";

  /** A new state, the versions whose retained copy must now be deleted, and the decisions this event made. */
  public record Change(RolloutState state, List<Long> released, List<RolloutDecision> decided) {
    public Change {
      released = List.copyOf(released);
      decided = List.copyOf(decided);
    }
  }

  private final int retainedVersions;

  public RolloutRules(int retainedVersions) {
    if (retainedVersions < 0) {
      throw new IllegalArgumentException("retainedVersions must be >= 0, got " + retainedVersions);
    }
    this.retainedVersions = retainedVersions;
  }

  /** The state of an adapter nothing has happened to yet: the frozen base is active. */
  public static RolloutState initial(String adapterId, RolloutMode mode, long now) {
    return RolloutState.newBuilder()
        .setAdapterId(adapterId)
        .setRevision(0)
        .setMode(mode)
        .setActiveVersion(0)
        .setCandidateVersion(null)
        .setPinnedVersion(null)
        .setCanaryShare(0.0)
        .setCanaryConsumers(new ArrayList<>())
        .setLatestVersion(0)
        .setVersions(new ArrayList<>())
        .setDecisions(new ArrayList<>())
        .setGate(null)
        .setUpdatedAt(Instant.ofEpochMilli(now))
        .setSignature(null)
        .build();
  }

  /** The version a consumer serves to ordinary requests: the pinned one, else the active one. */
  public static long served(RolloutState s) {
    return s.getPinnedVersion() != null ? s.getPinnedVersion() : s.getActiveVersion();
  }

  /** The version serving the canary share, if any: the candidate, unless a pin overrides everything. */
  public static Optional<Long> canary(RolloutState s) {
    return s.getPinnedVersion() != null ? Optional.empty() : Optional.ofNullable(s.getCandidateVersion());
  }

  /** The versions whose snapshot a consumer may need: those marked retained. */
  public static Set<Long> retained(RolloutState s) {
    Set<Long> out = new LinkedHashSet<>();
    for (RolloutVersion v : s.getVersions()) {
      if (v.getRetained()) {
        out.add(v.getVersion());
      }
    }
    return out;
  }

  /** The versions a consumer may route to: retained ones plus whatever is served or canaried now. */
  public static Set<Long> retainedOrServed(RolloutState s) {
    Set<Long> out = retained(s);
    out.add(served(s));
    canary(s).ifPresent(out::add);
    return out;
  }

  /**
   * A valid snapshot {@code version} was committed by the trainer. Versions not newer than the
   * newest seen are ignored (a replayed record), which returns an unchanged state.
   */
  public Change published(RolloutState prev, long version, long now) {
    if (version <= prev.getLatestVersion()) {
      return new Change(prev, List.of(), List.of());
    }
    Work w = new Work(prev);
    w.s.setLatestVersion(version);
    w.add(version, now);
    switch (w.s.getMode()) {
      case AUTO -> w.activate(version, "AUTO_PROMOTE", TRAINER, "auto mode: every valid snapshot becomes active",
          Map.of(), null, now);
      case MANUAL -> {
        w.supersedeCandidate(now);
        w.propose(version, "manual mode: waiting for an operator to promote or reject it", now);
      }
      case GATED -> {
        if (w.s.getCandidateVersion() == null) {
          w.propose(version, "gated mode: the gate scores it against active v" + w.s.getActiveVersion()
              + " on the holdout stream", now);
        } else {
          w.supersedeWaiting(version);
          w.decide("PUBLISH", version, true, TRAINER, "waiting behind candidate v" + w.s.getCandidateVersion()
              + ", which the gate is still scoring", Map.of(), null, now);
        }
      }
      default -> throw new IllegalStateException("unknown mode " + w.s.getMode());
    }
    return w.finish(now);
  }

  /**
   * The gate has scored more holdout examples of the current candidate: recorded, so that a
   * restarted controller goes on from them. Progress on anything but the current candidate
   * against the current active version is ignored (an unchanged state).
   */
  public Change gateProgress(RolloutState prev, GateProgress p, long now) {
    if (!Long.valueOf(p.getCandidateVersion()).equals(prev.getCandidateVersion())
        || p.getActiveVersion() != prev.getActiveVersion()) {
      return new Change(prev, List.of(), List.of());
    }
    Work w = new Work(prev);
    w.s.setGate(GateProgress.newBuilder(p).build());
    return w.finish(now);
  }

  /** A snapshot that failed verification: recorded, never served. */
  public Change invalid(RolloutState prev, long version, String reason, long now) {
    Work w = new Work(prev);
    w.decide("INVALID", version, false, TRAINER, reason, Map.of(), null, now);
    return w.finish(now);
  }

  /** A command that failed authentication: answered, never applied. */
  public Change unauthenticated(RolloutState prev, RolloutCommand c, String reason, long now) {
    Work w = new Work(prev);
    w.decide(c.getAction().name(), c.getVersion(), false, c.getActor(), reason, Map.of(), c.getCommandId(), now);
    return w.finish(now);
  }

  /** Applies a command, or refuses it; either way the state records a decision naming the command. */
  public Change command(RolloutState prev, RolloutCommand c, long now) {
    Work w = new Work(prev);
    String refusal = w.apply(c, now);
    if (refusal != null) {
      w = new Work(prev); // nothing of a refused command takes effect
      w.decide(c.getAction().name(), c.getVersion(), false, c.getActor(), refusal, c.getFigures(), c.getCommandId(),
          now);
    }
    return w.finish(now);
  }

  /** A mutable copy of a state that one event is applied to. */
  private final class Work {
    final RolloutState s;
    final List<RolloutDecision> decided = new ArrayList<>();

    Work(RolloutState prev) {
      this.s = RolloutState.newBuilder(prev).build();
      // newBuilder deep-copies records; the lists must be mutable for the edits below.
      s.setVersions(new ArrayList<>(s.getVersions()));
      s.setDecisions(new ArrayList<>(s.getDecisions()));
      s.setCanaryConsumers(new ArrayList<>(s.getCanaryConsumers()));
    }

    /** Null when applied, else why the command is refused. */
    String apply(RolloutCommand c, long now) {
      String actor = c.getActor();
      Long v = c.getVersion();
      switch (c.getAction()) {
        case PROMOTE -> {
          long target;
          if (v == null) {
            if (s.getCandidateVersion() == null) {
              return "there is no candidate to promote";
            }
            target = s.getCandidateVersion();
          } else {
            target = v;
          }
          if (target == s.getActiveVersion()) {
            return "v" + target + " is already active";
          }
          String problem = servable(target, "promoted");
          if (problem != null) {
            return problem;
          }
          if (target == 0) {
            return "the frozen base is served by a rollback (rollback --to 0), not a promotion";
          }
          boolean wasCandidate = Long.valueOf(target).equals(s.getCandidateVersion());
          activate(target, "PROMOTE", actor, reasonOr(c, "promoted"), c.getFigures(), c.getCommandId(), now);
          if (wasCandidate) {
            proposeNewestWaiting(now);
          }
          return null;
        }
        case REJECT -> {
          long target;
          if (v == null) {
            if (s.getCandidateVersion() == null) {
              return "there is no candidate to reject";
            }
            target = s.getCandidateVersion();
          } else {
            target = v;
          }
          if (target == s.getActiveVersion()) {
            return "v" + target + " is active; roll it back instead of rejecting it";
          }
          RolloutVersion e = entry(target);
          if (e == null) {
            return "v" + target + " is not a known version of " + s.getAdapterId();
          }
          if (e.getStatus() != VersionStatus.CANDIDATE && e.getStatus() != VersionStatus.PUBLISHED) {
            return "v" + target + " is " + status(e) + ", not a candidate or waiting version";
          }
          e.setStatus(VersionStatus.REJECTED);
          e.setFigures(new HashMap<>(c.getFigures()));
          boolean wasCandidate = Long.valueOf(target).equals(s.getCandidateVersion());
          if (wasCandidate) {
            s.setCandidateVersion(null);
          }
          decide("REJECT", target, true, actor, reasonOr(c, "rejected"), c.getFigures(), c.getCommandId(), now);
          if (wasCandidate) {
            proposeNewestWaiting(now);
          }
          return null;
        }
        case ROLLBACK -> {
          long target;
          if (v == null) {
            Optional<Long> previous = previousActive();
            if (previous.isEmpty()) {
              return s.getActiveVersion() == 0 ? "the frozen base is already active"
                  : "no earlier version is retained; rollback --to 0 serves the frozen base";
            }
            target = previous.get();
          } else {
            target = v;
          }
          if (target == s.getActiveVersion()) {
            return "v" + target + " is already active";
          }
          String problem = servable(target, "rolled back to");
          if (problem != null) {
            return problem;
          }
          long from = s.getActiveVersion();
          RolloutVersion old = entry(from);
          setActive(target);
          if (old != null) {
            old.setStatus(VersionStatus.ROLLED_BACK);
          }
          String reason = reasonOr(c, "rolled back") + " (v" + from + " -> v" + target + ")";
          if (s.getMode() == RolloutMode.AUTO && s.getPinnedVersion() == null) {
            // Auto mode would make the trainer's next snapshot active again at once.
            s.setPinnedVersion(target);
            reason += "; pinned, because auto mode would activate the next snapshot (unpin to resume)";
          } else if (s.getPinnedVersion() != null) {
            reason += "; pinned v" + s.getPinnedVersion() + " still serves until unpinned";
          }
          decide("ROLLBACK", target, true, actor, reason, c.getFigures(), c.getCommandId(), now);
          return null;
        }
        case PIN -> {
          if (v == null) {
            return "pin needs a version";
          }
          String problem = servable(v, "pinned");
          if (problem != null) {
            return problem;
          }
          s.setPinnedVersion(v);
          decide("PIN", v, true, actor, reasonOr(c, "pinned"), c.getFigures(), c.getCommandId(), now);
          return null;
        }
        case UNPIN -> {
          if (s.getPinnedVersion() == null) {
            return "no version is pinned";
          }
          long was = s.getPinnedVersion();
          s.setPinnedVersion(null);
          decide("UNPIN", was, true, actor, reasonOr(c, "unpinned") + "; serving active v" + s.getActiveVersion(),
              c.getFigures(), c.getCommandId(), now);
          return null;
        }
        case CANARY -> {
          Double share = c.getShare();
          if (share == null || !(share >= 0.0 && share <= 1.0)) {
            return "canary needs a share between 0 and 1, got " + share;
          }
          s.setCanaryShare(share);
          s.setCanaryConsumers(new ArrayList<>(c.getConsumers()));
          String who = c.getConsumers().isEmpty() ? "" : " and every request on " + c.getConsumers();
          decide("CANARY", s.getCandidateVersion(), true, actor, reasonOr(c, "canary set") + ": candidate serves "
              + Math.round(share * 1000) / 10.0 + " % of requests" + who, c.getFigures(), c.getCommandId(), now);
          return null;
        }
        case MODE -> {
          RolloutMode mode;
          try {
            mode = parseMode(c.getMode());
          } catch (IllegalArgumentException e) {
            return e.getMessage();
          }
          RolloutMode was = s.getMode();
          s.setMode(mode);
          decide("MODE", null, true, actor, reasonOr(c, "mode set") + ": " + was.name().toLowerCase(Locale.ROOT)
              + " -> " + mode.name().toLowerCase(Locale.ROOT), c.getFigures(), c.getCommandId(), now);
          return null;
        }
        default -> {
          return "unknown action " + c.getAction();
        }
      }
    }

    /** Null when {@code v} can be served (the base, or a retained version not rejected), else why not. */
    private String servable(long v, String verb) {
      if (v == 0) {
        return null;
      }
      RolloutVersion e = entry(v);
      if (e == null) {
        return "v" + v + " is not a known version of " + s.getAdapterId() + " (known: " + known() + ")";
      }
      if (e.getStatus() == VersionStatus.REJECTED) {
        return "v" + v + " was rejected and cannot be " + verb;
      }
      if (!e.getRetained()) {
        return "v" + v + " is no longer retained, so it cannot be " + verb + " (retained: " + retained(s) + ")";
      }
      return null;
    }

    private List<Long> known() {
      return s.getVersions().stream().map(RolloutVersion::getVersion).toList();
    }

    /** The retained version that was active most recently before the active one. */
    private Optional<Long> previousActive() {
      return earlierActive().stream().filter(e -> e.getStatus() == VersionStatus.RETIRED).findFirst()
          .map(RolloutVersion::getVersion);
    }

    /**
     * Retained versions that were active before: those retired by a promotion (the rollback
     * targets) most recently active first, then those rolled back, most recent first.
     */
    private List<RolloutVersion> earlierActive() {
      List<RolloutVersion> out = new ArrayList<>();
      for (RolloutVersion e : s.getVersions()) {
        if (e.getRetained() && e.getVersion() != s.getActiveVersion() && e.getActivatedRevision() != null
            && (e.getStatus() == VersionStatus.RETIRED || e.getStatus() == VersionStatus.ROLLED_BACK)) {
          out.add(e);
        }
      }
      out.sort((a, b) -> a.getStatus() != b.getStatus() ? (a.getStatus() == VersionStatus.RETIRED ? -1 : 1)
          : Long.compare(b.getActivatedRevision(), a.getActivatedRevision()));
      return out;
    }

    void add(long version, long now) {
      s.getVersions().add(RolloutVersion.newBuilder().setVersion(version).setStatus(VersionStatus.PUBLISHED)
          .setRetained(true).setPublishedAt(Instant.ofEpochMilli(now)).setFigures(new HashMap<>()).build());
    }

    /** Makes {@code v} active; the old active version retires, and a superseded candidate is recorded. */
    void activate(long v, String action, String actor, String reason, Map<String, Double> figures, String commandId,
        long now) {
      Long candidate = s.getCandidateVersion();
      if (candidate != null && candidate != v) {
        RolloutVersion c = entry(candidate);
        if (c != null) {
          c.setStatus(VersionStatus.SUPERSEDED);
        }
      }
      s.setCandidateVersion(null);
      RolloutVersion old = entry(s.getActiveVersion());
      if (old != null && old.getStatus() == VersionStatus.ACTIVE) {
        old.setStatus(VersionStatus.RETIRED);
      }
      setActive(v);
      RolloutVersion e = entry(v);
      if (e != null && !figures.isEmpty()) {
        e.setFigures(new HashMap<>(figures));
      }
      decide(action, v, true, actor, reason, figures, commandId, now);
    }

    private void setActive(long v) {
      s.setActiveVersion(v);
      RolloutVersion e = entry(v);
      if (e != null) {
        e.setStatus(VersionStatus.ACTIVE);
        e.setActivatedRevision(s.getRevision() + 1); // the revision this change will get
      }
    }

    void propose(long v, String reason, long now) {
      s.setCandidateVersion(v);
      entry(v).setStatus(VersionStatus.CANDIDATE);
      decide("PROPOSE", v, true, TRAINER, reason, Map.of(), null, now);
    }

    void supersedeCandidate(long now) {
      Long c = s.getCandidateVersion();
      if (c != null) {
        entry(c).setStatus(VersionStatus.SUPERSEDED);
        s.setCandidateVersion(null);
        decide("SUPERSEDE", c, true, TRAINER, "a newer snapshot took its place before a decision", Map.of(), null,
            now);
      }
    }

    /** Older waiting versions give way to {@code newest}: only the newest waits behind the candidate. */
    void supersedeWaiting(long newest) {
      for (RolloutVersion e : s.getVersions()) {
        if (e.getStatus() == VersionStatus.PUBLISHED && e.getVersion() != newest) {
          e.setStatus(VersionStatus.SUPERSEDED);
        }
      }
    }

    /** After a decision on the candidate, the newest waiting version (if any) becomes the next candidate. */
    void proposeNewestWaiting(long now) {
      RolloutVersion newest = null;
      for (RolloutVersion e : s.getVersions()) {
        if (e.getStatus() == VersionStatus.PUBLISHED && (newest == null || e.getVersion() > newest.getVersion())) {
          newest = e;
        }
      }
      if (newest == null) {
        return;
      }
      if (s.getMode() == RolloutMode.AUTO) {
        activate(newest.getVersion(), "AUTO_PROMOTE", TRAINER, "auto mode: the newest waiting snapshot becomes active",
            Map.of(), null, now);
      } else {
        propose(newest.getVersion(), "the newest waiting snapshot is the next candidate", now);
      }
    }

    void decide(String action, Long version, boolean accepted, String actor, String reason,
        Map<String, Double> figures, String commandId, long now) {
      List<RolloutDecision> d = s.getDecisions();
      RolloutDecision made = RolloutDecision.newBuilder().setAction(action).setVersion(version).setAccepted(accepted)
          .setActor(actor == null ? "" : actor).setReason(reason == null ? "" : reason)
          .setFigures(new HashMap<>(figures)).setCommandId(commandId).setAt(Instant.ofEpochMilli(now)).build();
      d.add(made);
      decided.add(made);
      while (d.size() > MAX_DECISIONS) {
        d.remove(0);
      }
    }

    RolloutVersion entry(long v) {
      for (RolloutVersion e : s.getVersions()) {
        if (e.getVersion() == v) {
          return e;
        }
      }
      return null;
    }

    /** Recomputes retention, bounds the version list, and bumps the revision. */
    Change finish(long now) {
      Set<Long> keep = new LinkedHashSet<>();
      keep.add(s.getActiveVersion());
      if (s.getCandidateVersion() != null) {
        keep.add(s.getCandidateVersion());
      }
      if (s.getPinnedVersion() != null) {
        keep.add(s.getPinnedVersion());
      }
      List<RolloutVersion> versions = s.getVersions();
      for (RolloutVersion e : versions) {
        if (e.getStatus() == VersionStatus.PUBLISHED) {
          keep.add(e.getVersion());
        }
      }
      earlierActive().stream().limit(retainedVersions).forEach(e -> keep.add(e.getVersion()));
      List<Long> released = new ArrayList<>();
      for (RolloutVersion e : versions) {
        if (e.getRetained() && !keep.contains(e.getVersion())) {
          e.setRetained(false);
          released.add(e.getVersion());
        }
      }
      // Versions only matter while retained or recent; the oldest unretained ones go first.
      while (versions.size() > MAX_VERSIONS) {
        int drop = -1;
        for (int i = 0; i < versions.size(); i++) {
          if (!versions.get(i).getRetained()) {
            drop = i;
            break;
          }
        }
        if (drop < 0) {
          break;
        }
        versions.remove(drop);
      }
      GateProgress g = s.getGate();
      if (g != null && (!Long.valueOf(g.getCandidateVersion()).equals(s.getCandidateVersion())
          || g.getActiveVersion() != s.getActiveVersion() || s.getMode() != RolloutMode.GATED)) {
        s.setGate(null); // its candidate was decided or replaced, or the active version changed under it
      }
      s.setRevision(s.getRevision() + 1);
      s.setUpdatedAt(Instant.ofEpochMilli(now));
      s.setSignature(null);
      return new Change(s, released, decided);
    }
  }

  private static String reasonOr(RolloutCommand c, String fallback) {
    String r = c.getReason();
    return r == null || r.isBlank() ? fallback + " by " + c.getActor() : r;
  }

  private static String status(RolloutVersion e) {
    return e.getStatus().name().toLowerCase(Locale.ROOT).replace('_', ' ');
  }

  /** {@code auto|gated|manual}, case-insensitive. */
  public static RolloutMode parseMode(String raw) {
    if (raw != null) {
      for (RolloutMode m : RolloutMode.values()) {
        if (m.name().equalsIgnoreCase(raw.trim())) {
          return m;
        }
      }
    }
    throw new IllegalArgumentException("rollout mode must be auto, gated or manual, got " + raw);
  }
}
