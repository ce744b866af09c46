/**
 * The frozen base: model specs (MLP, embedding bag, transformer), {@code BaseModel} with its
 * tensors and fingerprint, the shared forward pass, token rows, the device-side batch layout, the
 * device choice, and the pure-Java {@code MergedModel} that serves merged weights. Imports DJL only.
 */
package io.lorastream.lora.model;
