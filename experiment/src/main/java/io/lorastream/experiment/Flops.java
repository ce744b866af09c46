package io.lorastream.experiment;

import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.ModelSpec;
import java.util.Map;

/**
 * An analytic estimate of the floating-point work per streamed example, for the report's cost
 * columns: matrix products only, 2 FLOPs per multiply-add, on the full token window the device runs
 * (padded positions included). The frozen base is one forward pass. Training adds the backward
 * pass: gradients with respect to the activations (about one more forward) for every method that
 * backpropagates, plus gradients of the trained weights (about one more forward of what is
 * trained): full fine-tuning ~3 forwards, LoRA ~2 forwards plus three times its adapters' own work.
 * The linear baselines score and update one weight row per class over the window's ids. Embedding
 * lookups, LayerNorm, softmax and the optimizer are left out; they are small beside the products.
 */
final class Flops {
  private Flops() {
  }

  /** Forward FLOPs of the frozen base for one example. */
  static double forward(ModelSpec spec) {
    double f = 0;
    boolean encoder = spec.encoder();
    int len = spec.inputSize();
    for (LayerInfo l : spec.linearLayers()) {
      boolean perToken = encoder && !l.name().equals("head");
      f += 2.0 * l.in() * l.out() * (perToken ? len : 1);
    }
    if (encoder) {
      f += spec.layers() * 4.0 * len * len * spec.dModel(); // Q K^T and attention x V
    }
    return f;
  }

  /** Forward FLOPs of the adapters at {@code ranks}: 2 r (in + out) per adapted layer and token. */
  static double adapters(ModelSpec spec, Map<String, Integer> ranks) {
    double f = 0;
    int len = spec.tokenInput() ? spec.inputSize() : 1;
    for (LayerInfo l : spec.adaptableLayers()) {
      Integer r = ranks.get(l.name());
      if (r == null) {
        continue;
      }
      boolean perToken = spec.tokenInput() && !l.name().equals("head") && (spec.encoder() || l.name().equals("emb"));
      double in = l.name().equals("emb") ? 0 : l.in(); // the embedding's A is a lookup, not a product
      f += 2.0 * r * (in + l.out()) * (perToken ? len : 1);
    }
    return f;
  }

  /** Estimated FLOPs per example of one variant (scored, then trained on). */
  static double perExample(ModelSpec spec, Variant.Kind kind, Map<String, Integer> finalRanks, int numClasses) {
    double fwd = forward(spec);
    return switch (kind) {
      case FROZEN -> fwd;
      case FULL -> 3 * fwd;
      case LORA -> 2 * fwd + 3 * adapters(spec, finalRanks);
      case LINEAR -> 4.0 * (spec.inputSize() + 1) * numClasses;
    };
  }
}
