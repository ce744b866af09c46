package io.lorastream.launcher;

import io.lorastream.lora.data.ExampleSource;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.Devices;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.train.Pretrainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lorastream pretrain}: fully trains a base MLP (every parameter) on a data source, either
 * phase 0 of the rotating-subspace generator or a CSV/JSONL file, and writes the base-model file
 * that trainers and inference consumers load. The base is frozen from then on.
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = "Train a base model on the generator (concept 0) or a CSV/JSONL file and save it.")
final class PretrainCommand implements Callable<Integer> {
  @Option(names = "--out", required = true, paramLabel = "FILE", description = "Base-model file to write.")
  Path out;

  @Option(names = "--source", defaultValue = "generator", paramLabel = "generator|FILE",
      description = "Data: 'generator' (rotating subspace, phase 0) or a CSV/JSONL file. Default: ${DEFAULT-VALUE}.")
  String source;

  @Option(names = "--examples", defaultValue = "8000", description = "Examples to train on. Default: ${DEFAULT-VALUE}.")
  int examples;

  @Option(names = "--hidden", defaultValue = "64,64", split = ",", description = "Hidden layer sizes. Default: ${DEFAULT-VALUE}.")
  List<Integer> hidden;

  @Option(names = "--classes", defaultValue = "6", description = "Number of classes. Default: ${DEFAULT-VALUE}.")
  int classes;

  @Option(names = "--input-size", defaultValue = "32", description = "Input size for the generator. Default: ${DEFAULT-VALUE}.")
  int inputSize;

  @Option(names = "--epochs", defaultValue = "15", description = "Epochs. Default: ${DEFAULT-VALUE}.")
  int epochs;

  @Option(names = "--seed", defaultValue = "42", description = "Seed (generator and initialization). Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--device", defaultValue = "auto", description = "auto|cpu|gpu. Default: ${DEFAULT-VALUE}.")
  String device;

  @Override
  public Integer call() throws Exception {
    try (ExampleSource src = openSource()) {
      ModelSpec spec = ModelSpec.mlp(src.inputSize(), hidden, classes, seed);
      System.out.printf("pretraining %s on %s (%d examples, %d epochs)%n", spec, src.name(), examples, epochs);
      Pretrainer.Result r = new Pretrainer(Pretrainer.Config.defaults().withEpochs(epochs))
          .train(spec, src, examples, Devices.resolve(device));
      try (BaseModel model = r.model()) {
        if (out.toAbsolutePath().getParent() != null) {
          Files.createDirectories(out.toAbsolutePath().getParent());
        }
        model.save(out);
        System.out.printf("wrote %s: id=%s fingerprint=%s train-accuracy=%.4f holdout-accuracy=%.4f%n",
            out, model.id(), model.fingerprint(), r.trainAccuracy(), r.holdoutAccuracy());
      }
    }
    return 0;
  }

  private ExampleSource openSource() {
    if ("generator".equals(source)) {
      RotatingSubspaceStream.Config cfg = RotatingSubspaceStream.Config.defaults(seed);
      RotatingSubspaceStream gen = new RotatingSubspaceStream(new RotatingSubspaceStream.Config(inputSize, classes, seed,
          cfg.planesPerPhase(), cfg.angle(), cfg.examplesPerPhase(), cfg.teacherHidden()));
      return gen.phaseSource(0, examples, seed + 1);
    }
    return ExampleSource.open(Path.of(source));
  }
}
