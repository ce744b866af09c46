package io.lorastream.lora.train;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * When adapter rank grows. Three forms:
 *
 * <ul>
 *   <li>{@code fixed:R} - rank R forever;
 *   <li>{@code steps:R0@S0,R1@S1,...} - rank Ri from optimizer step Si on (the default is the
 *       progressive {@code steps:2@0,4@100,8@250,16@500});
 *   <li>{@code plateau:R0,R1,...[:window=W][:margin=M]} - start at R0 and move to the next rank when
 *       the mean loss of the last W optimizer steps is not at least a fraction M lower than the
 *       mean of the W steps before it (relative improvement, so the margin is scale-free). After a
 *       growth both windows restart, giving the new rank W..2W steps to show progress.
 * </ul>
 *
 * A schedule never shrinks a rank, and the learner caps every target at the adapter's maxRank
 * (and per-layer ceilings), so {@code steps:...,32@900} with maxRank 16 stops at 16. Instances are
 * immutable; the per-run state (plateau windows) lives in a {@link Controller}.
 */
public sealed interface RankSchedule permits RankSchedule.Fixed, RankSchedule.Steps, RankSchedule.Plateau {

  /** Rank an adapter starts with. */
  int initialRank();

  /** CLI form that {@link #parse} turns back into an equal schedule. */
  String toSpec();

  /** Fresh per-run state. */
  Controller controller();

  /** Rank R forever. */
  static RankSchedule fixed(int rank) {
    return new Fixed(rank);
  }

  /** Progressive default: 2 from step 0, 4 from 100, 8 from 250, 16 from 500. */
  static RankSchedule progressive() {
    return steps(Map.of(0L, 2, 100L, 4, 250L, 8, 500L, 16));
  }

  /** Milestones: optimizer step -> rank from that step on. */
  static RankSchedule steps(Map<Long, Integer> milestones) {
    return new Steps(new TreeMap<>(milestones));
  }

  /** Plateau-triggered growth through {@code ranks}. */
  static RankSchedule plateau(List<Integer> ranks, int window, double margin) {
    return new Plateau(ranks, window, margin);
  }

  /**
   * Parses the CLI form (see the class comment).
   *
   * @throws IllegalArgumentException naming the problem and showing a valid example
   */
  static RankSchedule parse(String spec) {
    if (spec == null || spec.isBlank()) {
      throw bad(spec, "empty schedule");
    }
    String s = spec.trim();
    int colon = s.indexOf(':');
    String kind = colon < 0 ? s : s.substring(0, colon);
    String rest = colon < 0 ? "" : s.substring(colon + 1);
    switch (kind) {
      case "fixed" -> {
        if (rest.isEmpty()) {
          throw bad(spec, "fixed needs a rank like fixed:4");
        }
        return new Fixed(parseInt(spec, rest, "rank"));
      }
      case "progressive" -> {
        if (!rest.isEmpty()) {
          throw bad(spec, "'progressive' takes no arguments");
        }
        return progressive();
      }
      case "steps" -> {
        if (rest.isEmpty()) {
          throw bad(spec, "steps needs milestones like 2@0,4@50");
        }
        TreeMap<Long, Integer> m = new TreeMap<>();
        for (String part : rest.split(",")) {
          String[] rs = part.trim().split("@");
          if (rs.length != 2) {
            throw bad(spec, "milestone '" + part + "' is not RANK@STEP");
          }
          int r = parseInt(spec, rs[0].trim(), "rank");
          long step = parseLong(spec, rs[1].trim(), "step");
          if (m.put(step, r) != null) {
            throw bad(spec, "step " + step + " appears twice");
          }
        }
        try {
          return new Steps(m);
        } catch (IllegalArgumentException e) {
          throw bad(spec, e.getMessage());
        }
      }
      case "plateau" -> {
        String[] parts = rest.split(":");
        if (parts.length == 0 || parts[0].isBlank()) {
          throw bad(spec, "plateau needs ranks like 2,4,8,16");
        }
        List<Integer> ranks = new ArrayList<>();
        for (String r : parts[0].split(",")) {
          ranks.add(parseInt(spec, r.trim(), "rank"));
        }
        int window = 50;
        double margin = 0.01;
        for (int i = 1; i < parts.length; i++) {
          String[] kv = parts[i].split("=", 2);
          if (kv.length != 2) {
            throw bad(spec, "option '" + parts[i] + "' is not key=value");
          }
          switch (kv[0].trim()) {
            case "window" -> window = parseInt(spec, kv[1].trim(), "window");
            case "margin" -> {
              try {
                margin = Double.parseDouble(kv[1].trim());
              } catch (NumberFormatException e) {
                throw bad(spec, "margin '" + kv[1] + "' is not a number");
              }
            }
            default -> throw bad(spec, "unknown plateau option '" + kv[0] + "' (use window= or margin=)");
          }
        }
        try {
          return new Plateau(ranks, window, margin);
        } catch (IllegalArgumentException e) {
          throw bad(spec, e.getMessage());
        }
      }
      default -> throw bad(spec, "unknown kind '" + kind + "' (use fixed, steps, plateau or progressive)");
    }
  }

