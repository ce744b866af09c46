package io.lorastream.lora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import io.lorastream.lora.adapter.LoraModel;

/**
 * The optimizer step shared by {@link OnlineLearner} and {@link FullFineTuner}: global-norm clipping
 * followed by AdamW (bias-corrected moments, decoupled weight decay) over parallel arrays of
 * parameters, gradients and moments, updated in place on the device. It holds only the step count
 * its bias correction runs on, not the moments: they belong to the learner, because only the learner
 * knows when a tensor changes shape (LoRA rank growth) and how its moments carry over. What the
 * gradient is (accumulated mean, plus which L2 term) is likewise the learner's business; this class
 * starts from the finished gradient. Call it inside a scope that the parameters, gradients and
 * moments are attached to, so its temporaries are freed with that scope.
 */
final class AdamW {

  private final LearnerConfig train;
  private long t; // updates since the moments were last zeroed, for bias correction

  AdamW(LearnerConfig train) {
    this.train = train;
  }

  /**
   * Computes the global norm of {@code g} (one device-to-host read) and, if it is finite, clips and
   * applies one AdamW update to every {@code p[i]} with moments {@code m[i]}, {@code v[i]}. A
   * non-finite norm changes nothing (not the parameters, the moments or the step count): the caller
   * discards the step.
   *
   * @return the global gradient norm before clipping
   */
  double step(NDArray[] p, NDArray[] g, NDArray[] m, NDArray[] v) {
    NDList sums = new NDList(g.length);
    for (NDArray gi : g) {
      sums.add(gi.square().sum());
    }
    double sq = 0;
    for (double s : host(NDArrays.stack(sums))) {
      sq += s;
    }
    double norm = Math.sqrt(sq);
    if (Double.isFinite(norm)) {
      update(p, g, m, v, norm);
    }
    return norm;
  }

  /** Restarts bias correction, for moments that were just zeroed (e.g. after a restore). */
  void restart() {
    t = 0;
  }

  /**
   * Per tensor: {@code m = b1 m + (1-b1) c g}, {@code v = b2 v + (1-b2) c^2 g^2},
   * {@code p -= lr wd p}, and {@code p -= lr m_hat / (sqrt(v_hat) + eps)} written as
   * {@code p -= (lr sqrt(bc2)/bc1) m / (sqrt(v) + eps sqrt(bc2))}, which is the same expression.
   * All of it is one fused native call per tensor (the engine's {@code adamUpdate} with the clip
   * factor c as gradient rescale, decoupled decay, and the bias-corrected step size and epsilon):
   * spelled out as separate NDArray ops it cost a dozen native calls and six scalar tensors per
   * tensor, which dominated the optimizer step for tensors this small.
   */
  private void update(NDArray[] p, NDArray[] g, NDArray[] m, NDArray[] v, double norm) {
    double c = train.clipping() && norm > train.clipNorm() ? train.clipNorm() / norm : 1.0;
    t++;
    double b1 = train.beta1();
    double b2 = train.beta2();
    double bc1 = 1 - Math.pow(b1, t);
    double sqrtBc2 = Math.sqrt(1 - Math.pow(b2, t));
    double stepSize = train.lr() * sqrtBc2 / bc1;
    double epsHat = train.eps() * sqrtBc2;
    for (int i = 0; i < p.length; i++) {
      p[i].getNDArrayInternal().adamUpdate(new NDList(p[i], g[i], m[i], v[i]), new NDList(p[i]),
          (float) train.lr(), (float) stepSize, (float) train.weightDecay(), (float) c, -1f, (float) b1, (float) b2,
          (float) epsHat, false, true);
    }
  }

  private static double[] host(NDArray a) {
    return a.getDataType() == DataType.FLOAT64 ? a.toDoubleArray() : LoraModel.toDouble(a.toFloatArray());
  }
}
