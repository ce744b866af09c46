package io.lorastream.experiment;

import io.lorastream.localstack.LocalCluster;
import io.lorastream.lora.data.RotatingHyperplaneStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lorastream experiment spam|drift}: runs the ten variants on one workload through the
 * real pipeline and writes {@code results/<name>/report.md}, {@code results.json} and the charts.
 * Wiring only: options become an {@link ExperimentSettings} (defaults tuned per workload, see
 * {@link Defaults}), the workload is built, an embedded broker and registry are started unless
 * {@code --bootstrap} is given, and {@link ExperimentRunner} does the work.
 */
@Command(name = "experiment", mixinStandardHelpOptions = true,
    description = "Compare frozen, full fine-tuning, fixed-rank and progressive LoRA on one workload.",
    subcommands = {ExperimentCommand.Spam.class, ExperimentCommand.Drift.class, ExperimentCommand.Hyperplane.class})
public final class ExperimentCommand implements Runnable {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** Per-workload defaults: what an option means when it is not given. */
  record Defaults(int microBatch, int accumulation, double lr, double fullLr, long publishSteps, int window,
      int plateauWindow, double plateauMargin, int pretrainEpochs, double pretrainLr, int pretrainBatch) {}

  /** Builds a workload once its settings are valid (it may fetch and parse data). */
  @FunctionalInterface
  interface WorkloadLoader {
    Workload load(ExperimentSettings settings) throws java.io.IOException;
  }

  /** Options every workload shares; null = the workload's default. */
  static final class Common {
    @Option(names = "--out", description = "Output directory (default results/<workload>).")
    Path out;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of data order, init and training (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--seeds", defaultValue = "1", description = "Repeat the whole run with seeds seed, seed+1, ...; each "
        + "seed gets its own report in <out>/seed-<s>/ and <out>/report.md gives mean ± sd (default ${DEFAULT-VALUE}).")
    int seeds;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, gpu or gpu:N (default ${DEFAULT-VALUE}).")
    String device;
    @Option(names = "--variants",
        description = "Comma-separated subset of: frozen, full-ft, perceptron, logreg-adagrad, lora-r2, lora-r4, lora-r8, lora-r16, progressive-steps, "
            + "progressive-plateau, or all (default: all; for spam --model minilm " + SpamWorkload.MINILM_VARIANTS + ").")
    String variants;
    @Option(names = "--micro-batch") Integer microBatch;
    @Option(names = "--accumulation") Integer accumulation;
    @Option(names = "--lr", description = "LoRA learning rate.") Double lr;
    @Option(names = "--full-lr", description = "Full fine-tuning learning rate.") Double fullLr;
    @Option(names = "--alpha", defaultValue = "16") float alpha;
    @Option(names = "--targets", split = ",", description = "LoRA target layers (default: the model's; Q/V for the transformer).")
    List<String> targets;
    @Option(names = "--publish-steps", description = "Optimizer steps between snapshots.") Long publishSteps;
    @Option(names = "--window", description = "Examples per accuracy window.") Integer window;
    @Option(names = "--plateau-window") Integer plateauWindow;
    @Option(names = "--plateau-margin") Double plateauMargin;
    @Option(names = "--pretrain-epochs") Integer pretrainEpochs;
    @Option(names = "--pretrain-lr") Double pretrainLr;
    @Option(names = "--pretrain-batch") Integer pretrainBatch;
    @Option(names = "--no-tune", description = "Run the learning rates as given instead of choosing them (and the "
        + "variants the paired comparisons use) on the pretraining period first.")
    boolean noTune;
    @Option(names = "--bootstrap", description = "Use this Kafka cluster instead of an embedded one (needs --registry).")
    String bootstrap;
    @Option(names = "--registry", description = "Schema registry URL of --bootstrap's cluster.")
    String registry;

    ExperimentSettings settings(String workload, Defaults d) {
      return new ExperimentSettings(out != null ? out : Path.of("results", workload), seed, device,
          or(microBatch, d.microBatch()), or(accumulation, d.accumulation()), or(lr, d.lr()), or(fullLr, d.fullLr()),
          alpha, targets == null ? List.of() : targets, or(publishSteps, d.publishSteps()), or(window, d.window()),
          or(plateauWindow, d.plateauWindow()), or(plateauMargin, d.plateauMargin()),
          or(pretrainEpochs, d.pretrainEpochs()), or(pretrainLr, d.pretrainLr()), or(pretrainBatch, d.pretrainBatch()),
          variants == null ? "all" : variants);
    }

