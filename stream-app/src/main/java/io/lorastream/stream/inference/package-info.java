/**
 * Inference: the topology that answers every request (a prediction or an error) and dead-letters
 * what is no request, its settings ({@code InferenceConfig}), service and metrics. Imports serving
 * (the models it answers with), {@code lora-core}, the wire module and Kafka Streams.
 */
package io.lorastream.stream.inference;
