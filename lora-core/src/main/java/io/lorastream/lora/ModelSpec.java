package io.lorastream.lora;

import java.util.List;

/**
 * Shape of a base model: the only kind today is {@code "mlp"}, a stack of Linear+ReLU layers named
 * {@code fc0..fc(H-1)} followed by a linear {@code head}. Serialized as JSON inside the base-model
 * file, so field names are part of that format. Invalid specs fail at construction with a message
 * naming the field.
 *
 * @param kind model family; must be {@code "mlp"}
 * @param inputSize width of the feature vector
 * @param hiddenSizes widths of the hidden layers (may be empty: then the model is linear)
 * @param numClasses number of output classes (at least 2)
 * @param seed seed of the random initialization
 */
public record ModelSpec(String kind, int inputSize, List<Integer> hiddenSizes, int numClasses, long seed) {

  /** The only supported model family. */
  public static final String MLP = "mlp";

  public ModelSpec {
    if (!MLP.equals(kind)) {
      throw new IllegalArgumentException("ModelSpec.kind must be \"mlp\", got \"" + kind + "\"");
    }
    if (inputSize <= 0) {
      throw new IllegalArgumentException("ModelSpec.inputSize must be > 0, got " + inputSize);
    }
    hiddenSizes = List.copyOf(hiddenSizes == null ? List.of() : hiddenSizes);
    for (int h : hiddenSizes) {
      if (h <= 0) {
        throw new IllegalArgumentException("ModelSpec.hiddenSizes must all be > 0, got " + hiddenSizes);
      }
    }
    if (numClasses < 2) {
      throw new IllegalArgumentException("ModelSpec.numClasses must be >= 2, got " + numClasses);
    }
  }

  /** An MLP spec. */
  public static ModelSpec mlp(int inputSize, List<Integer> hiddenSizes, int numClasses, long seed) {
    return new ModelSpec(MLP, inputSize, hiddenSizes, numClasses, seed);
  }

  /** The demo base: 32 inputs, two hidden layers of 64, 6 classes (matches the default drift stream). */
  public static ModelSpec demoDefault(long seed) {
    return mlp(32, List.of(64, 64), 6, seed);
  }

  /** Linear layers in forward order: fc0..fc(H-1), head. */
  public List<LayerInfo> linearLayers() {
    java.util.ArrayList<LayerInfo> out = new java.util.ArrayList<>();
    int in = inputSize;
    for (int i = 0; i < hiddenSizes.size(); i++) {
      out.add(new LayerInfo("fc" + i, in, hiddenSizes.get(i)));
      in = hiddenSizes.get(i);
    }
    out.add(new LayerInfo("head", in, numClasses));
    return List.copyOf(out);
  }
}