    /**
     * Validates the settings, builds the workload and runs it; an invalid flag or an unavailable
     * data set ends with the message on stderr and exit status 2.
     */
    int run(String workload, Defaults d, picocli.CommandLine.Model.CommandSpec self, WorkloadLoader loader)
        throws Exception {
      ExperimentSettings s;
      Workload w;
      try {
        if (seeds < 1 || seeds > 100) {
          throw new IllegalArgumentException("--seeds must be 1..100, got " + seeds);
        }
        s = settings(workload, d);
        w = loader.load(s);
      } catch (io.lorastream.experiment.data.DatasetUnavailableException | IllegalArgumentException e) {
        System.err.println("lorastream experiment " + workload + ": " + e.getMessage());
        return 2;
      }
      if (seeds == 1) {
        return execute(w, s, this, commandLine(self), System.out);
      }
      List<ExperimentResult> runs = new java.util.ArrayList<>();
      List<Long> used = new java.util.ArrayList<>();
      for (int k = 0; k < seeds; k++) {
        long sk = seed + k;
        ExperimentSettings sks = s.withSeed(sk, s.out().resolve("seed-" + sk));
        Workload wk = k == 0 ? w : loader.load(sks); // synthetic streams depend on the seed
        System.out.printf("[%s] seed %d (%d of %d)%n", workload, sk, k + 1, seeds);
        runs.add(executeOne(wk, sks, this, commandLine(self) + " [seed " + sk + "]", System.out));
        used.add(sk);
        SeedsReport.write(runs, used, s.out(), commandLine(self) + (runs.size() < seeds
            ? " [partial: " + runs.size() + " of " + seeds + " seeds so far]" : ""));
      }
      System.out.printf("[%s] %d seeds done; wrote %s%n", workload, seeds, s.out().resolve(ExperimentReport.REPORT_MD));
      return 0;
    }

    private static <T> T or(T v, T d) {
      return v != null ? v : d;
    }
  }

  /** Runs {@code workload} with {@code settings} on the chosen cluster and writes the report. */
  static int execute(Workload workload, ExperimentSettings settings, Common c, String commandLine, PrintStream out)
      throws Exception {
    executeOne(workload, settings, c, commandLine, out);
    return 0;
  }

  /** As {@link #execute}, returning the result. */
  static ExperimentResult executeOne(Workload workload, ExperimentSettings settings, Common c, String commandLine,
      PrintStream out) throws Exception {
    if ((c.bootstrap == null) != (c.registry == null)) {
      throw new IllegalArgumentException("--bootstrap and --registry go together. Fix: give both, or neither for an "
          + "embedded broker and registry.");
    }
    long t0 = System.nanoTime();
    ExperimentResult result;
    // Partial results after every variant: an interrupted run keeps what it measured.
    java.util.function.BiConsumer<ExperimentResult, Integer> partial = (r, total) -> {
      if (r.variants().size() < total) {
        try {
          ExperimentReport.write(r, settings.out(), commandLine + " [partial: " + r.variants().size() + " of " + total
              + " variants so far]");
        } catch (java.io.IOException e) {
          out.printf("[%s] cannot write partial results to %s: %s%n", workload.name(), settings.out(), e.getMessage());
        }
      }
    };
    if (c.bootstrap != null) {
      result = new ExperimentRunner(workload, settings, c.bootstrap, c.registry, out).tune(!c.noTune)
          .onVariantDone(partial).run();
    } else {
      out.printf("[%s] starting an embedded Kafka broker (KRaft) and schema registry...%n", workload.name());
      try (LocalCluster cluster = LocalCluster.builder().partitions(1).build().start()) {
        // Ctrl-C: stop the embedded broker cleanly so its temporary data directory is removed.
        Thread hook = new Thread(cluster::close, "lorastream-experiment-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
          result = new ExperimentRunner(workload, settings, cluster.bootstrapServers(), cluster.registryUrl(), out)
              .tune(!c.noTune).onVariantDone(partial).run();
        } finally {
          try {
            Runtime.getRuntime().removeShutdownHook(hook);
          } catch (IllegalStateException shuttingDown) {
            // the hook is already running
          }
        }
      }
    }
    List<Path> files = ExperimentReport.write(result, settings.out(), commandLine);
    out.printf("[%s] done in %.0f s; wrote %s%n", workload.name(), (System.nanoTime() - t0) / 1e9,
        files.stream().map(Path::toString).toList());
    return result;
  }

