package io.lorastream.lora;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Online full fine-tuning, the baseline LoRA is measured against: trainable copies of ALL base
 * parameters (linear layers, embeddings, LayerNorm) on the base's device, trained from a stream of
 * micro-batches with the same semantics as {@link OnlineLearner}: loss scaled by 1/k and gradients
 * accumulated over k micro-batches, one host->device copy and one device->host read per
 * micro-batch, a micro-batch with a non-finite loss or gradient dropped and counted, global-norm
 * clipping, AdamW (fused engine update, bias-corrected, decoupled decay), a loss EMA, and
 * test-then-train predictions in every {@link StepResult}. The base passed in is never modified.
 *
 * <p><b>Regularization.</b> OnlineLearner's L2 penalty {@code lambda*|P|^2} on A and B pulls the
 * adapter's change towards zero. Its counterpart here pulls the change of each parameter towards
 * zero: {@code lambda*|P - P0|^2} with P0 the base's value (so with lambda &gt; 0 a copy of the
 * base stays on the device). {@link Pretrainer} trains from scratch with lambda = 0.
 *
 * <p>There is no rank and no rank schedule; {@link StepResult#ranksChanged()} is always false. Not
 * thread-safe: one thread feeds it. Autograd scopes take {@link LoraModel#AUTOGRAD_LOCK}.
 */
public final class FullFineTuner implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(FullFineTuner.class);

  private final ModelSpec spec;
  private final LearnerConfig train;
  private final DataType dtype;
  private final NDManager manager;
  private final Forward forward;
  private final Forward.Consts consts;
  private final List<TensorSpec> tensors;
  private final Device device;
  private final NDArray[] params; // [tensor] trainable values, device layout (linear weights (in, out))
  private final NDArray[] init; // [tensor] P0 for the L2 term; null when l2Lambda == 0
  private final NDArray[] acc; // [tensor] gradient accumulators
  private final NDArray[] m; // [tensor] AdamW first moments
  private final NDArray[] v; // [tensor] AdamW second moments
  private final Map<Long, NDArray> scalars = new HashMap<>();
  private final LearnerStats stats;
  private final AdamW adam;

  private FullFineTuner(BaseModel base, LearnerConfig train, DataType dtype) {
    if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT64) {
      throw new IllegalArgumentException("FullFineTuner dtype must be FLOAT32 or FLOAT64, got " + dtype);
    }
    this.spec = base.spec();
    this.train = train;
    this.dtype = dtype;
    this.stats = new LearnerStats(train, LOG, "full fine-tuning ");
    this.adam = new AdamW(train);
    this.device = base.device();
    this.forward = base.forwardPass();
    this.tensors = base.tensors();
    int nt = tensors.size();
    this.params = new NDArray[nt];
    this.init = train.l2Lambda() > 0 ? new NDArray[nt] : null;
    this.acc = new NDArray[nt];
    this.m = new NDArray[nt];
    this.v = new NDArray[nt];
    Devices.tuneCurrentThread();
    this.manager = NDManager.newBaseManager(device);
    try {
      this.consts = Forward.Consts.create(manager, dtype, spec);
      for (int i = 0; i < nt; i++) {
        TensorSpec t = tensors.get(i);
        float[] h = base.hostTensor(i);
        float[] d = t.isLinearWeight() ? BaseModel.transpose(h, t.shape()[0], t.shape()[1]) : h;
        Shape shape = new Shape(t.deviceShape());
        params[i] = create(manager, d, shape);
        if (init != null) {
          init[i] = create(manager, d, shape);
        }
        acc[i] = manager.zeros(shape, dtype);
        m[i] = manager.zeros(shape, dtype);
        v[i] = manager.zeros(shape, dtype);
      }
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** A float32 tuner starting from {@code base}'s parameters, on the base's device. */
  public static FullFineTuner create(BaseModel base, LearnerConfig train) {
    return new FullFineTuner(base, train, DataType.FLOAT32);
  }

  /** As {@link #create(BaseModel, LearnerConfig)} with FLOAT32 or FLOAT64 (gradient checks). */
  public static FullFineTuner create(BaseModel base, LearnerConfig train, DataType dtype) {
    return new FullFineTuner(base, train, dtype);
  }

  /**
   * Trains on one micro-batch (same contract as {@link OnlineLearner#trainMicroBatch}).
   *
   * @param rows n x inputSize features, or token rows for text models (see {@link TokenRows})
   * @param labels n labels in [0, numClasses)
   * @param weightsOrNull n non-negative loss weights, or null for 1.0
   * @return the outcome, with the pre-update arg-max predictions (null when skipped)
   * @throws IllegalArgumentException for malformed input (lengths, label range, negative weight, a
   *     token id that is not an integer in [0, vocabSize)); non-finite dense features or weights
   *     skip the micro-batch instead
   */
  public StepResult trainMicroBatch(float[] rows, int[] labels, float[] weightsOrNull) {
    Devices.tuneCurrentThread();
    int d = spec.inputSize();
    int c = spec.numClasses();
    double[] packed = DeviceBatch.pack(rows, labels, weightsOrNull, d, c);
    checkTokens(rows);
    int n = labels.length;
    stats.seen(n);
    if (!DeviceBatch.finite(rows, weightsOrNull)) {
      return stats.skipBatch(n, Double.NaN);
    }
    BatchCheck check;
    try (NDManager tmp = manager.newSubManager()) {
      NDArray p = create(tmp, packed, new Shape(packed.length)); // the one host->device copy
      Pass pass = backward(tmp, DeviceBatch.view(p, n, d, c), 1.0 / train.accumulationSteps());
      check = BatchCheck.read(pass.loss, pass.grads, pass.logits, dtype); // the one read
      if (!check.finite()) {
        return stats.skipBatch(n, check.loss());
      }
      for (int i = 0; i < params.length; i++) {
        acc[i].addi(pass.grads[i]);
      }
    }
    if (stats.accept(check.loss())) {
      return step(1.0, check.loss()).withPredictions(check.predictions());
    }
    return stats.accumulating(check.loss(), check.predictions());
  }

  /** Applies an optimizer step with the micro-batches accumulated so far (as a mean), if any. */
  public StepResult flush() {
    Devices.tuneCurrentThread();
    if (stats.pending() == 0) {
      return stats.idle();
    }
    return step(stats.flushScale(), Double.NaN);
  }

  /** Logits, loss and gradients (device layout) of one micro-batch, attached to {@code tmp}. */
  private record Pass(NDArray logits, NDArray loss, NDArray[] grads) {}

  private Pass backward(NDManager tmp, DeviceBatch mb, double lossScale) {
    NDArray[] leaves = new NDArray[params.length];
    for (int i = 0; i < params.length; i++) {
      leaves[i] = params[i].stopGradient(); // shares storage; gradients land on the leaf, not the stored tensor
      leaves[i].attach(tmp);
      leaves[i].setRequiresGradient(true);
    }
    NDArray logits;
    NDArray loss;
    synchronized (LoraModel.AUTOGRAD_LOCK) {
      try (GradientCollector gc = manager.getEngine().newGradientCollector()) {
        logits = forward.logits(mb.x(), leaves, null, null, null, consts);
        loss = LoraModel.crossEntropy(logits, mb.targets());
        gc.backward(lossScale == 1.0 ? loss : loss.mul(scalar(lossScale)));
      }
    }
    NDArray[] grads = new NDArray[params.length];
    for (int i = 0; i < params.length; i++) {
      grads[i] = leaves[i].getGradient();
    }
    return new Pass(logits, loss, grads);
  }

  /**
   * One optimizer step from the accumulators; {@code gradScale} turns a partial sum into a mean.
   * The gradient gets the L2 term {@code 2*lambda*(P - P0)} of this tuner's penalty on the change
   * from the base before {@link AdamW} clips and applies it.
   */
  private StepResult step(double gradScale, double lastLoss) {
    stats.closeWindow(); // its mean loss only feeds a rank schedule, which full fine-tuning has not
    double norm;
    try (NDManager tmp = manager.newSubManager()) {
      for (int i = 0; i < params.length; i++) {
        tmp.tempAttachAll(params[i], acc[i], m[i], v[i]);
        if (init != null) {
          tmp.tempAttachAll(init[i]);
        }
      }
      double l2 = 2 * train.l2Lambda();
      NDArray[] g = new NDArray[params.length];
      for (int i = 0; i < params.length; i++) {
        g[i] = gradScale == 1.0 ? acc[i] : acc[i].mul(scalar(gradScale));
        if (init != null) {
          g[i] = params[i].sub(init[i]).muli(scalar(l2)).addi(g[i]); // + d/dP lambda*|P - P0|^2
        }
      }
      norm = adam.step(params, g, m, v);
    }
    resetAccumulators();
    if (!Double.isFinite(norm)) {
      return stats.stepDiscarded(norm, lastLoss);
    }
    stats.stepApplied(norm);
    return new StepResult(lastLoss, norm, true, false, stats.optimizerStep(), false);
  }

  /** Accumulators are recreated, not zeroed in place: 0 * Inf would leave NaN behind. */
  private void resetAccumulators() {
    for (int i = 0; i < acc.length; i++) {
      Shape s = acc[i].getShape();
      acc[i].close();
      acc[i] = manager.zeros(s, dtype);
    }
  }

  /** A new immutable float32 base with the current weights, on the same device; the caller closes it. */
  public BaseModel toBaseModel() {
    float[][] h = hostParameters();
    Map<String, float[]> named = new LinkedHashMap<>();
    for (int i = 0; i < tensors.size(); i++) {
      named.put(tensors.get(i).name(), h[i]);
    }
    return BaseModel.fromTensors(spec, named, device);
  }

  /** An immutable pure-Java serving model of the current weights (no native resources). */
  public MergedModel merged() {
    float[][] h = hostParameters();
    String fp = BaseModel.fingerprintOf(tensors, h);
    return MergedModel.of(spec, BaseModel.defaultId(spec, fp), fp, h);
  }

  /** Current parameters in canonical order and contract layout, as float32. */
  private float[][] hostParameters() {
    float[][] h = new float[tensors.size()][];
    for (int i = 0; i < tensors.size(); i++) {
      TensorSpec t = tensors.get(i);
      float[] d = dtype == DataType.FLOAT64 ? LoraModel.toFloat(params[i].toDoubleArray()) : params[i].toFloatArray();
      h[i] = t.isLinearWeight() ? BaseModel.transpose(d, t.shape()[1], t.shape()[0]) : d;
    }
    return h;
  }

  /** Logits (n x C, row-major) of the current weights for a host batch, computed on the device. */
  public double[] logits(float[] rows, int n) {
    if (rows.length != n * spec.inputSize()) {
      throw new IllegalArgumentException("expected " + n + "x" + spec.inputSize() + " values, got " + rows.length);
    }
    checkTokens(rows);
    try (NDManager tmp = manager.newSubManager()) {
      return toHost(forward.logits(create(tmp, rows, new Shape(n, spec.inputSize())), params, null, null, null, consts));
    }
  }

  /** Result of {@link #lossAndGradients}: mean loss and the gradient of every parameter (contract layout). */
  record LossAndGradients(double loss, Map<String, double[]> grads) {}

  /** Mean (weighted) cross-entropy and its autograd gradients w.r.t. every parameter (gradient checks). */
  LossAndGradients lossAndGradients(float[] rows, int[] labels, float[] weightsOrNull) {
    double[] packed = DeviceBatch.pack(rows, labels, weightsOrNull, spec.inputSize(), spec.numClasses());
    checkTokens(rows);
    try (NDManager tmp = manager.newSubManager()) {
      NDArray p = create(tmp, packed, new Shape(packed.length));
      Pass pass = backward(tmp, DeviceBatch.view(p, labels.length, spec.inputSize(), spec.numClasses()), 1.0);
      Map<String, double[]> grads = new LinkedHashMap<>();
      for (int i = 0; i < tensors.size(); i++) {
        grads.put(tensors.get(i).name(), toContract(i, toHost(pass.grads[i])));
      }
      return new LossAndGradients(toHost(pass.loss)[0], grads);
    }
  }

  /** Mean (weighted) cross-entropy of the current weights, no gradients. */
  double loss(float[] rows, int[] labels, float[] weightsOrNull) {
    double[] packed = DeviceBatch.pack(rows, labels, weightsOrNull, spec.inputSize(), spec.numClasses());
    checkTokens(rows);
    try (NDManager tmp = manager.newSubManager()) {
      NDArray p = create(tmp, packed, new Shape(packed.length));
      DeviceBatch mb = DeviceBatch.view(p, labels.length, spec.inputSize(), spec.numClasses());
      return toHost(LoraModel.crossEntropy(forward.logits(mb.x(), params, null, null, null, consts), mb.targets()))[0];
    }
  }

  /** A copy of a parameter's current value in contract layout (linear weights (out, in)). */
  double[] parameter(String name) {
    int i = index(name);
    return toContract(i, toHost(params[i]));
  }

  /** Overwrites a parameter (contract layout), e.g. to probe finite differences. */
  void setParameter(String name, double[] value) {
    int i = index(name);
    TensorSpec t = tensors.get(i);
    double[] d = t.isLinearWeight() ? LoraModel.transpose(value, t.shape()[0], t.shape()[1]) : value;
    NDArray fresh = dtype == DataType.FLOAT64 ? manager.create(d, params[i].getShape())
        : manager.create(LoraModel.toFloat(d), params[i].getShape());
    params[i].close();
    params[i] = fresh;
  }

  private int index(String name) {
    for (int i = 0; i < tensors.size(); i++) {
      if (tensors.get(i).name().equals(name)) {
        return i;
      }
    }
    throw new IllegalArgumentException("unknown parameter '" + name + "'");
  }

  private double[] toContract(int i, double[] deviceLayout) {
    TensorSpec t = tensors.get(i);
    return t.isLinearWeight() ? LoraModel.transpose(deviceLayout, t.shape()[1], t.shape()[0]) : deviceLayout;
  }

  private void checkTokens(float[] rows) {
    if (spec.tokenInput()) {
      TokenRows.requireValid(rows, spec.inputSize(), spec.vocabSize());
    }
  }

  private NDArray create(NDManager mgr, float[] data, Shape shape) {
    return dtype == DataType.FLOAT64 ? mgr.create(LoraModel.toDouble(data), shape) : mgr.create(data, shape);
  }

  private NDArray create(NDManager mgr, double[] data, Shape shape) {
    return dtype == DataType.FLOAT64 ? mgr.create(data, shape) : mgr.create(LoraModel.toFloat(data), shape);
  }

  private double[] toHost(NDArray a) {
    return dtype == DataType.FLOAT64 ? a.toDoubleArray() : LoraModel.toDouble(a.toFloatArray());
  }

  /** Cached 0-d constant of this tuner's dtype (see LoraModel#scalar). */
  private NDArray scalar(double x) {
    long key = Double.doubleToLongBits(x);
    NDArray s = scalars.get(key);
    if (s == null) {
      if (scalars.size() >= 16) {
        scalars.values().forEach(NDArray::close);
        scalars.clear();
      }
      s = dtype == DataType.FLOAT64 ? manager.create(x) : manager.create((float) x);
      scalars.put(key, s);
    }
    return s;
  }

  /** Every parameter is trainable: embeddings, LayerNorm and linear layers. */
  public long trainableParameters() {
    long n = 0;
    for (TensorSpec t : tensors) {
      n += t.size();
    }
    return n;
  }

  public ModelSpec spec() {
    return spec;
  }

  public LearnerConfig learnerConfig() {
    return train;
  }

  /** Optimizer steps applied. */
  public long optimizerStep() {
    return stats.optimizerStep();
  }

  /** Examples passed to {@link #trainMicroBatch}, including skipped ones. */
  public long examplesSeen() {
    return stats.examplesSeen();
  }

  /** Micro-batches (and whole accumulated steps) dropped as non-finite. */
  public long skippedBatches() {
    return stats.skippedBatches();
  }

  /** Examples in skipped micro-batches. */
  public long skippedExamples() {
    return stats.skippedExamples();
  }

  /** Accumulated optimizer steps discarded because their total gradient was non-finite. */
  public long skippedSteps() {
    return stats.skippedSteps();
  }

  /** EMA of the micro-batch loss (NaN before the first accepted micro-batch). */
  public double lossEma() {
    return stats.lossEma();
  }

  /** Gradient norm (pre-clip) of the last optimizer step. */
  public double lastGradNorm() {
    return stats.lastGradNorm();
  }

  /** Micro-batches accumulated towards the next optimizer step. */
  public int pendingMicroBatches() {
    return stats.pending();
  }

  /** Training metrics for logs and reports. */
  public Map<String, Double> metrics() {
    return stats.metrics();
  }

  /** The long-lived manager (leak tests count its arrays). */
  NDManager manager() {
    return manager;
  }

  /** Frees the trainable copies (the base is not touched). */
  @Override
  public void close() {
    manager.close();
  }
}
