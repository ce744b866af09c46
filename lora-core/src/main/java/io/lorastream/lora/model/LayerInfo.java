package io.lorastream.lora.model;

/**
 * Name and shape of one linear layer of a base model: {@code y = W x + b} with W of shape
 * (out, in). LoRA targets layers by this name.
 *
 * @param name layer name, e.g. {@code fc0} or {@code head}
 * @param in input width (columns of W)
 * @param out output width (rows of W)
 */
public record LayerInfo(String name, int in, int out) {}
