/**
 * The rollout policy, free of Kafka: the settings ({@code RolloutConfig}), the pure state machine
 * that turns published snapshots and commands into each adapter's {@code RolloutState}
 * ({@code RolloutRules}) and the HMAC signatures of commands and states ({@code RolloutSigning}).
 * Imports only the wire module and common; the controller and the consumers build on it.
 */
package io.lorastream.stream.rollout;
