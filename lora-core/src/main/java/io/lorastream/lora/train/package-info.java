/**
 * Learning: one {@code Learner} interface over {@code OnlineLearner} (adapters) and
 * {@code FullFineTuner} (every parameter), which share {@code MicroBatchLoop} and
 * {@code LearnerStats}; AdamW, rank schedules, {@code LearnerConfig}, and the {@code Pretrainer} that
 * builds a base from scratch. Imports {@code model}, {@code adapter}, {@code data} and DJL; never
 * Avro or the snapshot codec.
 */
package io.lorastream.lora.train;
