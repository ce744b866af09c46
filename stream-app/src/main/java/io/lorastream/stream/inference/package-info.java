/**
 * Inference: the topology that answers every request (a prediction or an error) and dead-letters
 * what is no request, the {@code AdapterSubscriber} and {@code AdapterSwapper} that keep a
 * consumer's adapters current and verified, and the one {@code ServingModel}. Imports
 * {@code lora-core}, the wire module, Kafka Streams, and the evaluator's {@code ScoringModel} and
 * history contracts, which it implements.
 */
package io.lorastream.stream.inference;
