/**
 * Prequential and holdout evaluation: scores each example with the adapter version active for it
 * (through serving's {@code ModelHistory}) and with the frozen base. Imports serving's contracts,
 * the wire module, ingest's settings and Streams runner, and Kafka Streams; never inference.
 */
package io.lorastream.stream.eval;
