/**
 * Avro serdes in the Confluent wire format (magic byte 0, 4-byte schema id, Avro binary), generic
 * and specific, with subject strategies and bounded decoding of untrusted bytes. Imports the
 * registry client, Avro and kafka-clients.
 */
package io.lorastream.serde;
