/**
 * The embedded schema registry server: Confluent's REST API and compatibility rules over an
 * in-memory or a Kafka-backed ({@code _schemas}) store, for the local cluster and the tests. It
 * imports the wire module's registry types; only {@code localstack} users reach it.
 */
package io.lorastream.localstack.registry;
