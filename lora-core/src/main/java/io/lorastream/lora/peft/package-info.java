/**
 * Interchange with Hugging Face PEFT: the safetensors format and the export of an adapter as
 * {@code adapter_model.safetensors} plus {@code adapter_config.json}. Imports {@code model},
 * {@code adapter} and Jackson.
 */
package io.lorastream.lora.peft;