  private static IllegalArgumentException bad(String spec, String why) {
    return new IllegalArgumentException(
        "rank schedule '" + spec + "': " + why
            + ". Examples: fixed:4 | steps:2@0,4@50,8@150,16@300 | plateau:2,4,8,16:window=50:margin=0.01");
  }

  private static int parseInt(String spec, String v, String what) {
    try {
      int x = Integer.parseInt(v);
      if (x <= 0) {
        throw bad(spec, what + " must be > 0, got " + x);
      }
      return x;
    } catch (NumberFormatException e) {
      throw bad(spec, what + " '" + v + "' is not an integer");
    }
  }

  private static long parseLong(String spec, String v, String what) {
    try {
      long x = Long.parseLong(v);
      if (x < 0) {
        throw bad(spec, what + " must be >= 0, got " + x);
      }
      return x;
    } catch (NumberFormatException e) {
      throw bad(spec, what + " '" + v + "' is not an integer");
    }
  }

  /** Per-run state of a schedule: asked once after every optimizer step. */
  interface Controller {
    /**
     * Target rank after an optimizer step (before per-layer caps).
     *
     * @param optimizerStep steps applied so far, including this one
     * @param stepLoss mean data loss of the micro-batches of this step
     */
    int afterStep(long optimizerStep, double stepLoss);

    /** Re-synchronizes after a restore: the adapter currently has {@code rank}. */
    void resume(long optimizerStep, int rank);
  }

  /** Rank R forever. */
  record Fixed(int rank) implements RankSchedule {
    public Fixed {
      if (rank <= 0) {
        throw new IllegalArgumentException("fixed rank must be > 0, got " + rank);
      }
    }

    @Override
    public int initialRank() {
      return rank;
    }

    @Override
    public String toSpec() {
      return "fixed:" + rank;
    }

    @Override
    public Controller controller() {
      return new Controller() {
        @Override
        public int afterStep(long optimizerStep, double stepLoss) {
          return rank;
        }

        @Override
        public void resume(long optimizerStep, int r) {}
      };
    }
  }

  /** Rank from optimizer-step milestones. */
  record Steps(NavigableMap<Long, Integer> milestones) implements RankSchedule {
    public Steps {
      if (milestones == null || milestones.isEmpty()) {
        throw new IllegalArgumentException("steps schedule needs at least one milestone");
      }
      TreeMap<Long, Integer> m = new TreeMap<>(milestones);
      if (m.firstKey() != 0L) {
        throw new IllegalArgumentException("steps schedule must have a milestone at step 0 (the initial rank)");
      }
      int prev = 0;
      for (Map.Entry<Long, Integer> e : m.entrySet()) {
        if (e.getValue() <= 0) {
          throw new IllegalArgumentException("rank at step " + e.getKey() + " must be > 0");
        }
        if (e.getValue() <= prev) {
          throw new IllegalArgumentException("ranks must increase with steps; rank " + e.getValue()
              + " at step " + e.getKey() + " is not above " + prev);
        }
        prev = e.getValue();
      }
      milestones = Collections.unmodifiableNavigableMap(m);
    }

