package io.lorastream.lora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lorastream.lora.model.DeviceBatch;
import io.lorastream.lora.model.Devices;

/**
 * The training loop every {@link Learner} shares, around tensors that each learner owns: pack a
 * micro-batch, copy it to the device once, backpropagate with the loss scaled by 1/k, read loss,
 * gradient norms and predictions back in one transfer ({@link BatchCheck}), drop it if anything is
 * non-finite, else accumulate; every k accepted micro-batches (or on {@link #flush}) take one
 * optimizer step: the accumulated mean gradient plus the learner's L2 term, clipped and applied by
 * {@link AdamW}; then the learner's schedule sees the step's mean loss. Counting and reporting are
 * {@link LearnerStats}'.
 */
final class MicroBatchLoop {

  /** Logits, loss and the gradient of every trained tensor, attached to the per-batch scope. */
  record Pass(NDArray logits, NDArray loss, NDArray[] grads) {
  }

  /** What the loop needs from a learner's tensors; the i-th entry of each array is the same tensor. */
  interface Tensors {
    DataType dataType();

    int inputSize();

    int numClasses();

    /** Refuses token ids outside the vocabulary (text models); dense models accept anything. */
    void checkTokens(float[] rows);

    /** (Re)creates moments and accumulators if the trained tensors changed shape behind the loop's back. */
    void sync();

    Pass backward(NDManager tmp, DeviceBatch mb, double lossScale);

    /** Current values; the loop updates them in place. */
    NDArray[] values();

    NDArray[] accumulators();

    NDArray[] firstMoments();

    NDArray[] secondMoments();

    /**
     * The gradient of the learner's L2 penalty on tensor {@code i} with {@code twiceLambda} = 2λ,
     * attached to {@code tmp}: 2λP for adapters, 2λ(P - P0) for full fine-tuning.
     */
    NDArray l2Gradient(NDManager tmp, int i, double twiceLambda);

    /**
     * Whether the L2 penalty applies to tensor {@code i}. Not to a token-embedding table or its
     * adapter: their rows are sparse (a token absent from a step gets no data gradient), and AdamW
     * divides the penalty's tiny gradient by its own magnitude, so a coupled L2 term would move
     * every absent row by about one learning rate per step and erase what was learned about rare
     * tokens within tens of steps.
     */
    boolean penalized(int i);

    /** A cached 0-d constant of the learner's dtype. */
    NDArray scalar(double x);

    /** Fresh zero accumulators (recreated, not zeroed in place: 0 * Inf would leave NaN behind). */
    void resetAccumulators();

    /** After an applied step; returns whether the structure (ranks) changed. */
    boolean afterStep(long optimizerStep, double stepLoss);
  }

  private final Tensors tensors;
  private final NDManager manager;
  private final LearnerConfig train;
  private final LearnerStats stats;
  private final AdamW adam;
  private final DeviceBatch.Packer packer = new DeviceBatch.Packer();

  MicroBatchLoop(Tensors tensors, NDManager manager, LearnerConfig train, LearnerStats stats) {
    this.tensors = tensors;
    this.manager = manager;
    this.train = train;
    this.stats = stats;
    this.adam = new AdamW(train);
  }

  /** See {@link Learner#trainMicroBatch}. */
  StepResult trainMicroBatch(float[] rows, int[] labels, float[] weightsOrNull) {
    Devices.tuneCurrentThread();
    int d = tensors.inputSize();
    int c = tensors.numClasses();
    java.nio.ByteBuffer packed = packer.pack(rows, labels, weightsOrNull, d, c, tensors.dataType());
    int elements = labels.length * (d + c);
    tensors.checkTokens(rows);
    int n = labels.length;
    tensors.sync();
    stats.seen(n);
    if (!DeviceBatch.finite(rows, weightsOrNull)) {
      return stats.skipBatch(n, Double.NaN);
    }
    BatchCheck check;
    try (NDManager tmp = manager.newSubManager()) {
      // The one host->device copy, from the reused buffer (tmp lives on the learner's device).
      NDArray p = tmp.create(packed, new ai.djl.ndarray.types.Shape(elements), tensors.dataType());
      Pass pass = tensors.backward(tmp, DeviceBatch.view(p, n, d, c), 1.0 / train.accumulationSteps());
      check = BatchCheck.read(pass.loss(), pass.grads(), pass.logits(), tensors.dataType()); // the one read
      if (!check.finite()) {
        return stats.skipBatch(n, check.loss());
      }
      NDArray[] acc = tensors.accumulators();
      for (int i = 0; i < acc.length; i++) {
        acc[i].addi(pass.grads()[i]);
      }
    }
    if (stats.accept(check.loss())) {
      return step(1.0, check.loss()).withPredictions(check.predictions());
    }
    return stats.accumulating(check.loss(), check.predictions());
  }

  /** See {@link Learner#flush}. */
  StepResult flush() {
    Devices.tuneCurrentThread();
    tensors.sync();
    if (stats.pending() == 0) {
      return stats.idle();
    }
    return step(stats.flushScale(), Double.NaN);
  }

  /** The moments were zeroed (a restore): bias correction starts again. */
  void restartOptimizer() {
    adam.restart();
  }

  /** One optimizer step from the accumulators; {@code gradScale} turns a partial sum into a mean. */
  private StepResult step(double gradScale, double lastLoss) {
    double stepLoss = stats.closeWindow();
    double norm;
    try (NDManager tmp = manager.newSubManager()) {
      NDArray[] p = tensors.values();
      NDArray[] acc = tensors.accumulators();
      NDArray[] m = tensors.firstMoments();
      NDArray[] v = tensors.secondMoments();
      for (int i = 0; i < p.length; i++) {
        tmp.tempAttachAll(p[i], acc[i], m[i], v[i]);
      }
      double l2 = 2 * train.l2Lambda();
      NDArray[] g = new NDArray[p.length];
      for (int i = 0; i < p.length; i++) {
        g[i] = gradScale == 1.0 ? acc[i] : acc[i].mul(tensors.scalar(gradScale));
        if (l2 > 0 && tensors.penalized(i)) {
          g[i] = tensors.l2Gradient(tmp, i, l2).addi(g[i]); // + d/dP of the penalty
        }
      }
      norm = adam.step(p, g, m, v);
    }
    tensors.resetAccumulators();
    if (!Double.isFinite(norm)) {
      return stats.stepDiscarded(norm, lastLoss);
    }
    stats.stepApplied(norm);
    boolean grew = tensors.afterStep(stats.optimizerStep(), stepLoss);
    return new StepResult(lastLoss, norm, true, false, stats.optimizerStep(), grew);
  }
}
