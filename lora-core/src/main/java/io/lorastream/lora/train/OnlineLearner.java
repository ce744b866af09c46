package io.lorastream.lora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.AdapterState;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.DeviceBatch;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains the adapters of a {@link LoraModel} from a stream of micro-batches: only A and B are
 * parameters; the base is never touched.
 *
 * <p><b>Per micro-batch</b> (size n, any n): validate on the host (for text models every token id
 * too), pack features and targets into one buffer and copy it host->device once; forward, scale
 * the loss by 1/k and backward on fresh leaves; read back the loss, the squared gradient norm of
 * every tensor and the arg-max class of every example (test-then-train predictions, from the
 * forward pass before this micro-batch's update) in one transfer; if the loss or a norm is not
 * finite, drop the micro-batch (counted in {@link #skippedBatches()}), else add its gradients to
 * device-resident accumulators.
 *
 * <p><b>Per optimizer step</b> (after k accepted micro-batches): add the L2 gradient
 * {@code 2*lambda*P} for P in {A, B} of every adapter but the token-embedding table's (see
 * {@code MicroBatchLoop.Tensors#penalized}), clip the total to global norm {@code clipNorm}, then AdamW
 * (bias-corrected moments, decoupled weight decay, own lr) updates A and B in place on the
 * device. A step whose total gradient is non-finite is discarded whole. Then the rank schedule is
 * consulted and target layers grow; AdamW moments of grown layers are extended with zeros (the
 * existing B moments are rescaled by the same reparameterization factor as B).
 *
 * <p><b>Restarts.</b> Optimizer moments are not part of a snapshot and do not survive a restart:
 * {@link #restore} brings back A, B, ranks, alpha, scaling, the optimizer-step count and
 * examples-seen, and AdamW starts again from zero moments (with its own bias correction).
 *
 * <p><b>Snapshot points.</b> Micro-batches accumulated towards an unfinished step are in
 * {@link #examplesSeen()} but not yet in A/B; call {@link #flush()} before a snapshot (the codec
 * refuses to encode while {@link #pendingMicroBatches()} &gt; 0).
 *
 * <p>Not thread-safe: one thread feeds it; hand {@link #merged()} to readers.
 */
public final class OnlineLearner implements Learner {

  private static final Logger LOG = LoggerFactory.getLogger(OnlineLearner.class);

  private final LoraModel model;
  private final LearnerConfig train;
  private final NDManager manager;
  private final RankSchedule.Controller schedule;
  private final List<Param> params = new ArrayList<>();
  private final LearnerStats stats;
  private final MicroBatchLoop loop;
  private long seenStructure = -1;

  /** One trainable tensor (At or Bt of a layer) with its accumulator and AdamW moments. */
  private static final class Param {
    final LoraModel.Adapter adapter;
    final boolean isA;
    NDArray acc;
    NDArray m;
    NDArray v;

    Param(LoraModel.Adapter adapter, boolean isA) {
      this.adapter = adapter;
      this.isA = isA;
    }

    NDArray value() {
      return isA ? adapter.at : adapter.bt;
    }
  }

  private OnlineLearner(LoraModel model, LearnerConfig train) {
    this.model = model;
    this.train = train;
    this.manager = model.manager().newSubManager();
    this.schedule = train.schedule().controller();
    this.stats = new LearnerStats(train, LOG, "");
    this.loop = new MicroBatchLoop(new AdapterTensors(), manager, train, stats);
    for (LoraModel.Adapter ad : model.adapters()) {
      if (ad != null) {
        params.add(new Param(ad, true));
        params.add(new Param(ad, false));
      }
    }
    syncState();
  }

  /** A float32 learner on the base's device; starting rank = the schedule's initial rank (capped). */
  public static OnlineLearner create(BaseModel base, AdapterConfig adapter, LearnerConfig train) {
    return create(base, adapter, train, DataType.FLOAT32);
  }

  /** As {@link #create(BaseModel, AdapterConfig, LearnerConfig)} with FLOAT32 or FLOAT64. */
  public static OnlineLearner create(BaseModel base, AdapterConfig adapter, LearnerConfig train, DataType dtype) {
    int r0 = Math.min(train.schedule().initialRank(), adapter.maxRank());
    LoraModel model = LoraModel.create(base, adapter.withRank(r0), dtype);
    try {
      return new OnlineLearner(model, train);
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  @Override
  public StepResult trainMicroBatch(float[] rows, int[] labels, float[] weightsOrNull) {
    return loop.trainMicroBatch(rows, labels, weightsOrNull);
  }

  @Override
  public StepResult flush() {
    return loop.flush();
  }

  /**
   * The adapters' A and B as the shared loop sees them: the L2 gradient is {@code 2*lambda*P}, and
   * after each step the rank schedule may grow layers (moments extended, see the class comment).
   */
  private final class AdapterTensors implements MicroBatchLoop.Tensors {
    @Override
    public DataType dataType() {
      return model.dataType();
    }

    @Override
    public int inputSize() {
      return model.base().inputSize();
    }

    @Override
    public int numClasses() {
      return model.base().numClasses();
    }

    @Override
    public void checkTokens(float[] rows) {
      model.checkTokens(rows);
    }

    @Override
    public void sync() {
      syncState();
    }

    @Override
    public MicroBatchLoop.Pass backward(NDManager tmp, DeviceBatch mb, double lossScale) {
      LoraModel.Pass pass = model.backward(tmp, mb.x(), mb.targets(), lossScale);
      NDArray[] grads = new NDArray[params.size()];
      for (int i = 0; i < grads.length; i++) {
        Param q = params.get(i);
        grads[i] = q.isA ? pass.gradAt()[q.adapter.index] : pass.gradBt()[q.adapter.index];
      }
      return new MicroBatchLoop.Pass(pass.logits(), pass.loss(), grads);
    }

    @Override
    public NDArray[] values() {
      return params.stream().map(Param::value).toArray(NDArray[]::new);
    }

    @Override
    public NDArray[] accumulators() {
      return params.stream().map(q -> q.acc).toArray(NDArray[]::new);
    }

    @Override
    public NDArray[] firstMoments() {
      return params.stream().map(q -> q.m).toArray(NDArray[]::new);
    }

    @Override
    public NDArray[] secondMoments() {
      return params.stream().map(q -> q.v).toArray(NDArray[]::new);
    }

    @Override
    public NDArray l2Gradient(NDManager tmp, int i, double twiceLambda) {
      return params.get(i).value().mul(model.scalar(twiceLambda)); // d/dP lambda*|P|^2
    }

    @Override
    public boolean penalized(int i) {
      return !params.get(i).adapter.info.name().equals(ModelSpec.EMBEDDING_LAYER);
    }

    @Override
    public NDArray scalar(double x) {
      return model.scalar(x);
    }

    @Override
    public void resetAccumulators() {
      OnlineLearner.this.resetAccumulators();
    }

    @Override
    public boolean afterStep(long optimizerStep, double stepLoss) {
      return applySchedule(stepLoss);
    }
  }

  private boolean applySchedule(double stepLoss) {
    int target = schedule.afterStep(stats.optimizerStep(), stepLoss);
    boolean grew = false;
    for (LoraModel.Adapter ad : model.adapters()) {
      if (ad == null) {
        continue;
      }
      int want = Math.min(target, model.config().maxRankFor(ad.info.name()));
      if (want > ad.rank) {
        growWithMoments(ad, want);
        grew = true;
      }
    }
    return grew;
  }

  /** Grows a layer and extends its AdamW moments with zeros (see the class comment). */
  private void growWithMoments(LoraModel.Adapter ad, int newRank) {
    int r = ad.rank;
    int in = ad.info.in();
    int out = ad.info.out();
    boolean keep = train.keepScaleOnGrowth();
    double c = keep ? 1.0 : ad.scale / AdapterConfig.scale(ad.alpha, ad.scaling, newRank); // B' = c*B
    Param pa = param(ad, true);
    Param pb = param(ad, false);
    double[] ma = model.toHost(pa.m); // (in, r)
    double[] va = model.toHost(pa.v);
    double[] mb = model.toHost(pb.m); // (r, out)
    double[] vb = model.toHost(pb.v);
    model.grow(ad.info.name(), newRank, keep);
    double[] ma2 = new double[in * newRank];
    double[] va2 = new double[in * newRank];
    for (int i = 0; i < in; i++) {
      for (int k = 0; k < r; k++) {
        ma2[i * newRank + k] = ma[i * r + k];
        va2[i * newRank + k] = va[i * r + k];
      }
    }
    double[] mb2 = new double[newRank * out]; // rows r..newRank-1 stay zero
    double[] vb2 = new double[newRank * out];
    for (int j = 0; j < r * out; j++) {
      mb2[j] = mb[j] / c; // grad w.r.t. B' is grad w.r.t. B divided by c
      vb2[j] = vb[j] / (c * c);
    }
    replace(pa, ma2, va2, new Shape(in, newRank));
    replace(pb, mb2, vb2, new Shape(newRank, out));
    seenStructure = model.structureVersion();
  }

  private void replace(Param q, double[] m, double[] v, Shape shape) {
    q.m.close();
    q.v.close();
    q.acc.close();
    q.m = model.create(manager, m, shape);
    q.v = model.create(manager, v, shape);
    q.acc = manager.zeros(shape, model.dataType());
  }

  private Param param(LoraModel.Adapter ad, boolean isA) {
    for (Param q : params) {
      if (q.adapter == ad && q.isA == isA) {
        return q;
      }
    }
    throw new IllegalStateException("no parameter for " + ad.info.name());
  }

  /** Accumulators are recreated, not zeroed in place: 0 * Inf would leave NaN behind. */
  private void resetAccumulators() {
    for (Param q : params) {
      Shape s = q.value().getShape();
      if (q.acc != null) {
        q.acc.close();
      }
      q.acc = manager.zeros(s, model.dataType());
    }
  }

  /** (Re)creates moments and accumulators if A/B were replaced behind the learner's back. */
  private void syncState() {
    if (seenStructure == model.structureVersion()) {
      return;
    }
    for (Param q : params) {
      Shape s = q.value().getShape();
      if (q.m == null || !q.m.getShape().equals(s)) {
        if (q.m != null) {
          q.m.close();
          q.v.close();
        }
        q.m = manager.zeros(s, model.dataType());
        q.v = manager.zeros(s, model.dataType());
      }
    }
    resetAccumulators();
    stats.dropWindow();
    seenStructure = model.structureVersion();
  }

  /**
   * Restores A, B, ranks, alpha and scaling (the snapshot's values win over the configuration, so
   * the restored function is exactly the published one), the optimizer-step count and
   * examples-seen. AdamW moments restart at zero; pending micro-batches are dropped.
   *
   * @throws IllegalArgumentException if the snapshot's layers are not exactly this learner's
   *     targets, or a rank exceeds this learner's ceiling for that layer
   */
  public void restore(AdapterState snap) {
    Map<String, Integer> mine = model.ranks();
    List<String> theirs = snap.layers().stream().map(LayerWeights::name).toList();
    if (!new java.util.HashSet<>(theirs).equals(mine.keySet())) {
      throw new IllegalArgumentException("snapshot adapts layers " + theirs + " but this learner targets "
          + mine.keySet() + "; use the same AdapterConfig.targets as the run that wrote it");
    }
    for (LayerWeights l : snap.layers()) {
      if (l.rank() > model.config().maxRankFor(l.name())) {
        throw new IllegalArgumentException("snapshot layer " + l.name() + " has rank " + l.rank()
            + " above this learner's maxRank " + model.config().maxRankFor(l.name()) + " for that layer");
      }
    }
    for (LayerWeights l : snap.layers()) {
      LoraModel.Adapter ad = model.adapter(l.name());
      if (ad.alpha != l.alpha() || ad.scaling != l.scaling()) {
        LOG.warn("restoring layer {} with the snapshot's alpha={} scaling={} (configured: alpha={} scaling={})",
            l.name(), l.alpha(), l.scaling(), ad.alpha, ad.scaling);
      }
      model.setAdapter(l);
    }
    for (Param q : params) {
      if (q.m != null) {
        q.m.close();
        q.v.close();
        q.m = null;
        q.v = null;
      }
    }
    syncState();
    stats.restore(snap.optimizerStep(), snap.examplesSeen());
    loop.restartOptimizer(); // the moments were just zeroed
    int maxRank = model.ranks().values().stream().mapToInt(Integer::intValue).max().orElse(0);
    schedule.resume(stats.optimizerStep(), maxRank);
  }

  /** An immutable serving model of the current adapters. */
  @Override
  public MergedModel merged() {
    return model.merge();
  }

  public LoraModel model() {
    return model;
  }

  @Override
  public LearnerStats stats() {
    return stats;
  }

  @Override
  public LearnerConfig learnerConfig() {
    return train;
  }

  public AdapterConfig adapterConfig() {
    return model.config();
  }

  /** Trainable parameters: sum r*(in+out) over adapted layers at the current ranks. */
  public long trainableParameters() {
    return model.trainableParameters();
  }

  /** Current rank per adapted layer. */
  public Map<String, Integer> ranks() {
    return new LinkedHashMap<>(model.ranks());
  }

  /** Closes the learner and its model (not the base). */
  @Override
  public void close() {
    manager.close();
    model.close();
  }
}
