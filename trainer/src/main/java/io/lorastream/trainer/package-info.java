/**
 * The trainer service of one adapter: polling and validation, micro-batch assembly, exactly-once
 * snapshot transactions with their offsets and dead letters, restore of the committed state, and
 * its settings. Imports {@code lora-core}, the wire module and kafka-clients; never a broker.
 */
package io.lorastream.trainer;
