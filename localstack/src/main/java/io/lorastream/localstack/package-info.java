/**
 * The local stack: an in-process KRaft broker ({@link io.lorastream.localstack.EmbeddedKafka}), the
 * embedded Confluent-compatible schema registry server ({@code registry}) and the
 * {@link io.lorastream.localstack.LocalCluster} that starts both with the catalog topics. It owns
 * the broker dependencies (kafka_2.13, kafka-server, Scala), so only the modules that run a local
 * cluster depend on it: the launcher (demo, {@code lorastream local}, bench), the experiment
 * harness, and tests through its test-jar ({@code LocalStackExtension}). It may import the wire
 * module ({@code schemas}) and Kafka; services (trainer, stream-app) never import it.
 */
package io.lorastream.localstack;
