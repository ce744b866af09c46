package io.lorastream.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Kafka runs of several trainer variants, each between two in-memory runs of the same step, in a
 * rotating order. A Kafka run's reference is the mean of its two neighbours, and a variant's ratio
 * is the median of its runs' ratios, so a machine whose speed drifts within a section moves both
 * sides of every ratio together: in one trainer section on 2 cores the same in-memory run
 * measured 22,984 and then 38,612 ex/s, while a reference averaged over the whole section had
 * credited every late variant with the machine's speed-up.
 */
final class PairedRuns {
  /**
   * One way of running the trainer: run-name prefix, its words in the report's rows, its settings;
   * or, with {@code besideSpinner}, the reference that trains the same step from memory beside a
   * thread spinning on the other core.
   */
  record Variant(String name, String label, Map<String, String> settings, boolean besideSpinner) {
    Variant(String name, String label, Map<String, String> settings) {
      this(name, label, settings, false);
    }

    static Variant besideSpinner(String name) {
      return new Variant(name, "in memory beside a thread spinning on the other core", Map.of(), true);
    }
  }

  /** A variant's run (through Kafka, or a reference run) and the mean rate of the in-memory runs before and after it. */
  record Run(TrainerRuns.Result run, double reference) {
    double ratio() {
      return run.examplesPerSecond() / reference;
    }
  }

  @FunctionalInterface
  interface VariantRun {
    TrainerRuns.Result run(Variant v, int repeat) throws Exception;
  }

  @FunctionalInterface
  interface MemoryRun {
    TrainerRuns.Result run(int index) throws Exception;
  }

  /** The in-memory reference runs of a section: {@code examples} examples of {@code tc}'s step on {@code base}. */
  static MemoryRun memory(BenchContext ctx, String prefix, io.lorastream.lora.model.BaseModel base,
      io.lorastream.trainer.TrainerConfig tc, ExampleData.Batches batches, long examples) {
    return i -> TrainerRuns.memory(ctx, base, prefix + i, tc.adapterConfig(), tc.learnerConfig(), batches, examples, true);
  }

  /**
   * The variants' runs of a section: the trainer through Kafka with the variant's settings, or the
   * spinner reference on {@code tc}'s step, each reported as progress.
   */
  static VariantRun trainer(BenchContext ctx, String section, io.lorastream.lora.model.BaseModel base,
      io.lorastream.trainer.TrainerConfig tc, ExampleData.Batches batches, long examples) {
    return (v, rep) -> {
      TrainerRuns.Result r = v.besideSpinner()
          ? TrainerRuns.memoryBesideSpinner(ctx, base, v.name() + rep, tc.adapterConfig(), tc.learnerConfig(), batches,
              examples, true)
          : TrainerRuns.kafka(ctx, v.name() + rep + "-" + System.currentTimeMillis(), v.settings(), examples, true, null);
      ctx.progress("%s: %s: %.0f ex/s (%d snapshots in the window)", section, v.label(), r.examplesPerSecond(),
          r.snapshots().size());
      return r;
    };
  }

  private final List<Variant> variants;
  private final List<TrainerRuns.Result> memory;
  private final List<List<Run>> runs;
  /** The variant of each run, in the order they ran: run i sits between memory i and i + 1. */
  private final List<Integer> order;

  private PairedRuns(List<Variant> variants, List<TrainerRuns.Result> memory, List<List<Run>> runs, List<Integer> order) {
    this.variants = variants;
    this.memory = memory;
    this.runs = runs;
    this.order = order;
  }

