package io.lorastream.stream.control;

import io.lorastream.stream.rollout.RolloutConfig;
import io.lorastream.stream.rollout.RolloutRules;
import io.lorastream.stream.rollout.RolloutSigning;

import io.lorastream.avro.GateProgress;
import io.lorastream.avro.LabeledExample;
import io.lorastream.stream.serving.ScoringModel;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The gate of one candidate: scores the candidate and the active version on the same holdout
 * examples, and once it has seen {@code examples} of them decides. The candidate is promoted when
 * its accuracy is at least the active version's minus {@code margin}, and rejected otherwise, with
 * the measured figures either way. Holdout examples are never trained on, so neither version has
 * seen them. Pure logic: the controller feeds it examples of the adapter's task, records its
 * progress in the state every {@link #PERSIST_EVERY} examples, and a restarted controller goes on
 * from the recorded counts.
 */
final class CandidateGate {
  /** The figures a decision carries, by name. */
  static final String N = "gate_examples";
  static final String CANDIDATE_ACCURACY = "candidate_accuracy";
  static final String ACTIVE_ACCURACY = "active_accuracy";
  static final String MARGIN = "margin";
  static final String ERRORS = "gate_errors";
  /** How often (in scored examples) the controller records the gate's progress in the state. */
  static final int PERSIST_EVERY = 10;

  /** A finished evaluation. */
  record Verdict(boolean promote, long candidateVersion, long activeVersion, Map<String, Double> figures,
      String reason) {
  }

  private final long candidateVersion;
  private final long activeVersion;
  private final ScoringModel candidate;
  private final ScoringModel active;
  private final int examples;
  private final double margin;
  private int seen;
  private int candidateRight;
  private int activeRight;
  private int errors;

  /** A gate that goes on from {@code from} (null: from zero), as recorded in the state. */
  CandidateGate(ScoringModel candidate, ScoringModel active, int examples, double margin, GateProgress from) {
    this(candidate, active, examples, margin);
    if (from != null && from.getCandidateVersion() == candidateVersion && from.getActiveVersion() == activeVersion) {
      seen = from.getExamples();
      candidateRight = from.getCandidateRight();
      activeRight = from.getActiveRight();
      errors = from.getErrors();
    }
  }

  /** The counts so far, for the state. */
  GateProgress progress() {
    return GateProgress.newBuilder().setCandidateVersion(candidateVersion).setActiveVersion(activeVersion)
        .setExamples(seen).setCandidateRight(candidateRight).setActiveRight(activeRight).setErrors(errors).build();
  }

  CandidateGate(ScoringModel candidate, ScoringModel active, int examples, double margin) {
    if (examples < 1) {
      throw new IllegalArgumentException("examples must be >= 1, got " + examples);
    }
    this.candidate = candidate;
    this.active = active;
    this.candidateVersion = candidate.version();
    this.activeVersion = active.version();
    this.examples = examples;
    this.margin = margin;
  }

  long candidateVersion() {
    return candidateVersion;
  }

  long activeVersion() {
    return activeVersion;
  }

  int seen() {
    return seen;
  }

  /** Scores one labelled holdout example; the verdict once enough have been seen. */
  Optional<Verdict> offer(LabeledExample ex) {
    int label = ex.getLabel();
    try {
      if (candidate.predict(ex) == label) {
        candidateRight++;
      }
      if (active.predict(ex) == label) {
        activeRight++;
      }
    } catch (RuntimeException e) {
      // An example neither model can read (wrong width, say) says nothing about either of them.
      errors++;
      return Optional.empty();
    }
    seen++;
    return seen >= examples ? Optional.of(verdict()) : Optional.empty();
  }

  private Verdict verdict() {
    double cand = candidateRight / (double) seen;
    double act = activeRight / (double) seen;
    Map<String, Double> figures = new HashMap<>();
    figures.put(N, (double) seen);
    figures.put(CANDIDATE_ACCURACY, cand);
    figures.put(ACTIVE_ACCURACY, act);
    figures.put(MARGIN, margin);
    figures.put(ERRORS, (double) errors);
    boolean promote = cand >= act - margin;
    String reason = String.format(java.util.Locale.ROOT,
        "gate on %d holdout examples: candidate v%d %.4f vs active v%d %.4f (margin %.4f): %s", seen,
        candidateVersion, cand, activeVersion, act, margin,
        promote ? "not worse than the margin allows" : "worse than active by more than the margin");
    return new Verdict(promote, candidateVersion, activeVersion, figures, reason);
  }
}
