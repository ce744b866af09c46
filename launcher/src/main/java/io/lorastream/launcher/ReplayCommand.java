package io.lorastream.launcher;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.data.ExampleSource;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.serde.LorastreamSerdes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lorastream replay}: produces labeled examples into {@code examples.raw} on any broker,
 * from the deterministic rotating-subspace drift generator or from a CSV/JSONL file.
 */
@Command(name = "replay", mixinStandardHelpOptions = true,
    description = "Produce examples (drift generator or CSV/JSONL file) into examples.raw.")
final class ReplayCommand implements Callable<Integer> {
  @Mixin ServiceOptions service = new ServiceOptions();

  @Option(names = "--source", defaultValue = "generator", paramLabel = "generator|FILE",
      description = "'generator' (rotating subspace) or a CSV/JSONL file. Default: ${DEFAULT-VALUE}.")
  String source;

  @Option(names = "--task", defaultValue = CommonConfig.DEFAULT_ADAPTER_ID, description = "Task (adapter id) of the examples. Default: ${DEFAULT-VALUE}.")
  String task;

  @Option(names = "--examples", defaultValue = "20000", description = "Examples to produce (generator: split evenly over its phases). Default: ${DEFAULT-VALUE}.")
  long examples;

  @Option(names = "--seed", defaultValue = "42", description = {"Generator seed. Default: ${DEFAULT-VALUE}.",
      "Without --seed every run gets fresh example ids (a run id in each id), so ingest does not drop a second "
          + "replay as duplicates; with --seed the ids repeat on purpose."})
  long seed;

  @Option(names = "--await-ingest", defaultValue = "PT10S", paramLabel = "DURATION",
      description = "After the replay, wait up to this long for ingest's counters and say what happened to the "
          + "records (PT0S: do not wait). Default: ${DEFAULT-VALUE}.")
  Duration awaitIngest;

  @Spec CommandSpec spec;

  @Option(names = "--planes", defaultValue = "0,1,4,8", split = ",", description = "Rotated planes per phase. Default: ${DEFAULT-VALUE}.")
  List<Integer> planes;

  @Option(names = "--rate", defaultValue = "0", description = "Examples per second, 0 = as fast as possible. Default: ${DEFAULT-VALUE}.")
  double rate;

  @Option(names = "--duplicates", defaultValue = "0", description = "Fraction of examples sent twice. Default: ${DEFAULT-VALUE}.")
  double duplicates;

  @Option(names = "--malformed", defaultValue = "0", description = "Fraction of extra malformed records. Default: ${DEFAULT-VALUE}.")
  double malformed;

  @Option(names = "--classes", defaultValue = "6", description = "Number of classes (generator). Default: ${DEFAULT-VALUE}.")
  int classes;

  @Option(names = "--input-size", defaultValue = "32", description = "Input size (generator). Default: ${DEFAULT-VALUE}.")
  int inputSize;

  @Override
  public Integer call() {
    LayeredConfig cfg = service.load(CommonConfig.DEFAULTS, Map.of());
    CommonConfig common = new CommonConfig(cfg);
    LorastreamSerdes serdes = LorastreamSerdes.create(common.registryConfig());
    boolean seeded = spec.commandLine().getParseResult().hasMatchedOption("--seed");
    String runId = seeded ? "" : "run-" + UUID.randomUUID().toString().substring(0, 8) + "-";
    System.out.println(seeded
        ? "replay: example ids are fixed by --seed " + seed + ": a replay of the same ids is dropped by ingest as "
            + "duplicates within ingest.dedupe.window.ms"
        : "replay: fresh example ids for this run (prefix " + runId + "); pass --seed to repeat ids on purpose");
    IngestReport report = awaitIngest.isZero() ? null
        : new IngestReport(common, serdes.pipelineMetric().deserializer(), Duration.ofSeconds(30));
    try (ExampleSource src = open()) {
      Replayer r = new Replayer(common.kafkaProperties(), serdes);
      Runtime.getRuntime().addShutdownHook(new Thread(r::stop, "lorastream-replay-stop"));
      Replayer.Counts c = r.replay(src, new Replayer.Options(task, common.catalog().examplesRaw.name(), rate,
              duplicates, malformed, classes, seed, examples, runId),
          p -> System.out.printf("replay: %d valid, %d duplicates, %d malformed%n", p.valid(), p.duplicates(), p.malformed()));
      System.out.printf("replay done: %d valid, %d duplicates, %d malformed (%d records)%n",
          c.valid(), c.duplicates(), c.malformed(), c.total());
      if (report != null) {
        report.report(c.total(), awaitIngest, System.out);
      }
    } finally {
      if (report != null) {
        report.close();
      }
    }
    return 0;
  }

  private ExampleSource open() {
    if ("generator".equals(source)) {
      long perPhase = Math.max(1, examples / planes.size());
      RotatingSubspaceStream.Config d = RotatingSubspaceStream.Config.defaults(seed);
      return new RotatingSubspaceStream(new RotatingSubspaceStream.Config(inputSize, classes, seed, planes, d.angle(),
          perPhase, d.teacherHidden()));
    }
    return ExampleSource.open(Path.of(source));
  }
}
