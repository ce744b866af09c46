/**
 * Example sources for training, replay and experiments: the rotating-subspace drift generator and
 * CSV/JSONL readers. Pure Java; imports nothing of Kafka.
 */
package io.lorastream.lora.data;