    @Override
    public int initialRank() {
      return milestones.firstEntry().getValue();
    }

    /** Rank in force at an optimizer step. */
    public int rankAt(long optimizerStep) {
      Map.Entry<Long, Integer> e = milestones.floorEntry(optimizerStep);
      return e == null ? initialRank() : e.getValue();
    }

    @Override
    public String toSpec() {
      StringBuilder sb = new StringBuilder("steps:");
      milestones.forEach((s, r) -> sb.append(sb.length() > 6 ? "," : "").append(r).append('@').append(s));
      return sb.toString();
    }

    @Override
    public Controller controller() {
      return new Controller() {
        @Override
        public int afterStep(long optimizerStep, double stepLoss) {
          return rankAt(optimizerStep);
        }

        @Override
        public void resume(long optimizerStep, int r) {}
      };
    }
  }

  /** Growth when the windowed mean loss stops improving by a relative margin. */
  record Plateau(List<Integer> ranks, int window, double margin) implements RankSchedule {
    public Plateau {
      ranks = List.copyOf(ranks);
      if (ranks.isEmpty()) {
        throw new IllegalArgumentException("plateau schedule needs at least one rank");
      }
      for (int i = 0; i < ranks.size(); i++) {
        if (ranks.get(i) <= 0 || (i > 0 && ranks.get(i) <= ranks.get(i - 1))) {
          throw new IllegalArgumentException("plateau ranks must be positive and increasing, got " + ranks);
        }
      }
      if (window < 1) {
        throw new IllegalArgumentException("plateau window must be >= 1, got " + window);
      }
      if (!(margin >= 0) || !Double.isFinite(margin)) {
        throw new IllegalArgumentException("plateau margin must be finite and >= 0, got " + margin);
      }
    }

    @Override
    public int initialRank() {
      return ranks.get(0);
    }

    @Override
    public String toSpec() {
      StringBuilder sb = new StringBuilder("plateau:");
      for (int i = 0; i < ranks.size(); i++) {
        sb.append(i > 0 ? "," : "").append(ranks.get(i));
      }
      return sb.append(":window=").append(window).append(":margin=").append(margin).toString();
    }

    @Override
    public Controller controller() {
      return new PlateauController(this);
    }
  }

  /** Two back-to-back windows of step losses; grows when the newer one is not better enough. */
  final class PlateauController implements Controller {
    private final Plateau p;
    private final Deque<Double> losses = new ArrayDeque<>();
    private int index;

    PlateauController(Plateau p) {
      this.p = p;
    }

    @Override
    public int afterStep(long optimizerStep, double stepLoss) {
      if (!Double.isFinite(stepLoss)) {
        return p.ranks().get(index);
      }
      losses.addLast(stepLoss);
      if (losses.size() > 2 * p.window()) {
        losses.removeFirst();
      }
      if (losses.size() == 2 * p.window() && index < p.ranks().size() - 1) {
        double older = 0;
        double newer = 0;
        int i = 0;
        for (double l : losses) {
          if (i++ < p.window()) {
            older += l;
          } else {
            newer += l;
          }
        }
        older /= p.window();
        newer /= p.window();
        if (older - newer < p.margin() * Math.abs(older)) {
          index++;
          losses.clear();
        }
      }
      return p.ranks().get(index);
    }

    @Override
    public void resume(long optimizerStep, int rank) {
      losses.clear();
      index = 0;
      while (index < p.ranks().size() - 1 && p.ranks().get(index + 1) <= rank) {
        index++;
      }
    }
  }
}
