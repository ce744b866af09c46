/**
 * What a consumer serves: the one {@code ServingModel} type (a verified adapter version merged
 * into the base, or the base itself), the {@code AdapterSubscriber} and {@code AdapterSwapper} that
 * keep a consumer's adapters current and verified, and the history of versions by input position
 * ({@code ModelHistory}) that the evaluator scores with, behind the {@code ScoringModel} contract.
 * Imports {@code lora-core}, the wire module, common and kafka-clients; neither inference nor eval.
 */
package io.lorastream.stream.serving;