  /**
   * Runs memory, then {@code repeats} rounds of every variant, each followed by another memory
   * run; round {@code r} starts at variant {@code r}, so no variant always runs first.
   */
  static PairedRuns measure(List<Variant> variants, int repeats, MemoryRun mem, VariantRun variantRun) throws Exception {
    List<TrainerRuns.Result> memory = new ArrayList<>();
    List<List<Run>> runs = new ArrayList<>();
    List<Integer> order = new ArrayList<>();
    variants.forEach(v -> runs.add(new ArrayList<>()));
    memory.add(mem.run(0));
    for (int rep = 0; rep < repeats; rep++) {
      for (int k = 0; k < variants.size(); k++) {
        int v = (k + rep) % variants.size();
        TrainerRuns.Result r = variantRun.run(variants.get(v), rep);
        TrainerRuns.Result before = memory.get(memory.size() - 1);
        TrainerRuns.Result after = mem.run(memory.size());
        memory.add(after);
        runs.get(v).add(new Run(r, (before.examplesPerSecond() + after.examplesPerSecond()) / 2));
        order.add(v);
      }
    }
    return new PairedRuns(List.copyOf(variants), memory, runs, order);
  }

  /** "1 run" or "N runs", for figure names. */
  static String runsLabel(int n) {
    return n == 1 ? "1 run" : n + " runs";
  }

  List<TrainerRuns.Result> memory() {
    return memory;
  }

  List<Run> runs(int variant) {
    return runs.get(variant);
  }

  double meanRate(int variant) {
    return Stats.mean(runs.get(variant).stream().mapToDouble(r -> r.run().examplesPerSecond()).toArray());
  }

  double meanReference(int variant) {
    return Stats.mean(runs.get(variant).stream().mapToDouble(Run::reference).toArray());
  }

  /**
   * The median of the variant's per-run ratios (the mean of two): one run caught in a burst of the
   * host taking the CPUs away (steal) should not move a variant's figure.
   */
  double ratio(int variant) {
    return Stats.median(runs.get(variant).stream().mapToDouble(Run::ratio).toArray());
  }

  /**
   * How much this machine's speed moved between runs: the median, over consecutive in-memory runs
   * (identical work), of |rate(i+1) / rate(i) - 1|. A ratio gap smaller than this is within noise.
   */
  private double memorySpread() {
    double[] steps = new double[memory.size() - 1];
    for (int i = 1; i < memory.size(); i++) {
      steps[i - 1] = Math.abs(memory.get(i).examplesPerSecond() / memory.get(i - 1).examplesPerSecond() - 1);
    }
    return steps.length == 0 ? Double.NaN : Stats.median(steps);
  }

  /** The in-memory runs' spread in words, for a figure's reason. */
  String spreadNote() {
    double[] rates = memory.stream().mapToDouble(TrainerRuns.Result::examplesPerSecond).toArray();
    return String.format(java.util.Locale.ROOT, "the %d in-memory runs of identical work measured %.0f to %.0f ex/s, a median"
        + " change of %s from one run to the next", rates.length, Stats.min(rates), Stats.max(rates),
        Report.pct(memorySpread()));
  }

  /** The run whose ratio is closest to its variant's ratio: it stands for the variant in profiles. */
  TrainerRuns.Result typical(int variant) {
    double median = ratio(variant);
    return runs.get(variant).stream().min(Comparator.comparingDouble(r -> Math.abs(r.ratio() - median))).orElseThrow()
        .run();
  }

  /** The figure of a variant: its mean rate against its runs' mean reference, with the median of the per-run ratios. */
  Figure figure(int variant, String item, String name, String reference) {
    return Figure.of(item, name, meanRate(variant), "ex/s", reference, meanReference(variant))
        .withRatio(ratio(variant), "median of per-run ratios to the in-memory runs around each");
  }

  /** Formats one run as a report row; {@code ratio} is NaN for an in-memory run. */
  @FunctionalInterface
  interface RowFormat {
    String row(String name, TrainerRuns.Result run, double ratio);
  }

  /** The in-memory and variant runs in the order they ran, as report rows. */
  List<String> rows(RowFormat format) {
    List<String> out = new ArrayList<>();
    out.add(format.row("in-memory #0", memory.get(0), Double.NaN));
    int[] next = new int[variants.size()];
    for (int i = 0; i < order.size(); i++) {
      int v = order.get(i);
      Run r = runs.get(v).get(next[v]++);
      out.add(format.row(variants.get(v).label() + " #" + next[v], r.run(), r.ratio()));
      out.add(format.row("in-memory #" + (i + 1), memory.get(i + 1), Double.NaN));
    }
    return out;
  }
}
