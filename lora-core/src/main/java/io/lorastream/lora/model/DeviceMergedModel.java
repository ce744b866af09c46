package io.lorastream.lora.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A serving model on the base's DJL device: every linear layer an adapter touches is merged there,
 * {@code W'^T (in, out) = W^T + s A^T B^T}, and every other tensor is the base's own device tensor,
 * shared between versions. The token-embedding table's adapter stays as its two factors (looked up
 * like the table, then one (n, L, r)@(r, d) product): merging it would copy the whole table, 47 MB
 * for MiniLM, into every version. The forward is {@link Forward}, the one the trainer runs, so serving
 * cannot drift from training; each request runs in its own sub-manager, closed when it returns.
 *
 * <p>Device memory is freed deterministically: the owner calls {@link #retire} when the version
 * leaves its history, and the merged tensors are closed as soon as the last request that was
 * already using the model returns (a lease count); a request that starts on a retired model fails
 * with a clear error instead of reading freed memory. A model that is dropped without being retired
 * is closed when it becomes unreachable.
 */
public final class DeviceMergedModel implements MergedClassifier {
  private static final Cleaner CLEANER = Cleaner.create();

  private final BaseModel base;
  private final NDArray[] p; // [tensor] device layout: base tensors, adapted linear weights replaced
  private final NDArray[] at; // [adaptable layer] A^T of the embedding table's adapter, else null
  private final NDArray[] bt;
  private final NDArray[] scale;
  private final Map<String, Integer> ranks;
  private final NDManager own; // the merged tensors; null for the bare base
  private final AtomicInteger leases = new AtomicInteger(1); // 1 = the owner's
  private final AtomicBoolean retired = new AtomicBoolean();
  private final String engine;

  private DeviceMergedModel(BaseModel base, NDArray[] p, NDArray[] at, NDArray[] bt, NDArray[] scale,
      Map<String, Integer> ranks, NDManager own) {
    this.base = base;
    this.p = p;
    this.at = at;
    this.bt = bt;
    this.scale = scale;
    this.ranks = Map.copyOf(ranks);
    this.own = own;
    this.engine = "djl:" + base.device();
    if (own != null) {
      CLEANER.register(this, own::close); // the action holds only the manager, never this
    }
  }

  /** The frozen base itself: its own device tensors, nothing to free. */
  public static DeviceMergedModel ofBase(BaseModel base) {
    return new DeviceMergedModel(base, baseTensors(base), null, null, null, Map.of(), null);
  }

  private static NDArray[] baseTensors(BaseModel base) {
    NDArray[] p = new NDArray[base.tensors().size()];
    for (int i = 0; i < p.length; i++) {
      p[i] = base.deviceTensor(i);
    }
    return p;
  }

  /**
   * Folds {@code deltas} into device copies of the adapted layers.
   *
   * @throws IllegalArgumentException when a delta's A/B lengths do not match its layer and rank
   */
  public static DeviceMergedModel merge(BaseModel base, List<MergedModel.Delta> deltas) {
    Devices.tuneCurrentThread();
    NDArray[] p = baseTensors(base);
    int na = base.adaptableLayers().size();
    int nl = base.linearLayers().size();
    NDArray[] at = new NDArray[na];
    NDArray[] bt = new NDArray[na];
    NDArray[] scale = new NDArray[na];
    Map<String, Integer> ranks = new TreeMap<>();
    NDManager own = base.manager().newSubManager();
    try {
      for (MergedModel.Delta d : deltas) {
        int ai = base.adaptableIndex(d.layer());
        LayerInfo l = base.adaptableLayers().get(ai);
        int r = d.rank();
        d.requireShapeOf(l);
        ranks.put(d.layer(), r);
        if (ai >= nl) { // the embedding table: A (r, vocab), B (d, r)
          at[ai] = own.create(BaseModel.transpose(d.a(), r, l.in()), new Shape(l.in(), r));
          bt[ai] = own.create(BaseModel.transpose(d.b(), l.out(), r), new Shape(r, l.out()));
          scale[ai] = own.create((float) d.scale());
          continue;
        }
        try (NDManager tmp = own.newSubManager()) {
          NDArray aT = tmp.create(d.a(), new Shape(r, l.in())).transpose(); // (in, r)
          NDArray bT = tmp.create(d.b(), new Shape(l.out(), r)).transpose(); // (r, out)
          // the product first, so every intermediate lands in tmp, not in the base's manager
          NDArray w = aT.matMul(bT).mul((float) d.scale()).add(base.deviceWeightT(ai)); // (in, out)
          w.attach(own);
          p[base.weightTensor(ai)] = w;
        }
      }
    } catch (RuntimeException e) {
      own.close();
      throw e;
    }
    return new DeviceMergedModel(base, p, at, bt, scale, ranks, own);
  }

  @Override
  public float[] logits(float[] row) {
    if (row.length != base.inputSize()) {
      throw new IllegalArgumentException("expected " + base.inputSize() + " inputs, got " + row.length);
    }
    if (base.tokenInput()) {
      TokenRows.requireValid(row, base.inputSize(), base.vocabSize());
    }
    if (!lease()) {
      throw new IllegalStateException("model " + ranks + " on " + engine + " was retired while the request started");
    }
    try {
      Devices.tuneCurrentThread();
      try (NDManager tmp = base.manager().newSubManager()) {
        NDArray x = tmp.create(row, new Shape(1, base.inputSize()));
        return base.forwardPass().logits(x, p, at, bt, scale, base.consts()).toFloatArray();
      }
    } finally {
      release();
      Reference.reachabilityFence(this); // keeps the Cleaner from closing the tensors mid-forward
    }
  }

  private boolean lease() {
    for (;;) {
      int n = leases.get();
      if (n == 0) {
        return false;
      }
      if (leases.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  private void release() {
    if (leases.decrementAndGet() == 0 && own != null) {
      own.close();
    }
  }

  @Override
  public void retire() {
    if (own != null && retired.compareAndSet(false, true)) {
      release();
    }
  }

  /** Whether the merged tensors were freed (for tests). */
  public boolean released() {
    return leases.get() == 0;
  }

  @Override
  public int inputSize() {
    return base.inputSize();
  }

  @Override
  public int numClasses() {
    return base.numClasses();
  }

  @Override
  public boolean tokenInput() {
    return base.tokenInput();
  }

  @Override
  public int vocabSize() {
    return base.vocabSize();
  }

  @Override
  public Map<String, Integer> ranks() {
    return ranks;
  }

  @Override
  public String engine() {
    return engine;
  }
}