  /** The command as typed, for the report (from the root parse, so it includes every flag). */
  static String commandLine(picocli.CommandLine.Model.CommandSpec sub) {
    List<String> args = sub.root().commandLine().getParseResult() == null ? List.of()
        : sub.root().commandLine().getParseResult().originalArgs();
    return "./lorastream " + (args.isEmpty() ? "experiment " + sub.name() : String.join(" ", args));
  }

  /** {@code experiment drift}: the rotating-subspace stream. */
  @Command(name = "drift", mixinStandardHelpOptions = true,
      description = "Run the variants on the synthetic rotating-subspace drift stream (MLP base).")
  static final class Drift implements Callable<Integer> {
    static final Defaults DEFAULTS = new Defaults(16, 2, 0.005, 0.005, 50, 500, 20, 0.01, 10, 5e-3, 256);
    @Mixin Common common;
    @Spec picocli.CommandLine.Model.CommandSpec self;
    @Option(names = "--stream-examples", defaultValue = "20000",
        description = "Examples streamed, split over the five streamed concepts (default ${DEFAULT-VALUE}).")
    long streamExamples;
    @Option(names = "--pretrain-examples", defaultValue = "8000", description = "Concept-0 examples for pretraining.")
    int pretrainExamples;

    @Override
    public Integer call() throws Exception {
      return common.run("drift", DEFAULTS, self, s -> new DriftWorkload(s.seed(), streamExamples, pretrainExamples));
    }
  }

  /** {@code experiment hyperplane}: the rotating-hyperplane stream of MOA and River. */
  @Command(name = "hyperplane", mixinStandardHelpOptions = true,
      description = "Run the variants on the rotating-hyperplane drift stream (MOA's HyperplaneGenerator, River's "
          + "synth.Hyperplane; MLP base).")
  static final class Hyperplane implements Callable<Integer> {
    /** The drift workload's settings, not tuned for this stream. */
    static final Defaults DEFAULTS = Drift.DEFAULTS;
    @Mixin Common common;
    @Spec picocli.CommandLine.Model.CommandSpec self;
    @Option(names = "--stream-examples", defaultValue = "20000", description = "Examples streamed (default ${DEFAULT-VALUE}).")
    int streamExamples;
    @Option(names = "--pretrain-examples", defaultValue = "5000",
        description = "The generator's first examples, the pretraining period (default ${DEFAULT-VALUE}).")
    int pretrainExamples;
    @Option(names = "--features", defaultValue = "10", description = "MOA numAtts (default ${DEFAULT-VALUE}).")
    int features;
    @Option(names = "--drift-features", defaultValue = "2", description = "MOA numDriftAtts (default ${DEFAULT-VALUE}).")
    int driftFeatures;
    @Option(names = "--magnitude", defaultValue = "0.001", description = "MOA magChange per example (default ${DEFAULT-VALUE}).")
    double magnitude;
    @Option(names = "--noise", defaultValue = "0.05", description = "Share of flipped labels (default ${DEFAULT-VALUE}).")
    double noise;
    @Option(names = "--sigma", defaultValue = "0.1", description = "Chance of a direction change per example (default ${DEFAULT-VALUE}).")
    double sigma;

    @Override
    public Integer call() throws Exception {
      return common.run("hyperplane", DEFAULTS, self, s -> new HyperplaneWorkload(new RotatingHyperplaneStream.Config(
          features, driftFeatures, magnitude, noise, sigma, (long) pretrainExamples + streamExamples, s.seed()),
          pretrainExamples));
    }
  }

  /** {@code experiment spam}: the SpamAssassin corpus ordered by date, transformer base. */
  @Command(name = "spam", mixinStandardHelpOptions = true,
      description = "Run the variants on the SpamAssassin corpus in date order (transformer base, LoRA on Q/V).")
  static final class Spam implements Callable<Integer> {
    static final Defaults DEFAULTS = SpamWorkload.DEFAULTS;
    @Mixin Common common;
    @Spec picocli.CommandLine.Model.CommandSpec self;
    @Mixin SpamWorkload.Options options;

    @Override
    public Integer call() throws Exception {
      if (common.variants == null) {
        common.variants = SpamWorkload.defaultVariants(options);
      }
      return common.run("spam", DEFAULTS, self, s -> SpamWorkload.load(options, s.seed(), System.out));
    }
  }

}
