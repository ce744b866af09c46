package io.lorastream.lora.train;

import ai.djl.Device;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.ExampleSource;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.Devices;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.model.TokenRows;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Fully trains a base model of any kind (every weight, bias, embedding and LayerNorm parameter,
 * Adam, shuffled minibatches, several epochs; the optimizer is a {@link FullFineTuner}) on a
 * labeled source. It is how {@code lorastream pretrain} and the demo produce the frozen base
 * that adapters later correct. A seeded holdout split gives an honest accuracy next to the
 * training accuracy.
 */
public final class Pretrainer {

  /**
   * Pretraining settings.
   *
   * @param epochs passes over the training split
   * @param batchSize examples per minibatch
   * @param lr Adam learning rate
   * @param holdoutFraction share of examples kept out of training for the holdout accuracy
   * @param seed seeds the split and the shuffles
   */
  public record Config(int epochs, int batchSize, double lr, double holdoutFraction, long seed) {
    public Config {
      if (epochs < 1) {
        throw new IllegalArgumentException("pretrain epochs must be >= 1, got " + epochs);
      }
      if (batchSize < 1) {
        throw new IllegalArgumentException("pretrain batchSize must be >= 1, got " + batchSize);
      }
      if (!(lr > 0) || !Double.isFinite(lr)) {
        throw new IllegalArgumentException("pretrain lr must be finite and > 0, got " + lr);
      }
      if (!(holdoutFraction >= 0 && holdoutFraction < 1)) {
        throw new IllegalArgumentException("pretrain holdoutFraction must be in [0, 1), got " + holdoutFraction);
      }
    }

    /**
     * 10 epochs, batch 256, lr 5e-3, 10% holdout, seed 7: on the demo stream (40k phase-0
     * examples, d=32, 64-64 hidden, C=4) about 1,400 steps, ~3.5 s of one CPU core, ~0.88
     * holdout accuracy.
     */
    public static Config defaults() {
      return new Config(10, 256, 5e-3, 0.1, 7L);
    }

    public Config withEpochs(int e) {
      return new Config(e, batchSize, lr, holdoutFraction, seed);
    }

    public Config withBatchSize(int b) {
      return new Config(epochs, b, lr, holdoutFraction, seed);
    }

    public Config withLr(double l) {
      return new Config(epochs, batchSize, l, holdoutFraction, seed);
    }

    public Config withSeed(long s) {
      return new Config(epochs, batchSize, lr, holdoutFraction, s);
    }
  }

  /**
   * Outcome of pretraining. The caller owns (and closes) the model.
   *
   * @param trainAccuracy accuracy on the training split after the last epoch
   * @param holdoutAccuracy accuracy on the holdout split (NaN when there is none)
   * @param finalLoss mean training loss of the last epoch
   */
  public record Result(BaseModel model, double trainAccuracy, double holdoutAccuracy, int trainExamples,
      int holdoutExamples, double finalLoss) {}

  private final Config config;
  private final java.util.function.Consumer<String> progress;

  public Pretrainer(Config config) {
    this(config, line -> { });
  }

  /**
   * A pretrainer that reports one line per epoch (mean loss, training accuracy of the
   * predictions made before each minibatch's update, elapsed time) to {@code progress}, for
   * commands whose pretraining takes long enough to need it.
   */
  public Pretrainer(Config config, java.util.function.Consumer<String> progress) {
    this.config = config;
    this.progress = java.util.Objects.requireNonNull(progress, "progress");
  }

  /**
   * Reads up to {@code maxExamples} from the source and trains on them.
   *
   * @throws IllegalArgumentException if the source's width or labels do not fit the spec
   */
  public Result train(ModelSpec spec, ExampleSource source, int maxExamples, Device device) {
    if (source.inputSize() != spec.inputSize()) {
      throw new IllegalArgumentException("source " + source.name() + " has " + source.inputSize()
          + " values per row but the model spec expects " + spec.inputSize());
    }
    List<Example> data = new ArrayList<>();
    while (source.hasNext() && data.size() < maxExamples) {
      data.add(source.next());
    }
    return train(spec, data, device);
  }

