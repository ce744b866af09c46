/**
 * Ingest: the exactly-once topology that validates, de-duplicates, routes (train or holdout) and
 * dead-letters {@code examples.raw}, its counters, and the stream-app settings. Imports the wire
 * module and Kafka Streams; not the other stream-app packages.
 */
package io.lorastream.stream.ingest;
