package io.lorastream.lora.adapter;

import java.util.List;

/**
 * What a learner resumes from: the weights of every adapted layer and the cumulative
 * optimizer-step and examples-seen counts. A verified snapshot yields one
 * ({@code DecodedAdapter.state()}); the learner needs nothing else of it.
 */
public record AdapterState(List<LayerWeights> layers, long optimizerStep, long examplesSeen) {
  public AdapterState {
    layers = List.copyOf(layers);
  }
}
