package io.lorastream.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
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
  private final TrainConfig train;
  private final NDManager manager;
  private final RankSchedule.Controller schedule;
  private final List<Param> params = new ArrayList<>();
  private long seenStructure = -1;

  private long optimizerStep;
  private long adamT; // steps since moments were last reset (restart), for bias correction
  private long examplesSeen;
  private long skippedBatches;
  private long skippedExamples;
  private long skippedSteps;
  private double lossEma = Double.NaN;
  private double lastGradNorm = Double.NaN;
  private int pending;
  private double pendingLossSum;
  private int pendingLossCount;

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

  private OnlineLearner(LoraModel model, TrainConfig train) {
    this.model = model;
    this.train = train;
    this.manager = model.manager().newSubManager();
    this.schedule = train.schedule().controller();
    for (LoraModel.Adapter ad : model.adapters()) {
      if (ad != null) {
        params.add(new Param(ad, true));
        params.add(new Param(ad, false));
      }
    }
    syncState();
  }

  /** A float32 learner on the base's device; starting rank = the schedule's initial rank (capped). */
  public static OnlineLearner create(BaseModel base, AdapterConfig adapter, TrainConfig train) {
    return create(base, adapter, train, DataType.FLOAT32);
  }

  /** As {@link #create(BaseModel, AdapterConfig, TrainConfig)} with FLOAT32 or FLOAT64. */
  public static OnlineLearner create(BaseModel base, AdapterConfig adapter, TrainConfig train, DataType dtype) {
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
    double[] packed = MicroBatch.pack(featuresRowMajor, labels, weightsOrNull, d, c);
    model.checkTokens(featuresRowMajor);
    int n = labels.length;
    syncState();
    examplesSeen += n;
    if (!MicroBatch.finite(featuresRowMajor, weightsOrNull)) {
      return skip(n, Double.NaN);
    }
    double loss;
    int[] predictions = new int[n];
    try (NDManager tmp = manager.newSubManager()) {
      NDArray p = model.create(tmp, packed, new Shape(packed.length)); // the one host->device copy
      MicroBatch mb = MicroBatch.view(p, n, d, c);
      LoraModel.Pass pass = model.backward(tmp, mb.x(), mb.targets(), 1.0 / train.accumulationSteps());
      // The loss, each gradient's squared norm and the n arg-max classes, in one array read back in
      // one transfer: every op here is a native call with a fixed cost that dwarfs these tiny
      // tensors, so one stack and one concat beat separate reads.
      NDList checks = new NDList(params.size() + 1);
      checks.add(pass.loss());
      for (Param q : params) {
        checks.add(grad(pass, q).square().sum());
      }
      NDArray argMax = pass.logits().argMax(1).toType(model.dataType(), false); // (n), exact small integers
      double[] stats = model.toHost(NDArrays.concat(new NDList(NDArrays.stack(checks), argMax)));
      loss = stats[0];
      double sq = 0;
      for (int i = 1; i <= params.size(); i++) {
        sq += stats[i];
      }
      for (int i = 0; i < n; i++) {
        predictions[i] = (int) stats[params.size() + 1 + i];
      }
      if (!Double.isFinite(loss) || !Double.isFinite(sq)) {
        return skip(n, loss);
      }
      for (Param q : params) {
        q.acc.addi(grad(pass, q));
      }
    }
    lossEma = Double.isNaN(lossEma) ? loss : train.lossEmaDecay() * lossEma + (1 - train.lossEmaDecay()) * loss;
    pending++;
    pendingLossSum += loss;
    pendingLossCount++;
    if (pending < train.accumulationSteps()) {
      return new StepResult(loss, Double.NaN, false, false, optimizerStep, false, predictions);
    }
    return step(1.0, loss).withPredictions(predictions);
  }

  /**
   * Applies an optimizer step with the micro-batches accumulated so far, if any, rescaled to a mean
   * over the pending micro-batches. Call before taking a snapshot.
   */
  public StepResult flush() {
    Devices.tuneCurrentThread();
    syncState();
    if (pending == 0) {
      return new StepResult(Double.NaN, Double.NaN, false, false, optimizerStep, false);
    }
    return step((double) train.accumulationSteps() / pending, Double.NaN);
  }

  private static NDArray grad(LoraModel.Pass pass, Param q) {
    return q.isA ? pass.gradAt()[q.adapter.index] : pass.gradBt()[q.adapter.index];
  }

  private StepResult skip(int n, double loss) {
    skippedBatches++;
    skippedExamples += n;
    LOG.warn("skipped a micro-batch of {} examples with non-finite inputs, loss or gradients (loss={}); {} skipped so far",
        n, loss, skippedBatches);
    return new StepResult(loss, Double.NaN, false, true, optimizerStep, false);
  }

  /** One AdamW step from the accumulators; {@code gradScale} turns a partial sum into a mean. */
  private StepResult step(double gradScale, double lastLoss) {
    double stepLoss = pendingLossCount > 0 ? pendingLossSum / pendingLossCount : Double.NaN;
    pending = 0;
    pendingLossSum = 0;
    pendingLossCount = 0;
    double norm;
    boolean discard = false;
    try (NDManager tmp = manager.newSubManager()) {
      for (Param q : params) {
        tmp.tempAttachAll(q.value(), q.acc, q.m, q.v);
      }
      double l2 = 2 * train.l2Lambda();
      NDArray[] g = new NDArray[params.size()];
      NDList sums = new NDList(params.size());
      for (int i = 0; i < params.size(); i++) {
        Param q = params.get(i);
        NDArray gi = gradScale == 1.0 ? q.acc : q.acc.mul(gradScale);
        if (l2 > 0) {
          gi = q.value().mul(model.scalar(l2)).addi(gi); // + d/dP lambda*|P|^2
        }
        g[i] = gi;
        sums.add(gi.square().sum());
      }
      double sq = 0;
      for (double s : model.toHost(NDArrays.stack(sums))) {
        sq += s;
      }
      norm = Math.sqrt(sq);
      if (!Double.isFinite(norm)) {
        discard = true;
      } else {
        applyAdamW(g, norm);
      }
    }
    resetAccumulators();
    if (discard) {
      skippedSteps++;
      skippedBatches++;
      LOG.warn("discarded an accumulated optimizer step: its total gradient norm is {}", norm);
      return new StepResult(lastLoss, norm, false, true, optimizerStep, false);
    }
    optimizerStep++;
    lastGradNorm = norm;
    boolean grew = applySchedule(stepLoss);
    return new StepResult(lastLoss, norm, true, false, optimizerStep, grew);
  }

  /**
   * Clip and AdamW on the device; called with every parameter temp-attached to the step scope.
   * Per tensor: {@code m = b1 m + (1-b1) c g}, {@code v = b2 v + (1-b2) c^2 g^2},
   * {@code p -= lr wd p}, and {@code p -= lr m_hat / (sqrt(v_hat) + eps)} written as
   * {@code p -= (lr sqrt(bc2)/bc1) m / (sqrt(v) + eps sqrt(bc2))}, which is the same expression.
   * All of it is one fused native call per tensor (the engine's {@code adamUpdate} with the clip
   * factor as gradient rescale, decoupled decay, and the bias-corrected step size and epsilon):
   * spelled out as separate NDArray ops it cost a dozen native calls and six scalar tensors per
   * tensor, which dominated the optimizer step for tensors this small.
   */
  private void applyAdamW(NDArray[] g, double norm) {
    double c = train.clipping() && norm > train.clipNorm() ? train.clipNorm() / norm : 1.0;
    adamT++;
    double b1 = train.beta1();
    double b2 = train.beta2();
    double bc1 = 1 - Math.pow(b1, adamT);
    double sqrtBc2 = Math.sqrt(1 - Math.pow(b2, adamT));
    double stepSize = train.lr() * sqrtBc2 / bc1;
    double epsHat = train.eps() * sqrtBc2;
    for (int i = 0; i < params.size(); i++) {
      Param q = params.get(i);
      NDArray p = q.value();
      p.getNDArrayInternal().adamUpdate(new NDList(p, g[i], q.m, q.v), new NDList(p),
          (float) train.lr(), (float) stepSize, (float) train.weightDecay(), (float) c, -1f, (float) b1, (float) b2,
          (float) epsHat, false, true);
    }
  }

  private boolean applySchedule(double stepLoss) {
    int target = schedule.afterStep(optimizerStep, stepLoss);
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
    pending = 0;
    pendingLossSum = 0;
    pendingLossCount = 0;
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
    optimizerStep = snap.optimizerStep();
    examplesSeen = snap.examplesSeen();
    adamT = 0;
    int maxRank = model.ranks().values().stream().mapToInt(Integer::intValue).max().orElse(0);
    schedule.resume(optimizerStep, maxRank);
  }

  /** An immutable serving model of the current adapters. */
  public MergedModel merged() {
    return model.merge();
  }

  public LoraModel model() {
    return model;
  }

  public TrainConfig trainConfig() {
    return train;
  }

  public AdapterConfig adapterConfig() {
    return model.config();
  }

  /** Optimizer steps applied (cumulative across restores). */
  public long optimizerStep() {
    return optimizerStep;
  }

  /** Examples passed to {@link #trainMicroBatch}, including skipped ones (cumulative across restores). */
  public long examplesSeen() {
    return examplesSeen;
  }

  /** Micro-batches (and whole accumulated steps) dropped as non-finite since this learner started. */
  public long skippedBatches() {
    return skippedBatches;
  }

  /** Examples in skipped micro-batches since this learner started. */
  public long skippedExamples() {
    return skippedExamples;
  }

  /** Accumulated optimizer steps discarded because their total gradient was non-finite. */
  public long skippedSteps() {
    return skippedSteps;
  }

  /** EMA of the micro-batch loss (NaN before the first accepted micro-batch). */
  public double lossEma() {
    return lossEma;
  }

  /** Gradient norm (pre-clip) of the last optimizer step. */
  public double lastGradNorm() {
    return lastGradNorm;
  }

  /** Trainable parameters: sum r*(in+out) over adapted layers at the current ranks. */
  public long trainableParameters() {
    return model.trainableParameters();
  }

  /** Micro-batches accumulated towards the next optimizer step. */
  public int pendingMicroBatches() {
    return pending;
  }

  /** Current rank per adapted layer. */
  public Map<String, Integer> ranks() {
    return new LinkedHashMap<>(model.ranks());
  }

  /** Training metrics for snapshots and logs. */
  public Map<String, Double> metrics() {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("loss_ema", lossEma);
    m.put("grad_norm", lastGradNorm);
    m.put("skipped_batches", (double) skippedBatches);
    m.put("skipped_examples", (double) skippedExamples);
    m.values().removeIf(v -> !Double.isFinite(v));
    return m;
  }

  /** Closes the learner and its model (not the base). */
  @Override
  public void close() {
    manager.close();
    model.close();
  }
}
