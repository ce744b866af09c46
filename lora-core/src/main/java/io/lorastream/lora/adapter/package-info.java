/**
 * The low-rank adapters on a frozen base: {@code LoraModel} (A and B per target layer, forward,
 * backward, growth that keeps the function, merge), {@code AdapterConfig} with its own
 * {@code Scaling}, and the published form of the weights ({@code LayerWeights},
 * {@code AdapterState}). Imports {@code model} and DJL.
 */
package io.lorastream.lora.adapter;
