/**
 * The topic catalog (names, partitions and configs of every lorastream topic) and the dead-letter
 * header contract shared by ingest, the trainer and inference. Imports kafka-clients only.
 */
package io.lorastream.kafka;
