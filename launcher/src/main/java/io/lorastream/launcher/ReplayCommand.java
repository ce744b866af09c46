package io.lorastream.launcher;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.data.ExampleSource;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.serde.LorastreamSerdes;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

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

  @Option(names = "--seed", defaultValue = "42", description = "Generator seed. Default: ${DEFAULT-VALUE}.")
  long seed;

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
    try (ExampleSource src = open()) {
      Replayer r = new Replayer(common.kafkaProperties(), serdes);
      Runtime.getRuntime().addShutdownHook(new Thread(r::stop, "lorastream-replay-stop"));
      Replayer.Counts c = r.replay(src, new Replayer.Options(task, common.catalog().examplesRaw.name(), rate,
              duplicates, malformed, classes, seed, examples),
          p -> System.out.printf("replay: %d valid, %d duplicates, %d malformed%n", p.valid(), p.duplicates(), p.malformed()));
      System.out.printf("replay done: %d valid, %d duplicates, %d malformed (%d records)%n",
          c.valid(), c.duplicates(), c.malformed(), c.total());
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
