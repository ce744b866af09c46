package io.lorastream.lora.data;

import io.lorastream.avro.LabeledExample;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One labeled example from a source. The features array is handed over, not copied: sources
 * create a fresh array per example and consumers must not modify it.
 *
 * @param id stable example id (unique within its source), used for de-duplication downstream
 * @param features dense features
 * @param label class label in [0, numClasses)
 * @param phase generator phase (concept) index; 0 for file sources
 */
public record Example(String id, float[] features, int label, int phase) {

  /**
   * The Avro record producers put on {@code examples.raw}: dense features, no tokens, weight 1,
   * the phase as the {@code phase} attribute (metadata only, never a feature).
   */
  public LabeledExample toLabeledExample(String task, String source, Instant eventTime) {
    List<Float> f = new ArrayList<>(features.length);
    for (float v : features) {
      f.add(v);
    }
    return LabeledExample.newBuilder()
        .setId(id)
        .setTask(task)
        .setFeatures(f)
        .setTokens(List.of())
        .setLabel(label)
        .setWeight(null)
        .setEventTime(eventTime)
        .setSource(source)
        .setAttributes(Map.of("phase", Integer.toString(phase)))
        .build();
  }
}