  /**
   * Trains on an in-memory list (shuffled and split with the configured seed). For text kinds each
   * example's features are its token row (see {@link TokenRows}).
   *
   * @throws IllegalArgumentException naming an example whose width, label or token ids do not fit
   */
  public Result train(ModelSpec spec, List<Example> examples, Device device) {
    if (examples.size() < 2) {
      throw new IllegalArgumentException("pretraining needs at least 2 examples, got " + examples.size());
    }
    for (Example e : examples) {
      if (e.features().length != spec.inputSize()) {
        throw new IllegalArgumentException("example " + e.id() + " has " + e.features().length
            + (spec.tokenInput() ? " token ids" : " features") + ", spec expects " + spec.inputSize());
      }
      if (e.label() < 0 || e.label() >= spec.numClasses()) {
        throw new IllegalArgumentException("example " + e.id() + " has label " + e.label()
            + " outside [0, " + spec.numClasses() + ")");
      }
      if (spec.tokenInput()) {
        try {
          TokenRows.requireValid(e.features(), spec.inputSize(), spec.vocabSize());
        } catch (IllegalArgumentException bad) {
          throw new IllegalArgumentException("example " + e.id() + ": " + bad.getMessage(), bad);
        }
      }
    }
    Devices.tuneCurrentThread();
    List<Example> shuffled = new ArrayList<>(examples);
    Random rnd = new Random(config.seed());
    Collections.shuffle(shuffled, rnd);
    int holdout = (int) Math.floor(shuffled.size() * config.holdoutFraction());
    List<Example> eval = shuffled.subList(0, holdout);
    List<Example> trainSet = new ArrayList<>(shuffled.subList(holdout, shuffled.size()));

    double lastLoss = Double.NaN;
    BaseModel model;
    try (BaseModel init = BaseModel.create(spec, device);
        FullFineTuner tuner = FullFineTuner.create(init, learnerConfig(spec))) {
      int d = spec.inputSize();
      long began = System.nanoTime();
      for (int epoch = 0; epoch < config.epochs(); epoch++) {
        Collections.shuffle(trainSet, rnd);
        double lossSum = 0;
        int batches = 0;
        long correct = 0;
        for (int start = 0; start < trainSet.size(); start += config.batchSize()) {
          List<Example> batch = trainSet.subList(start, Math.min(trainSet.size(), start + config.batchSize()));
          int n = batch.size();
          float[] feats = new float[n * d];
          int[] labels = new int[n];
          for (int i = 0; i < n; i++) {
            System.arraycopy(batch.get(i).features(), 0, feats, i * d, d);
            labels[i] = batch.get(i).label();
          }
          StepResult r = tuner.trainMicroBatch(feats, labels, null);
          lossSum += r.loss();
          batches++;
          if (r.predictions() != null) {
            for (int i = 0; i < n; i++) {
              correct += r.predictions()[i] == labels[i] ? 1 : 0;
            }
          }
        }
        lastLoss = lossSum / batches;
        progress.accept(String.format(java.util.Locale.ROOT,
            "epoch %d/%d: mean loss %.4f, training accuracy before each update %.3f, %.1f s", epoch + 1,
            config.epochs(), lastLoss, (double) correct / trainSet.size(), (System.nanoTime() - began) / 1e9));
      }
      model = tuner.toBaseModel();
    }
    MergedModel serving = MergedModel.ofBase(model);
    return new Result(model, accuracy(serving, trainSet), eval.isEmpty() ? Double.NaN : accuracy(serving, eval),
        trainSet.size(), eval.size(), lastLoss);
  }

  /**
   * Plain Adam (betas 0.9/0.999, eps 1e-8, no decay, no L2), one step per minibatch. Text kinds
   * clip the global gradient norm to 1.0: a freshly initialized transformer can take a few large
   * gradients early on, and one of them can wreck the embeddings; the MLP is trained unclipped as
   * it always was.
   */
  private LearnerConfig learnerConfig(ModelSpec spec) {
    return new LearnerConfig(config.lr(), 0.9, 0.999, 1e-8, 0.0, 0.0, spec.tokenInput() ? 1.0 : 0.0, 1,
        config.batchSize(), RankSchedule.fixed(1), 0.98, false);
  }

  /** Share of examples a serving model labels correctly. */
  public static double accuracy(MergedModel model, List<Example> data) {
    if (data.isEmpty()) {
      return Double.NaN;
    }
    int ok = 0;
    for (Example e : data) {
      if (model.predict(e.features()) == e.label()) {
        ok++;
      }
    }
    return ok / (double) data.size();
  }
}
