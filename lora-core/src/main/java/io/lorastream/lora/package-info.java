/**
 * The LoRA math on DJL: model specs and the frozen {@code BaseModel}, {@code LoraModel} (A and B per
 * target layer, forward, rank growth), the learners ({@code OnlineLearner}, {@code FullFineTuner})
 * with their {@code LearnerConfig}, rank schedules, the snapshot codec and deletions, and the
 * pure-Java {@code MergedModel} that serves merged weights. Imports the wire module (generated
 * snapshot types) and DJL; never Kafka clients beyond record headers, never services.
 */
package io.lorastream.lora;
