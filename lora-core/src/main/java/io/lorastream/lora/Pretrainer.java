package io.lorastream.lora;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.ExampleSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Fully trains a base model (every weight and bias, Adam, shuffled minibatches, several epochs)
 * on a labeled source. It is how {@code lorastream pretrain} and the demo produce the frozen base
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

  public Pretrainer(Config config) {
    this.config = config;
  }

  /**
   * Reads up to {@code maxExamples} from the source and trains on them.
   *
   * @throws IllegalArgumentException if the source's width or labels do not fit the spec
   */
  public Result train(ModelSpec spec, ExampleSource source, int maxExamples, Device device) {
    if (source.inputSize() != spec.inputSize()) {
      throw new IllegalArgumentException("source " + source.name() + " has " + source.inputSize()
          + " features but the model spec expects " + spec.inputSize());
    }
    List<Example> data = new ArrayList<>();
    while (source.hasNext() && data.size() < maxExamples) {
      data.add(source.next());
    }
    return train(spec, data, device);
  }

  /** Trains on an in-memory list (shuffled and split with the configured seed). */
  public Result train(ModelSpec spec, List<Example> examples, Device device) {
    if (examples.size() < 2) {
      throw new IllegalArgumentException("pretraining needs at least 2 examples, got " + examples.size());
    }
    for (Example e : examples) {
      if (e.features().length != spec.inputSize()) {
        throw new IllegalArgumentException("example " + e.id() + " has " + e.features().length
            + " features, spec expects " + spec.inputSize());
      }
      if (e.label() < 0 || e.label() >= spec.numClasses()) {
        throw new IllegalArgumentException("example " + e.id() + " has label " + e.label()
            + " outside [0, " + spec.numClasses() + ")");
      }
    }
    Devices.tuneCurrentThread();
    List<Example> shuffled = new ArrayList<>(examples);
    Random rnd = new Random(config.seed());
    Collections.shuffle(shuffled, rnd);
    int holdout = (int) Math.floor(shuffled.size() * config.holdoutFraction());
    List<Example> eval = shuffled.subList(0, holdout);
    List<Example> trainSet = new ArrayList<>(shuffled.subList(holdout, shuffled.size()));

    List<LayerInfo> layers = spec.linearLayers();
    int nl = layers.size();
    float[][] w = new float[nl][];
    float[][] b = new float[nl][];
    try (BaseModel init = BaseModel.create(spec, Device.cpu())) {
      for (int i = 0; i < nl; i++) {
        w[i] = init.hostWeight(i).clone();
        b[i] = init.hostBias(i).clone();
      }
    }
    double lastLoss = Double.NaN;
    try (NDManager root = NDManager.newBaseManager(device)) {
      NDArray[] params = new NDArray[2 * nl]; // wT0, b0, wT1, b1, ...
      NDArray[] m = new NDArray[2 * nl];
      NDArray[] v = new NDArray[2 * nl];
      for (int i = 0; i < nl; i++) {
        LayerInfo l = layers.get(i);
        params[2 * i] = root.create(BaseModel.transpose(w[i], l.out(), l.in()), new Shape(l.in(), l.out()));
        params[2 * i + 1] = root.create(b[i], new Shape(l.out()));
      }
      for (int p = 0; p < params.length; p++) {
        m[p] = root.zeros(params[p].getShape(), DataType.FLOAT32);
        v[p] = root.zeros(params[p].getShape(), DataType.FLOAT32);
      }
      long t = 0;
      for (int epoch = 0; epoch < config.epochs(); epoch++) {
        Collections.shuffle(trainSet, rnd);
        double lossSum = 0;
        int batches = 0;
        for (int start = 0; start < trainSet.size(); start += config.batchSize()) {
          List<Example> batch = trainSet.subList(start, Math.min(trainSet.size(), start + config.batchSize()));
          t++;
          lossSum += step(root, params, m, v, batch, spec, t);
          batches++;
        }
        lastLoss = lossSum / batches;
      }
      for (int i = 0; i < nl; i++) {
        LayerInfo l = layers.get(i);
        w[i] = BaseModel.transpose(params[2 * i].toFloatArray(), l.in(), l.out());
        b[i] = params[2 * i + 1].toFloatArray();
      }
    }
    BaseModel model = BaseModel.fromParameters(spec, List.of(w), List.of(b), device);
    MergedModel serving = MergedModel.ofBase(model);
    return new Result(model, accuracy(serving, trainSet), eval.isEmpty() ? Double.NaN : accuracy(serving, eval),
        trainSet.size(), eval.size(), lastLoss);
  }

  /** One Adam step on a minibatch; returns its mean loss. */
  private double step(NDManager root, NDArray[] params, NDArray[] m, NDArray[] v, List<Example> batch, ModelSpec spec, long t) {
    int n = batch.size();
    int d = spec.inputSize();
    float[] feats = new float[n * d];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      System.arraycopy(batch.get(i).features(), 0, feats, i * d, d);
      labels[i] = batch.get(i).label();
    }
    double[] packed = MicroBatch.pack(feats, labels, null, d, spec.numClasses());
    try (NDManager tmp = root.newSubManager()) {
      NDArray p = tmp.create(LoraModel.toFloat(packed), new Shape(packed.length));
      MicroBatch mb = MicroBatch.view(p, n, d, spec.numClasses());
      NDArray[] leaves = new NDArray[params.length];
      for (int i = 0; i < params.length; i++) {
        leaves[i] = params[i].stopGradient();
        leaves[i].attach(tmp);
        leaves[i].setRequiresGradient(true);
      }
      NDArray loss;
      synchronized (LoraModel.AUTOGRAD_LOCK) {
        try (GradientCollector gc = tmp.getEngine().newGradientCollector()) {
          NDArray h = mb.x();
          int nl = params.length / 2;
          for (int i = 0; i < nl; i++) {
            h = h.matMul(leaves[2 * i]).add(leaves[2 * i + 1]);
            if (i < nl - 1) {
              h = h.maximum(0f);
            }
          }
          loss = LoraModel.crossEntropy(h, mb.targets());
          gc.backward(loss);
        }
      }
      double b1 = 0.9;
      double b2 = 0.999;
      double bc1 = 1 - Math.pow(b1, t);
      double bc2 = 1 - Math.pow(b2, t);
      for (int i = 0; i < params.length; i++) {
        NDArray g = leaves[i].getGradient();
        tmp.tempAttachAll(params[i], m[i], v[i]);
        m[i].muli(b1).addi(g.mul(1 - b1));
        v[i].muli(b2).addi(g.square().mul(1 - b2));
        params[i].subi(m[i].div(bc1).div(v[i].div(bc2).sqrt().add(1e-8)).mul(config.lr()));
      }
      return loss.getFloat();
    }
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
