/**
 * Importers of pretrained models: the ONNX graph reader and the BERT-family mapping to a
 * {@code bert} base. Imports {@code model}, DJL and protobuf's wire decoder.
 */
package io.lorastream.lora.importer;
