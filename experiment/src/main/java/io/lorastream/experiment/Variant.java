package io.lorastream.experiment;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One contender in an experiment: the frozen base, online full fine-tuning, an online linear
 * baseline over the same input ({@link OnlineLinear}), or a LoRA adapter with a rank schedule. The
 * standard set is fourteen (the last four at a matched scale); {@link #select} picks a subset by name for quick runs. The step schedule's
 * milestones scale with the stream so that the progressive run reaches r=16 at half time on any
 * workload length.
 *
 * @param name stable id used in topics, results.json and chart legends
 * @param kind how the variant learns
 * @param schedule rank schedule spec for LoRA variants ({@code fixed:R}, {@code steps:...},
 *     {@code plateau:...}); empty otherwise
 * @param alphaFactor the variant's alpha is the run's {@code --alpha} times this
 * @param keepScale whether rank growth raises alpha so the scale stays (see
 *     {@code trainer.rank.growth.keeps.scale})
 */
public record Variant(String name, Kind kind, String schedule, double alphaFactor, boolean keepScale) {

  /** How a variant learns. */
  public enum Kind { FROZEN, FULL, LORA, LINEAR }

  /** Suffix of the variants that run at lora-r2's scale s = alpha/2 whatever their rank. */
  public static final String MATCHED = "-matched";

  /** A variant at the run's alpha. */
  public Variant(String name, Kind kind, String schedule) {
    this(name, kind, schedule, 1, false);
  }

  public Variant {
    if (!(alphaFactor > 0) || (kind != Kind.LORA && (alphaFactor != 1 || keepScale))) {
      throw new IllegalArgumentException("variant " + name + ": only LoRA variants change alpha, by a positive factor");
    }
    if (!name.matches("[a-z0-9-]+")) {
      throw new IllegalArgumentException("variant name must be lower-case letters, digits and '-', got '" + name + "'");
    }
    if ((kind == Kind.LORA) == schedule.isEmpty()) {
      throw new IllegalArgumentException("variant " + name + ": LoRA variants need a rank schedule, others none");
    }
  }

  /** The online perceptron baseline's name. */
  public static final String PERCEPTRON = "perceptron";
  /** The online logistic-regression (AdaGrad) baseline's name. */
  public static final String LOGREG = "logreg-adagrad";

  public boolean progressive() {
    return kind == Kind.LORA && isProgressive(schedule);
  }

  /** Whether a variant of this name runs at lora-r2's scale (lora-r2 itself belongs to both families). */
  public static boolean matched(String name) {
    return name.endsWith(MATCHED) || name.equals("lora-r2");
  }

  /** Whether a rank schedule spec can change the rank during a run. */
  public static boolean isProgressive(String schedule) {
    return !schedule.isEmpty() && !schedule.startsWith("fixed:");
  }

  /**
   * The eight variants of the issue. {@code totalSteps} is the number of optimizer steps the stream
   * yields; the step schedule grows 2→4→8→16 at 1/8, 1/4 and 1/2 of it. The plateau schedule grows
   * when the mean loss of the last {@code plateauWindow} steps is not {@code plateauMargin} (relative)
   * below the window before.
   */
  public static List<Variant> standard(long totalSteps, int plateauWindow, double plateauMargin) {
    long s4 = Math.max(1, totalSteps / 8);
    long s8 = Math.max(s4 + 1, totalSteps / 4);
    long s16 = Math.max(s8 + 1, totalSteps / 2);
    List<Variant> v = new ArrayList<>();
    v.add(new Variant("frozen", Kind.FROZEN, ""));
    v.add(new Variant("full-ft", Kind.FULL, ""));
    v.add(new Variant(PERCEPTRON, Kind.LINEAR, ""));
    v.add(new Variant(LOGREG, Kind.LINEAR, ""));
    for (int r : new int[] {2, 4, 8, 16}) {
      v.add(new Variant("lora-r" + r, Kind.LORA, "fixed:" + r));
    }
    v.add(new Variant("progressive-steps", Kind.LORA, "steps:2@0,4@" + s4 + ",8@" + s8 + ",16@" + s16));
    v.add(new Variant("progressive-plateau", Kind.LORA,
        String.format(Locale.ROOT, "plateau:2,4,8,16:window=%d:margin=%s", plateauWindow, plateauMargin)));
    // The same ranks at lora-r2's scale: with a fixed alpha, s = alpha/r gives r=16 an eighth of
    // r=2's step size, which confounds "more rank" with "smaller updates".
    for (int r : new int[] {4, 8, 16}) {
      v.add(new Variant("lora-r" + r + MATCHED, Kind.LORA, "fixed:" + r, r / 2.0, false));
    }
    v.add(new Variant("progressive-steps" + MATCHED, Kind.LORA, "steps:2@0,4@" + s4 + ",8@" + s8 + ",16@" + s16, 1,
        true));
    return List.copyOf(v);
  }

  /**
   * The variants named in {@code csv} (comma-separated names of the standard set), in the standard
   * order; empty or "all" selects every one.
   *
   * @throws IllegalArgumentException naming the unknown variant and the valid names
   */
  public static List<Variant> select(List<Variant> all, String csv) {
    if (csv == null || csv.isBlank() || csv.trim().equals("all")) {
      return all;
    }
    Map<String, Variant> byName = new LinkedHashMap<>();
    all.forEach(v -> byName.put(v.name(), v));
    List<String> wanted = new ArrayList<>();
    for (String n : csv.split(",")) {
      String t = n.trim();
      if (!byName.containsKey(t)) {
        throw new IllegalArgumentException("unknown variant '" + t + "'; valid: " + String.join(", ", byName.keySet()));
      }
      wanted.add(t);
    }
    return all.stream().filter(v -> wanted.contains(v.name())).toList();
  }
}
