package io.lorastream.lora.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.DeviceBatch;
import io.lorastream.lora.model.Devices;
import io.lorastream.lora.model.Forward;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.model.TensorSpec;
import io.lorastream.lora.model.TokenRows;
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
public final class FullFineTuner implements Learner {

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
  private final NDArray[] init; // [tensor] P0 for the L2 term; null when l2Lambda == 0, and for unpenalized tensors
  private final NDArray[] acc; // [tensor] gradient accumulators
  private final NDArray[] m; // [tensor] AdamW first moments
  private final NDArray[] v; // [tensor] AdamW second moments
  private final Map<Long, NDArray> scalars = new HashMap<>();
  private final LearnerStats stats;
  private final MicroBatchLoop loop;

  private FullFineTuner(BaseModel base, LearnerConfig train, DataType dtype) {
    if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT64) {
      throw new IllegalArgumentException("FullFineTuner dtype must be FLOAT32 or FLOAT64, got " + dtype);
    }
    this.spec = base.spec();
    this.train = train;
    this.dtype = dtype;
    this.stats = new LearnerStats(train, LOG, "full fine-tuning ");
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
        if (init != null && penalized(t)) {
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
    this.loop = new MicroBatchLoop(new AllTensors(), manager, train, stats);
  }

  /** A float32 tuner starting from {@code base}'s parameters, on the base's device. */
  public static FullFineTuner create(BaseModel base, LearnerConfig train) {
    return new FullFineTuner(base, train, DataType.FLOAT32);
  }

  /** As {@link #create(BaseModel, LearnerConfig)} with FLOAT32 or FLOAT64 (gradient checks). */
  public static FullFineTuner create(BaseModel base, LearnerConfig train, DataType dtype) {
    return new FullFineTuner(base, train, dtype);
  }

  @Override
  public StepResult trainMicroBatch(float[] rows, int[] labels, float[] weightsOrNull) {
    return loop.trainMicroBatch(rows, labels, weightsOrNull);
  }

  @Override
  public StepResult flush() {
    return loop.flush();
  }

  /** Logits, loss and gradients (device layout) of one micro-batch, attached to {@code tmp}. */
  private MicroBatchLoop.Pass backward(NDManager tmp, DeviceBatch mb, double lossScale) {
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
    return new MicroBatchLoop.Pass(logits, loss, grads);
  }

  /**
   * Every base parameter as the shared loop sees it: the L2 gradient is {@code 2*lambda*(P - P0)},
   * the penalty on the change from the base, and there is no schedule.
   */
  private final class AllTensors implements MicroBatchLoop.Tensors {
    @Override
    public DataType dataType() {
      return dtype;
    }

    @Override
    public int inputSize() {
      return spec.inputSize();
    }

    @Override
    public int numClasses() {
      return spec.numClasses();
    }

    @Override
    public void checkTokens(float[] rows) {
      FullFineTuner.this.checkTokens(rows);
    }

    @Override
    public void sync() {
      // the tensors never change shape
    }

    @Override
    public MicroBatchLoop.Pass backward(NDManager tmp, DeviceBatch mb, double lossScale) {
      return FullFineTuner.this.backward(tmp, mb, lossScale);
    }

    @Override
    public NDArray[] values() {
      return params;
    }

    @Override
    public NDArray[] accumulators() {
      return acc;
    }

    @Override
    public NDArray[] firstMoments() {
      return m;
    }

    @Override
    public NDArray[] secondMoments() {
      return v;
    }

    @Override
    public NDArray l2Gradient(NDManager tmp, int i, double twiceLambda) {
      tmp.tempAttachAll(init[i]);
      return params[i].sub(init[i]).muli(scalar(twiceLambda)); // d/dP lambda*|P - P0|^2
    }

    @Override
    public boolean penalized(int i) {
      return FullFineTuner.penalized(tensors.get(i));
    }

    @Override
    public NDArray scalar(double x) {
      return FullFineTuner.this.scalar(x);
    }

    @Override
    public void resetAccumulators() {
      for (int i = 0; i < acc.length; i++) {
        Shape s = acc[i].getShape();
        acc[i].close();
        acc[i] = manager.zeros(s, dtype);
      }
    }

    @Override
    public boolean afterStep(long optimizerStep, double stepLoss) {
      return false; // no rank, no schedule
    }
  }

  /** Whether the L2 term reaches {@code t}: every tensor but the token table (see MicroBatchLoop.Tensors#penalized). */
  private static boolean penalized(TensorSpec t) {
    return !t.tokenTable();
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
  @Override
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
      MicroBatchLoop.Pass pass = backward(tmp, DeviceBatch.view(p, labels.length, spec.inputSize(), spec.numClasses()), 1.0);
      Map<String, double[]> grads = new LinkedHashMap<>();
      for (int i = 0; i < tensors.size(); i++) {
        grads.put(tensors.get(i).name(), toContract(i, toHost(pass.grads()[i])));
      }
      return new LossAndGradients(toHost(pass.loss())[0], grads);
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

  @Override
  public LearnerStats stats() {
    return stats;
  }

  @Override
  public LearnerConfig learnerConfig() {
    return train;
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
