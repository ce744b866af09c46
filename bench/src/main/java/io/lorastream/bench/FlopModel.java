package io.lorastream.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Analytic floating-point operation count of one LoRA training micro-batch on the lorastream MLP
 * (Linear+ReLU layers and a linear head, each optionally adapted by {@code y += s * B (A x)}), as
 * {@code io.lorastream.lora.adapter.LoraModel} computes it: x (n x in) flows as {@code x @ Wt + b} and
 * {@code ((x @ At) @ Bt) * s}; autograd takes gradients only with respect to At and Bt. A matrix
 * product (m x k) @ (k x n) counts 2mkn; an element-wise op counts one per output element. The
 * formula is written out in {@link #FORMULA} so the report can quote exactly what was counted.
 */
public final class FlopModel {

  /** Markdown description of the count, quoted in bench.md. */
  public static final String FORMULA = String.join("\n",
      "For a micro-batch of n examples, C classes and linear layer l with input i, output o and adapter rank r",
      "(r = 0 when the layer is not adapted); a product (m x k)(k x n) counts 2mkn, an element-wise op 1 per element:",
      "",
      "* forward, frozen base: `2 n i o` (x Wt) + `n o` (bias)",
      "* forward, adapter: `2 n i r + 2 n r o` (x At, then Bt) + `2 n o` (scale s, add to the base output)",
      "* forward, ReLU on hidden layers: `n o`; loss (log-softmax cross-entropy against the packed target matrix): `7 n C`",
      "* backward, adapter parameters: `2 n r o` (dBt = (x At)^T dU) + `2 n o r` (dP = dU Bt^T) + `2 n i r` (dAt = x^T dP)",
      "  + `n o` (dU = s dY)",
      "* backward to the layer input, only when an adapted layer lies below it (gradients must reach that adapter):",
      "  `2 n o i` through the frozen base (dY W) + `2 n r i` through A (dP At^T) + `n i` (sum of both); `n i` more for",
      "  the ReLU mask of the layer below; loss backward `4 n C`",
      "* bookkeeping per micro-batch: `3 P` (squared-norm check and accumulation of the gradients), P = sum of r (i + o)",
      "* optimizer step (every k micro-batches): `16 P` (L2 term, global-norm clip, AdamW moments and update)",
      "",
      "Training FLOPs per micro-batch = forward + backward + 3P + 16P/k. The frozen base is never differentiated",
      "with respect to its own weights, so there is no `2 n i o` weight-gradient term for W.");

  /** One linear layer: rank 0 means not adapted. */
  public record Layer(String name, int in, int out, int rank) {
    public Layer {
      if (in <= 0 || out <= 0 || rank < 0) {
        throw new IllegalArgumentException("layer " + name + ": in and out must be > 0 and rank >= 0, got "
            + in + ", " + out + ", " + rank);
      }
    }
  }

  /** One matrix product (m x k) @ (k x n) of the step. */
  public record Matmul(String what, int m, int k, int n) {
    public long flops() {
      return 2L * m * k * n;
    }
  }

  /** FLOPs of one micro-batch by part. */
  public record Breakdown(long forwardBase, long forwardAdapter, long forwardElementwise, long backwardAdapterParams,
      long backwardInputBase, long backwardInputAdapter, long backwardElementwise, long bookkeeping) {

    public long forward() {
      return forwardBase + forwardAdapter + forwardElementwise;
    }

    public long backward() {
      return backwardAdapterParams + backwardInputBase + backwardInputAdapter + backwardElementwise;
    }

    /** Forward + backward + per-micro-batch bookkeeping (no optimizer step). */
    public long total() {
      return forward() + backward() + bookkeeping;
    }

    /** Only the matrix products (what a matmul benchmark can be compared with). */
    public long matmul() {
      return forwardBase + forwardAdapter + backwardAdapterParams + backwardInputBase + backwardInputAdapter;
    }
  }

  private FlopModel() {
  }

  /** The count for one micro-batch of {@code n} examples; {@code layers} in forward order. */
  public static Breakdown microBatch(List<Layer> layers, int n, int numClasses) {
    check(layers, n);
    long fBase = 0;
    long fAd = 0;
    long fEl = 0;
    long bPar = 0;
    long bInBase = 0;
    long bInAd = 0;
    long bEl = 0;
    int last = layers.size() - 1;
    boolean adaptedBelow = false; // some layer before this one has an adapter
    for (int l = 0; l <= last; l++) {
      Layer y = layers.get(l);
      long i = y.in();
      long o = y.out();
      long r = y.rank();
      boolean hidden = l < last;
      fBase += 2 * n * i * o;
      fEl += n * o; // bias
      if (r > 0) {
        fAd += 2 * n * i * r + 2 * n * r * o;
        fEl += 2 * n * o; // scale, add
        bPar += 2 * n * r * o + 2 * n * o * r + 2 * n * i * r;
        bEl += n * o; // dU = s dY
      }
      if (hidden) {
        fEl += n * o; // ReLU
      }
      if (adaptedBelow) {
        bInBase += 2 * n * o * i;
        if (r > 0) {
          bInAd += 2 * n * r * i;
          bEl += n * i; // sum of the two input gradients
        }
        bEl += n * i; // ReLU mask of the layer below
      }
      adaptedBelow |= r > 0;
    }
    long c = numClasses;
    fEl += 7 * n * c;
    bEl += 4 * n * c;
    return new Breakdown(fBase, fAd, fEl, bPar, bInBase, bInAd, bEl, 3 * adapterParameters(layers));
  }

  /** Total training FLOPs per micro-batch including 1/k of an optimizer step. */
  public static double perMicroBatch(List<Layer> layers, int n, int numClasses, int accumulationSteps) {
    return microBatch(layers, n, numClasses).total() + optimizerStep(layers) / (double) accumulationSteps;
  }

  /** FLOPs of one AdamW step over every adapter parameter. */
  public static long optimizerStep(List<Layer> layers) {
    return 16 * adapterParameters(layers);
  }

  /** P = sum of r (in + out). */
  public static long adapterParameters(List<Layer> layers) {
    long p = 0;
    for (Layer y : layers) {
      p += (long) y.rank() * (y.in() + y.out());
    }
    return p;
  }

  /** Every matrix product of one micro-batch, with the shapes a matmul benchmark should use. */
  public static List<Matmul> matmuls(List<Layer> layers, int n) {
    check(layers, n);
    List<Matmul> out = new ArrayList<>();
    boolean adaptedBelow = false;
    for (Layer y : layers) {
      int i = y.in();
      int o = y.out();
      int r = y.rank();
      out.add(new Matmul(y.name() + " fwd x@Wt", n, i, o));
      if (r > 0) {
        out.add(new Matmul(y.name() + " fwd x@At", n, i, r));
        out.add(new Matmul(y.name() + " fwd P@Bt", n, r, o));
        out.add(new Matmul(y.name() + " bwd dBt=P^T@dU", r, n, o));
        out.add(new Matmul(y.name() + " bwd dP=dU@Bt^T", n, o, r));
        out.add(new Matmul(y.name() + " bwd dAt=x^T@dP", i, n, r));
      }
      if (adaptedBelow) {
        out.add(new Matmul(y.name() + " bwd dX=dY@W", n, o, i));
        if (r > 0) {
          out.add(new Matmul(y.name() + " bwd dX+=dP@At^T", n, r, i));
        }
      }
      adaptedBelow |= r > 0;
    }
    return out;
  }

  private static void check(List<Layer> layers, int n) {
    if (layers.isEmpty()) {
      throw new IllegalArgumentException("need at least one layer");
    }
    if (n <= 0) {
      throw new IllegalArgumentException("micro-batch size must be > 0, got " + n);
    }
    for (int l = 1; l < layers.size(); l++) {
      if (layers.get(l).in() != layers.get(l - 1).out()) {
        throw new IllegalArgumentException("layer " + layers.get(l).name() + " takes " + layers.get(l).in()
            + " inputs but the layer below gives " + layers.get(l - 1).out());
      }
    }
  }
}
