package io.lorastream.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lorastream.avro.AdapterSnapshot;
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
 * {@code 2*lambda*P} for P in {A, B}, clip the total to global norm {@code clipNorm}, then AdamW
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
public final class OnlineLearner implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(OnlineLearner.class);

  private final LoraModel model;
  private final LearnerConfig train;
  private final NDManager manager;
  private final RankSchedule.Controller schedule;
  private final List<Param> params = new ArrayList<>();
  private final LearnerStats stats;
  private final AdamW adam;
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
    this.adam = new AdamW(train);
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

  /**
   * Trains on one micro-batch.
   *
   * @param featuresRowMajor n x inputSize features, or token rows for text models (see {@link TokenRows})
   * @param labels n labels in [0, numClasses)
   * @param weightsOrNull n non-negative loss weights, or null for 1.0
   * @return the outcome, with {@link StepResult#predictions()} = arg-max class of each example before
   *     this update (null when the micro-batch was skipped)
   * @throws IllegalArgumentException for malformed input (lengths, label range, negative weight, a
   *     token id that is not an integer in [0, vocabSize)); non-finite dense features or weights are
   *     not an error: the micro-batch is skipped and counted
   */
  public StepResult trainMicroBatch(float[] featuresRowMajor, int[] labels, float[] weightsOrNull) {
    Devices.tuneCurrentThread();
    int d = model.base().inputSize();
    int c = model.base().numClasses();
    double[] packed = DeviceBatch.pack(featuresRowMajor, labels, weightsOrNull, d, c);
    model.checkTokens(featuresRowMajor);
    int n = labels.length;
    syncState();
    stats.seen(n);
    if (!DeviceBatch.finite(featuresRowMajor, weightsOrNull)) {
      return stats.skipBatch(n, Double.NaN);
    }
    BatchCheck check;
    try (NDManager tmp = manager.newSubManager()) {
      NDArray p = model.create(tmp, packed, new Shape(packed.length)); // the one host->device copy
      DeviceBatch mb = DeviceBatch.view(p, n, d, c);
      LoraModel.Pass pass = model.backward(tmp, mb.x(), mb.targets(), 1.0 / train.accumulationSteps());
      NDArray[] grads = new NDArray[params.size()];
      for (int i = 0; i < grads.length; i++) {
        Param q = params.get(i);
        grads[i] = q.isA ? pass.gradAt()[q.adapter.index] : pass.gradBt()[q.adapter.index];
      }
      check = BatchCheck.read(pass.loss(), grads, pass.logits(), model.dataType()); // the one read
      if (!check.finite()) {
        return stats.skipBatch(n, check.loss());
      }
      for (int i = 0; i < grads.length; i++) {
        params.get(i).acc.addi(grads[i]);
      }
    }
    if (stats.accept(check.loss())) {
      return step(1.0, check.loss()).withPredictions(check.predictions());
    }
    return stats.accumulating(check.loss(), check.predictions());
  }

  /**
   * Applies an optimizer step with the micro-batches accumulated so far, if any, rescaled to a mean
   * over the pending micro-batches. Call before taking a snapshot.
   */
  public StepResult flush() {
    Devices.tuneCurrentThread();
    syncState();
    if (stats.pending() == 0) {
      return stats.idle();
    }
    return step(stats.flushScale(), Double.NaN);
  }

  /**
   * One optimizer step from the accumulators; {@code gradScale} turns a partial sum into a mean.
   * The gradient gets the L2 term {@code 2*lambda*P} of this learner's penalty on A and B before
   * {@link AdamW} clips and applies it; then the rank schedule sees the step's mean loss.
   */
  private StepResult step(double gradScale, double lastLoss) {
    double stepLoss = stats.closeWindow();
    double norm;
    try (NDManager tmp = manager.newSubManager()) {
      int n = params.size();
      NDArray[] p = new NDArray[n];
      NDArray[] g = new NDArray[n];
      NDArray[] m = new NDArray[n];
      NDArray[] v = new NDArray[n];
      for (int i = 0; i < n; i++) {
        Param q = params.get(i);
        p[i] = q.value();
        m[i] = q.m;
        v[i] = q.v;
        tmp.tempAttachAll(p[i], q.acc, m[i], v[i]);
      }
      double l2 = 2 * train.l2Lambda();
      for (int i = 0; i < n; i++) {
        NDArray acc = params.get(i).acc;
        g[i] = gradScale == 1.0 ? acc : acc.mul(gradScale);
        if (l2 > 0) {
          g[i] = p[i].mul(model.scalar(l2)).addi(g[i]); // + d/dP lambda*|P|^2
        }
      }
      norm = adam.step(p, g, m, v);
    }
    resetAccumulators();
    if (!Double.isFinite(norm)) {
      return stats.stepDiscarded(norm, lastLoss);
    }
    stats.stepApplied(norm);
    boolean grew = applySchedule(stepLoss);
    return new StepResult(lastLoss, norm, true, false, stats.optimizerStep(), grew);
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
    double c = ad.scale / AdapterConfig.scale(ad.alpha, ad.scaling, newRank); // B' = c*B
    Param pa = param(ad, true);
    Param pb = param(ad, false);
    double[] ma = model.toHost(pa.m); // (in, r)
    double[] va = model.toHost(pa.v);
    double[] mb = model.toHost(pb.m); // (r, out)
    double[] vb = model.toHost(pb.v);
    model.grow(ad.info.name(), newRank);
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
   * Restores adapter state from a verified snapshot (no signature key). See {@link
   * #restore(DecodedAdapter)}.
   *
   * @throws SnapshotRejectedException if the snapshot fails verification against this base
   */
  public void restore(AdapterSnapshot snapshot) {
    restore(snapshot, null);
  }

  /** As {@link #restore(AdapterSnapshot)}, also requiring a valid HMAC signature when a key is given. */
  public void restore(AdapterSnapshot snapshot, byte[] hmacKeyOrNull) {
    restore(SnapshotCodec.decode(snapshot, model.base(), hmacKeyOrNull));
  }

  /**
   * Restores A, B, ranks, alpha and scaling (the snapshot's values win over the configuration, so
   * the restored function is exactly the published one), the optimizer-step count and
   * examples-seen. AdamW moments restart at zero; pending micro-batches are dropped.
   *
   * @throws IllegalArgumentException if the snapshot's layers are not exactly this learner's
   *     targets, or a rank exceeds this learner's ceiling for that layer
   */
  public void restore(DecodedAdapter snap) {
    Map<String, Integer> mine = model.ranks();
    List<String> theirs = snap.layers().stream().map(DecodedAdapter.Layer::name).toList();
    if (!new java.util.HashSet<>(theirs).equals(mine.keySet())) {
      throw new IllegalArgumentException("snapshot adapts layers " + theirs + " but this learner targets "
          + mine.keySet() + "; use the same AdapterConfig.targets as the run that wrote it");
    }
    for (DecodedAdapter.Layer l : snap.layers()) {
      if (l.rank() > model.config().maxRankFor(l.name())) {
        throw new IllegalArgumentException("snapshot layer " + l.name() + " has rank " + l.rank()
            + " above this learner's maxRank " + model.config().maxRankFor(l.name()) + " for that layer");
      }
    }
    for (DecodedAdapter.Layer l : snap.layers()) {
      LoraModel.Adapter ad = model.adapter(l.name());
      if (ad.alpha != l.alpha() || ad.scaling != l.scaling()) {
        LOG.warn("restoring layer {} with the snapshot's alpha={} scaling={} (configured: alpha={} scaling={})",
            l.name(), l.alpha(), l.scaling(), ad.alpha, ad.scaling);
      }
      model.setAdapter(l.name(), l.rank(), LoraModel.toDouble(l.a()), LoraModel.toDouble(l.b()), l.alpha(), l.scaling());
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
    adam.restart(); // the moments were just zeroed
    int maxRank = model.ranks().values().stream().mapToInt(Integer::intValue).max().orElse(0);
    schedule.resume(stats.optimizerStep(), maxRank);
  }

  /** An immutable serving model of the current adapters. */
  public MergedModel merged() {
    return model.merge();
  }

  public LoraModel model() {
    return model;
  }

  public LearnerConfig learnerConfig() {
    return train;
  }

  public AdapterConfig adapterConfig() {
    return model.config();
  }

  /** Optimizer steps applied (cumulative across restores). */
  public long optimizerStep() {
    return stats.optimizerStep();
  }

  /** Examples passed to {@link #trainMicroBatch}, including skipped ones (cumulative across restores). */
  public long examplesSeen() {
    return stats.examplesSeen();
  }

  /** Micro-batches (and whole accumulated steps) dropped as non-finite since this learner started. */
  public long skippedBatches() {
    return stats.skippedBatches();
  }

  /** Examples in skipped micro-batches since this learner started. */
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

  /** Trainable parameters: sum r*(in+out) over adapted layers at the current ranks. */
  public long trainableParameters() {
    return model.trainableParameters();
  }

  /** Micro-batches accumulated towards the next optimizer step. */
  public int pendingMicroBatches() {
    return stats.pending();
  }

  /** Current rank per adapted layer. */
  public Map<String, Integer> ranks() {
    return new LinkedHashMap<>(model.ranks());
  }

  /** Training metrics for snapshots and logs. */
  public Map<String, Double> metrics() {
    return stats.metrics();
  }

  /** Closes the learner and its model (not the base). */
  @Override
  public void close() {
    manager.close();
    model.close();
  }
}
