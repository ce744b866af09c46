/**
 * Prequential and holdout evaluation: scores each example with the adapter version active for it
 * ({@code ModelHistory}, {@code ScoringModel}) and with the frozen base. Defines those contracts;
 * imports the wire module, ingest's settings and Streams runner, and Kafka Streams; never inference.
 */
package io.lorastream.stream.eval;
