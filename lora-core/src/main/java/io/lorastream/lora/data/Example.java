package io.lorastream.lora.data;

/**
 * One labeled example from a source. The features array is handed over, not copied: sources
 * create a fresh array per example and consumers must not modify it.
 *
 * @param id stable example id (unique within its source), used for de-duplication downstream
 * @param features dense features
 * @param label class label in [0, numClasses)
 * @param phase generator phase (concept) index; 0 for file sources
 */
public record Example(String id, float[] features, int label, int phase) {}
