package io.lorastream.lora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import io.lorastream.lora.adapter.LoraModel;

/**
 * What a learner needs on the host from one micro-batch's backward pass, before it accumulates the
 * gradients: the loss, the summed squared norm of all gradients (to drop the micro-batch when
 * either is not finite) and the arg-max class of every example (test-then-train predictions from
 * the forward pass before this micro-batch's update). All of it comes back in one array read in one
 * transfer: every op here is a native call with a fixed cost that dwarfs these tiny tensors, so one
 * stack and one concat beat separate reads. Shared by {@link OnlineLearner} and {@link FullFineTuner}.
 *
 * @param loss the micro-batch loss as computed (already scaled by the caller's loss scale, if any)
 * @param gradSquaredNorm sum over all gradients of their squared L2 norms
 * @param predictions (n) arg-max class of each example, in input order
 */
record BatchCheck(double loss, double gradSquaredNorm, int[] predictions) {

  /**
   * Reads back the loss, the gradient norms and the predictions of a pass; the temporaries land on
   * the managers of the inputs (the caller's per-batch scope).
   *
   * @param loss 0-d loss
   * @param grads every gradient the learner will accumulate
   * @param logits (n, C)
   * @param dtype the learner's dtype (FLOAT32 or FLOAT64), the dtype of loss, grads and logits
   */
  static BatchCheck read(NDArray loss, NDArray[] grads, NDArray logits, DataType dtype) {
    NDList checks = new NDList(grads.length + 1);
    checks.add(loss);
    for (NDArray g : grads) {
      checks.add(g.square().sum());
    }
    NDArray argMax = logits.argMax(1).toType(dtype, false); // (n), exact small integers
    NDArray all = NDArrays.concat(new NDList(NDArrays.stack(checks), argMax));
    double[] stats = dtype == DataType.FLOAT64 ? all.toDoubleArray() : LoraModel.toDouble(all.toFloatArray());
    double sq = 0;
    for (int i = 1; i <= grads.length; i++) {
      sq += stats[i];
    }
    int n = stats.length - grads.length - 1;
    int[] predictions = new int[n];
    for (int i = 0; i < n; i++) {
      predictions[i] = (int) stats[grads.length + 1 + i];
    }
    return new BatchCheck(stats[0], sq, predictions);
  }

  /** Whether the micro-batch may be accumulated: loss and gradients are finite. */
  boolean finite() {
    return Double.isFinite(loss) && Double.isFinite(gradSquaredNorm);
  }
}
