package io.lorastream.launcher;

import io.lorastream.localstack.LocalCluster;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lorastream demo}: the whole system in one JVM on the embedded broker and registry. It
 * pretrains (or reuses) a base on concept 0 of the rotating-subspace stream, starts stream-app
 * (ingest + prequential evaluation), the trainer and two inference consumers, replays the drift
 * stream with a sprinkle of duplicates and malformed records, shows a live status line, and ends
 * with a summary table plus {@code summary.json} and a CSV time series. The run itself lives in
 * {@link DemoRun}; this class only parses flags.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the whole pipeline on an embedded broker and registry and print a summary.")
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--examples", defaultValue = "20000", description = "Examples to replay, split over the 4 drift phases. Default: ${DEFAULT-VALUE}.")
  long examples;

  @Option(names = "--seed", defaultValue = "42", description = "Seed of the drift stream and the base model. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--rank-schedule", paramLabel = "SPEC", description = "Trainer rank schedule, e.g. fixed:2 or steps:2@0,4@40,8@100,16@160 (default: the trainer's progressive default, steps:2@0,4@100,8@250,16@400; a shorter run trains a smaller micro-batch for as many steps per phase, a longer one moves the milestones by --examples / 20000).")
  String rankSchedule;

  @Option(names = "--device", defaultValue = "auto", description = "auto|cpu|gpu. Default: ${DEFAULT-VALUE}.")
  String device;

  @Option(names = "--out", paramLabel = "DIR", description = "Output directory. Default: results/demo-<timestamp>.")
  Path out;

  @Option(names = "--rate", defaultValue = "500", description = "Replay rate in examples/s (0 = unpaced). Default: ${DEFAULT-VALUE}.")
  double rate;

  @Option(names = "--duplicates", defaultValue = "0.01", description = "Fraction of examples replayed twice. Default: ${DEFAULT-VALUE}.")
  double duplicates;

  @Option(names = "--malformed", defaultValue = "0.01", description = "Fraction of extra malformed records. Default: ${DEFAULT-VALUE}.")
  double malformed;

  @Option(names = "--model-cache", defaultValue = "data/models", description = "Where pretrained bases are cached. Default: ${DEFAULT-VALUE}.")
  Path modelCache;

  @Option(names = "--max-lag", paramLabel = "N", description = "Pause the replay while the trainer lags more than N examples (0 = never). Default: 1000 at 20,000 examples, the same share of a phase for shorter runs.")
  Long maxLag;

  @Option(names = {"--set", "-D"}, paramLabel = "KEY=VALUE", description = "Any service setting, e.g. --set trainer.lr=0.01. Repeatable.")
  java.util.Map<String, String> settings = new java.util.LinkedHashMap<>();

  @Override
  public Integer call() throws Exception {
    if (examples < 4) {
      System.err.println("lorastream demo: --examples must be at least 4 (one per drift phase), got " + examples);
      return 2;
    }
    Path dir = out != null ? out
        : Path.of("results", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    DemoRun.Settings s = new DemoRun.Settings(examples, seed, rankSchedule, device, dir, rate, duplicates, malformed,
        modelCache, System.out, settings, maxLag != null ? maxLag : DemoScale.of(examples).maxLag());
    try (LocalCluster cluster = LocalCluster.builder().partitions(2).build().start()) {
      DemoRun.Summary summary = new DemoRun(s, cluster.bootstrapServers(), cluster.registryUrl()).run();
      return summary.ok() ? 0 : 1;
    }
  }
}
