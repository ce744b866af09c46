package io.lorastream.lora.adapter;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.DeviceBatch;
import io.lorastream.lora.model.Devices;
import io.lorastream.lora.model.Forward;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.MergedClassifier;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.lora.model.TensorSpec;
import io.lorastream.lora.model.TokenRows;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A frozen {@link BaseModel} of any kind plus one LoRA adapter per target layer:
 * {@code y = W x + b + s * B (A x)} with A (r x in), B (out x r), s = alpha/r or alpha/sqrt(r).
 * A target is a linear layer or, for text kinds, the token-embedding table
 * ({@link io.lorastream.lora.model.ModelSpec#EMBEDDING_LAYER}, W = E^T on one-hot tokens).
 * The forward pass is the shared {@link Forward} (MLP, embedding bag or transformer); a layer name
 * is just a string here, so growth, merge and snapshots work the same for every kind.
 *
 * <p>On the device A and B are kept transposed, {@code At} (in x r) and {@code Bt} (r x out), so
 * a batch x (n x in) flows as {@code x @ At @ Bt}; every op then has a per-batch array as its
 * receiver and its result lands in the batch's NDManager, never in this model's long-lived one.
 * Host accessors ({@link #a}, {@link #b}) and snapshots use the contract layout (A: r x in,
 * B: out x r, row-major).
 *
 * <p>The base tensors are shared read-only with the BaseModel (float32) or copied (float64, used
 * by gradient checks); neither ever requires a gradient. Not thread-safe: one trainer thread owns
 * it. Readers get an immutable {@link MergedModel} from {@link #merge()}.
 */
public final class LoraModel implements AutoCloseable {

  /**
   * DJL's PyTorch GradientCollector allows one collector per JVM at a time; every autograd scope
   * in lora-core takes this lock so that two learners (or a learner and a pretrainer) in one JVM
   * serialize instead of failing.
   */
  public static final Object AUTOGRAD_LOCK = new Object();

  private final BaseModel base;
  private final AdapterConfig config;
  private final DataType dtype;
  private final NDManager manager;
  private final List<LayerInfo> layers;
  private final NDArray[] params; // [tensor] base parameters, canonical order, device layout (linear weights (in, out))
  private final Adapter[] adapters; // [layer], null when not adapted
  private final Forward forwardPass;
  private final Forward.Consts consts; // 0-d constants: op(double) would build a scalar tensor per call
  private final Map<Long, NDArray> scalars = new java.util.HashMap<>(); // scalar(double) cache, by bits
  private long structureVersion;

  /** Mutable per-layer adapter state. */
  public static final class Adapter {
    public final LayerInfo info;
    public final int index;
    public float alpha;
    public Scaling scaling;
    public int rank;
    public double scale;
    public NDArray at; // (in, r)
    public NDArray bt; // (r, out)
    NDArray scaleScalar; // 0-d, this model's dtype: mul(double) would build and free a scalar tensor per call

    Adapter(LayerInfo info, int index, float alpha, Scaling scaling) {
      this.info = info;
      this.index = index;
      this.alpha = alpha;
      this.scaling = scaling;
    }
  }

  private LoraModel(BaseModel base, AdapterConfig config, DataType dtype) {
    if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT64) {
      throw new IllegalArgumentException("LoraModel dtype must be FLOAT32 or FLOAT64, got " + dtype);
    }
    this.base = base;
    this.config = config;
    this.dtype = dtype;
    this.layers = base.adaptableLayers();
    List<LayerInfo> targets = config.resolveTargets(base.spec());
    this.forwardPass = base.forwardPass();
    this.manager = NDManager.newBaseManager(base.device());
    List<TensorSpec> tensors = base.tensors();
    this.params = new NDArray[tensors.size()];
    this.adapters = new Adapter[layers.size()];
    try {
      this.consts = Forward.Consts.create(manager, dtype, base.spec());
      for (int i = 0; i < tensors.size(); i++) {
        TensorSpec t = tensors.get(i);
        if (dtype == DataType.FLOAT32) {
          params[i] = base.deviceTensor(i);
        } else {
          float[] h = base.hostTensor(i);
          float[] d = t.isLinearWeight() ? BaseModel.transpose(h, t.shape()[0], t.shape()[1]) : h;
          params[i] = create(manager, toDouble(d), new Shape(t.deviceShape()));
        }
      }
      for (LayerInfo t : targets) {
        int i = base.adaptableIndex(t.name());
        Adapter ad = new Adapter(t, i, config.alphaFor(t.name()), config.scalingFor(t.name()));
        int r = Math.min(config.rank(), config.maxRankFor(t.name()));
        double[] a = gaussian(new Random(mix(config.seed(), i, 0)), r * t.in(), config.initStd());
        setState(ad, r, a, new double[t.out() * r]);
        adapters[i] = ad;
      }
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** A float32 adapter model on the base's device; A random, B zero (see {@link AdapterConfig}). */
  public static LoraModel create(BaseModel base, AdapterConfig config) {
    return new LoraModel(base, config, DataType.FLOAT32);
  }

  /** As {@link #create(BaseModel, AdapterConfig)} with an explicit dtype (FLOAT32 or FLOAT64). */
  public static LoraModel create(BaseModel base, AdapterConfig config, DataType dtype) {
    return new LoraModel(base, config, dtype);
  }

  /**
   * Logits for a batch x of shape (n, in), on this model's device and dtype. The result is
   * attached to x's manager, so a per-batch manager frees it.
   */
  public NDArray forward(NDArray x) {
    Devices.tuneCurrentThread();
    NDArray[] at = new NDArray[adapters.length];
    NDArray[] bt = new NDArray[adapters.length];
    for (int i = 0; i < adapters.length; i++) {
      if (adapters[i] != null) {
        at[i] = adapters[i].at;
        bt[i] = adapters[i].bt;
      }
    }
    return forward(x, at, bt);
  }

  private NDArray forward(NDArray x, NDArray[] at, NDArray[] bt) {
    NDArray[] scale = new NDArray[adapters.length];
    for (int i = 0; i < adapters.length; i++) {
      if (adapters[i] != null) {
        scale[i] = adapters[i].scaleScalar;
      }
    }
    return forwardPass.logits(x, params, at, bt, scale, consts);
  }

  /**
   * Logits for a row-major host batch (n x inputSize), computed on the device; returns (n x C)
   * row-major.
   *
   * @throws IllegalArgumentException on a length mismatch or, for text kinds, a bad token id
   */
  public double[] logits(float[] featuresRowMajor, int n) {
    if (featuresRowMajor.length != n * base.inputSize()) {
      throw new IllegalArgumentException("expected " + n + "x" + base.inputSize() + " features, got " + featuresRowMajor.length);
    }
    checkTokens(featuresRowMajor);
    try (NDManager tmp = manager.newSubManager()) {
      NDArray x = create(tmp, toDouble(featuresRowMajor), new Shape(n, base.inputSize()));
      return toHost(forward(x));
    }
  }

  /** Result of one forward+backward pass: mean loss and gradients of A (r x in) and B (out x r) per layer. */
  public record LossAndGradients(double loss, Map<String, double[]> gradA, Map<String, double[]> gradB) {}

  /**
   * Mean (weighted) cross-entropy and its autograd gradients with respect to A and B, for host
   * inputs. Used by gradient checks and diagnostics; training uses the same code path on device
   * arrays.
   */
  public LossAndGradients lossAndGradients(float[] featuresRowMajor, int[] labels, float[] weightsOrNull) {
    try (NDManager tmp = manager.newSubManager()) {
      DeviceBatch mb = upload(tmp, featuresRowMajor, labels, weightsOrNull);
      Pass pass = backward(tmp, mb.x(), mb.targets(), 1.0);
      double loss = toHost(pass.loss())[0];
      Map<String, double[]> ga = new LinkedHashMap<>();
      Map<String, double[]> gb = new LinkedHashMap<>();
      for (Adapter ad : adapters) {
        if (ad != null) {
          ga.put(ad.info.name(), transpose(toHost(pass.gradAt()[ad.index]), ad.info.in(), ad.rank));
          gb.put(ad.info.name(), transpose(toHost(pass.gradBt()[ad.index]), ad.rank, ad.info.out()));
        }
      }
      return new LossAndGradients(loss, ga, gb);
    }
  }

  /** Mean (weighted) cross-entropy for host inputs, no gradients. */
  public double loss(float[] featuresRowMajor, int[] labels, float[] weightsOrNull) {
    try (NDManager tmp = manager.newSubManager()) {
      DeviceBatch mb = upload(tmp, featuresRowMajor, labels, weightsOrNull);
      return toHost(crossEntropy(forward(mb.x()), mb.targets()))[0];
    }
  }

  /** Validates and packs a host micro-batch and copies it to the device in this model's dtype, attached to {@code tmp}. */
  private DeviceBatch upload(NDManager tmp, float[] featuresRowMajor, int[] labels, float[] weightsOrNull) {
    double[] packed = DeviceBatch.pack(featuresRowMajor, labels, weightsOrNull, base.inputSize(), base.numClasses());
    checkTokens(featuresRowMajor);
    NDArray p = create(tmp, packed, new Shape(packed.length));
    return DeviceBatch.view(p, labels.length, base.inputSize(), base.numClasses());
  }

  /** For text kinds: every value must be a token id in [0, vocabSize) (host check, before device work). */
  public void checkTokens(float[] rows) {
    if (base.tokenInput()) {
      TokenRows.requireValid(rows, base.inputSize(), base.vocabSize());
    }
  }

  /** Logits (n, C), loss tensor and gradients w.r.t. At/Bt (device layout), all attached to the pass's manager. */
  public record Pass(NDArray logits, NDArray loss, NDArray[] gradAt, NDArray[] gradBt) {}

  /**
   * Forward and backward of one micro-batch. Gradients are taken on fresh leaves detached from the
   * stored A/B (sharing their storage), so nothing accumulates inside PyTorch between calls and a
   * bad micro-batch can be dropped without touching the stored parameters or earlier gradients.
   *
   * @param lossScale factor applied to the loss before backward (1/k for accumulation)
   */
  public Pass backward(NDManager tmp, NDArray x, NDArray targets, double lossScale) {
    Devices.tuneCurrentThread();
    NDArray[] at = new NDArray[adapters.length];
    NDArray[] bt = new NDArray[adapters.length];
    for (Adapter ad : adapters) {
      if (ad != null) {
        at[ad.index] = leaf(ad.at, tmp);
        bt[ad.index] = leaf(ad.bt, tmp);
      }
    }
    NDArray logits;
    NDArray loss;
    synchronized (AUTOGRAD_LOCK) {
      try (GradientCollector gc = manager.getEngine().newGradientCollector()) {
        logits = forward(x, at, bt);
        loss = crossEntropy(logits, targets);
        gc.backward(lossScale == 1.0 ? loss : loss.mul(scalar(lossScale)));
      }
    }
    NDArray[] ga = new NDArray[adapters.length];
    NDArray[] gb = new NDArray[adapters.length];
    for (Adapter ad : adapters) {
      if (ad != null) {
        ga[ad.index] = at[ad.index].getGradient();
        gb[ad.index] = bt[ad.index].getGradient();
      }
    }
    return new Pass(logits, loss, ga, gb);
  }

  private static NDArray leaf(NDArray stored, NDManager tmp) {
    NDArray l = stored.stopGradient();
    l.attach(tmp);
    l.setRequiresGradient(true);
    return l;
  }

  /**
   * A 0-d array of this model's dtype holding {@code v}: callers multiply by the same few
   * constants on every micro-batch or step (1/k, the L2 factor), and {@code mul(double)} would
   * create and free a scalar tensor each time. Cached per value (at most 16, then the cache starts
   * over). Owned by this model; do not close it.
   */
  public NDArray scalar(double v) {
    long key = Double.doubleToLongBits(v);
    NDArray s = scalars.get(key);
    if (s == null) {
      if (scalars.size() >= 16) {
        scalars.values().forEach(NDArray::close);
        scalars.clear();
      }
      s = dtype == DataType.FLOAT64 ? manager.create(v) : manager.create((float) v);
      scalars.put(key, s);
    }
    return s;
  }

  /** Weighted cross-entropy: targets carry w_i/n at the true class, so -sum(targets * logp) is the mean. */
  public static NDArray crossEntropy(NDArray logits, NDArray targets) {
    return logits.logSoftmax(1).mul(targets).sum().neg();
  }

  /** Current rank per adapted layer, in forward order. */
  public Map<String, Integer> ranks() {
    Map<String, Integer> m = new LinkedHashMap<>();
    for (Adapter ad : adapters) {
      if (ad != null) {
        m.put(ad.info.name(), ad.rank);
      }
    }
    return Collections.unmodifiableMap(m);
  }

  /** Adapted layers in forward order. */
  public List<LayerInfo> targets() {
    List<LayerInfo> out = new ArrayList<>();
    for (Adapter ad : adapters) {
      if (ad != null) {
        out.add(ad.info);
      }
    }
    return List.copyOf(out);
  }

  /** Current scale s of a layer. */
  public double scale(String layer) {
    return adapter(layer).scale;
  }

  /** Alpha of a layer. */
  public float alpha(String layer) {
    return adapter(layer).alpha;
  }

  /** Scaling mode of a layer. */
  public Scaling scaling(String layer) {
    return adapter(layer).scaling;
  }

  /** A copy of A, row-major (r x in). */
  public double[] a(String layer) {
    Adapter ad = adapter(layer);
    return transpose(toHost(ad.at), ad.info.in(), ad.rank);
  }

  /** A copy of B, row-major (out x r). */
  public double[] b(String layer) {
    Adapter ad = adapter(layer);
    return transpose(toHost(ad.bt), ad.rank, ad.info.out());
  }

  /** Replaces a layer's A, B, rank, alpha and scaling with published ones (snapshot restore, import). */
  public void setAdapter(LayerWeights l) {
    setAdapter(l.name(), l.rank(), toDouble(l.a()), toDouble(l.b()), l.alpha(), l.scaling());
  }

  /**
   * A float32 model on the base's device holding exactly {@code layers} (ranks, alphas and scaling
   * as published), for a snapshot or an adapter that did not come from a learner: an imported PEFT
   * adapter, or a test's independent forward of a committed one.
   *
   * @throws IllegalArgumentException if a layer does not exist in the base or does not fit it
   */
  public static LoraModel of(BaseModel base, java.util.List<LayerWeights> layers) {
    if (layers.isEmpty()) {
      throw new IllegalArgumentException("an adapter needs at least one layer");
    }
    int top = layers.stream().mapToInt(LayerWeights::rank).max().orElse(1);
    AdapterConfig ac = AdapterConfig.defaults().withMaxRank(Math.max(top, AdapterConfig.DEFAULT_MAX_RANK)).withRank(1)
        .withTargets(layers.stream().map(LayerWeights::name).toList()).withAlpha(layers.get(0).alpha())
        .withScaling(layers.get(0).scaling());
    LoraModel m = create(base, ac);
    try {
      layers.forEach(m::setAdapter);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
    return m;
  }

  /** Replaces a layer's A (r x in) and B (out x r) at the given rank, keeping its alpha and scaling. */
  public void setAdapter(String layer, int rank, double[] a, double[] b) {
    Adapter ad = adapter(layer);
    setAdapter(layer, rank, a, b, ad.alpha, ad.scaling);
  }

  /**
   * Replaces a layer's A (r x in), B (out x r), alpha and scaling (snapshot restore).
   *
   * @throws IllegalArgumentException if the lengths do not match the rank or alpha is not positive
   */
  public void setAdapter(String layer, int rank, double[] a, double[] b, float alpha, Scaling scaling) {
    Adapter ad = adapter(layer);
    if (rank <= 0 || a.length != rank * ad.info.in() || b.length != ad.info.out() * rank) {
      throw new IllegalArgumentException("layer " + layer + ": rank " + rank + " needs A of " + rank * ad.info.in()
          + " and B of " + ad.info.out() * rank + " values, got " + a.length + " and " + b.length);
    }
    if (!(alpha > 0) || !Float.isFinite(alpha) || scaling == null) {
      throw new IllegalArgumentException("layer " + layer + ": alpha must be finite and > 0 and scaling set, got "
          + alpha + "/" + scaling);
    }
    ad.alpha = alpha;
    ad.scaling = scaling;
    setState(ad, rank, a, b);
  }

  /**
   * Grows a layer's rank without changing the function: A gets {@code newRank - r} new rows drawn
   * from N(0, initStd^2), B gets zero columns, and B is multiplied by {@code s_old/s_new} so that
   * {@code s_new * B' A' = s_old * B A} exactly (up to float rounding).
   *
   * @throws IllegalArgumentException if newRank is below the current rank or above the layer ceiling
   */
  public void grow(String layer, int newRank) {
    grow(layer, newRank, false);
  }

  /**
   * As {@link #grow(String, int)}; with {@code keepScale} the layer's alpha is raised so that its
   * scale stays ({@code alpha' = s r'}, or {@code s sqrt(r')} for RSLORA) and B is left as it is.
   */
  public void grow(String layer, int newRank, boolean keepScale) {
    Adapter ad = adapter(layer);
    if (newRank < ad.rank) {
      throw new IllegalArgumentException("layer " + layer + ": cannot shrink rank " + ad.rank + " to " + newRank);
    }
    int cap = config.maxRankFor(layer);
    if (newRank > cap) {
      throw new IllegalArgumentException("layer " + layer + ": rank " + newRank + " exceeds its maxRank " + cap);
    }
    if (newRank == ad.rank) {
      return;
    }
    int r = ad.rank;
    int in = ad.info.in();
    int out = ad.info.out();
    if (keepScale) {
      ad.alpha = (float) (ad.scale * (ad.scaling == Scaling.RSLORA ? Math.sqrt(newRank) : newRank));
    }
    double c = ad.scale / AdapterConfig.scale(ad.alpha, ad.scaling, newRank); // 1 (up to rounding) when keepScale
    double[] a = a(layer);
    double[] b = b(layer);
    double[] a2 = new double[newRank * in];
    System.arraycopy(a, 0, a2, 0, a.length);
    double[] extra = gaussian(new Random(mix(config.seed(), ad.index, newRank)), (newRank - r) * in, config.initStd());
    System.arraycopy(extra, 0, a2, a.length, extra.length);
    double[] b2 = new double[out * newRank];
    for (int o = 0; o < out; o++) {
      for (int k = 0; k < r; k++) {
        b2[o * newRank + k] = b[o * r + k] * c;
      }
    }
    setState(ad, newRank, a2, b2);
  }

  /** Merges every adapter into an immutable serving model (W' = W + s*B*A, on the host). */
  public MergedModel merge() {
    return MergedModel.merge(base, deltas());
  }

  /** The adapters folded into the base by {@code engine} (host loops, or DJL on the base's device). */
  public MergedClassifier merge(ServingEngine engine) {
    return engine.merge(base, deltas());
  }

  private List<MergedModel.Delta> deltas() {
    List<MergedModel.Delta> deltas = new ArrayList<>();
    for (Adapter ad : adapters) {
      if (ad != null) {
        deltas.add(new MergedModel.Delta(ad.info.name(), ad.rank, ad.scale, toFloat(a(ad.info.name())), toFloat(b(ad.info.name()))));
      }
    }
    return deltas;
  }

  public BaseModel base() {
    return base;
  }

  public AdapterConfig config() {
    return config;
  }

  public DataType dataType() {
    return dtype;
  }

  public Device device() {
    return base.device();
  }

  /** Number of A/B parameters: sum r*(in+out). */
  public long adapterParameterCount() {
    long n = 0;
    for (Adapter ad : adapters) {
      if (ad != null) {
        n += (long) ad.rank * (ad.info.in() + ad.info.out());
      }
    }
    return n;
  }

  /** Trainable parameters: sum r*(in+out) over adapted layers (= {@link #adapterParameterCount()}). */
  public long trainableParameters() {
    return adapterParameterCount();
  }

  /** Incremented whenever a layer's A/B arrays are replaced (growth, restore). */
  public long structureVersion() {
    return structureVersion;
  }

  public Adapter[] adapters() {
    return adapters;
  }

  public NDManager manager() {
    return manager;
  }

  public Adapter adapter(String layer) {
    int i = base.adaptableIndex(layer);
    Adapter ad = adapters[i];
    if (ad == null) {
      throw new IllegalArgumentException("layer '" + layer + "' has no adapter; adapted layers: " + ranks().keySet());
    }
    return ad;
  }

  private void setState(Adapter ad, int rank, double[] a, double[] b) {
    NDArray at = create(manager, transpose(a, rank, ad.info.in()), new Shape(ad.info.in(), rank));
    NDArray bt = create(manager, transpose(b, ad.info.out(), rank), new Shape(rank, ad.info.out()));
    if (ad.at != null) {
      ad.at.close();
      ad.bt.close();
      ad.scaleScalar.close();
    }
    ad.at = at;
    ad.bt = bt;
    ad.rank = rank;
    ad.scale = AdapterConfig.scale(ad.alpha, ad.scaling, rank);
    ad.scaleScalar = dtype == DataType.FLOAT64 ? manager.create(ad.scale) : manager.create((float) ad.scale);
    structureVersion++;
  }

  @Override
  public void close() {
    manager.close();
  }

  // ---- small host/device helpers shared by the learner ----

  public NDArray create(NDManager m, double[] data, Shape shape) {
    return dtype == DataType.FLOAT64 ? m.create(data, shape) : m.create(toFloat(data), shape);
  }

  public double[] toHost(NDArray a) {
    return dtype == DataType.FLOAT64 ? a.toDoubleArray() : toDouble(a.toFloatArray());
  }

  public static double[] toDouble(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  public static float[] toFloat(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }

  public static double[] transpose(double[] m, int rows, int cols) {
    double[] t = new double[m.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = m[r * cols + c];
      }
    }
    return t;
  }

  static double[] gaussian(Random rnd, int n, double std) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rnd.nextGaussian() * std;
    }
    return v;
  }

  /** Deterministic per-(seed, layer, rank) stream so growth rows do not depend on history. */
  static long mix(long seed, int layer, int rank) {
    long z = seed ^ (0x9E3779B97F4A7C15L * (layer + 1)) ^ (0xC2B2AE3D27D4EB4FL * (rank + 1));
    z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
    z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
    return z ^ (z >>> 33);
  }
}
