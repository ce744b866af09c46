package io.lorastream.experiment;

import io.lorastream.avro.LabeledExample;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.model.ModelSpec;
import java.util.List;
import java.util.Map;

/**
 * A data set the experiment harness compares variants on: a pretraining period (model-input rows,
 * used only to fit the frozen base) and the stream that follows it (Avro examples, in the order
 * they are produced to Kafka). Every variant sees exactly this stream, in this order, so a
 * workload must be deterministic for a given seed.
 */
public interface Workload {

  /** Short name, used for the results directory and topic names, e.g. {@code spam}. */
  String name();

  /** Task id carried by every streamed example; the trainers adapt this task. */
  String task();

  /** The base model architecture. */
  ModelSpec baseSpec(long seed);

  /**
   * A pretrained encoder to build the base from, when the workload has one: the harness then fits
   * only its head on {@link #pretrain()} instead of training {@link #baseSpec} from scratch. The
   * caller closes it.
   */
  default java.util.Optional<io.lorastream.lora.model.BaseModel> pretrainedEncoder(long seed, ai.djl.Device device,
      java.util.function.Consumer<String> progress) throws java.io.IOException {
    return java.util.Optional.empty();
  }

  /** Examples of the pretraining period, as model-input rows (dense features or token ids). */
  List<Example> pretrain();

  /** The streamed period, in stream order. */
  List<LabeledExample> stream();

  /** True when examples carry token ids (ingest validates tokens against the vocabulary). */
  boolean tokens();

  /** What ingest validates: the vocabulary size for token tasks, the feature width for dense ones. */
  int ingestInputSize();

  int numClasses();

  /** Display names of the classes, index = label. */
  List<String> classNames();

  /** Class whose F1 the report shows (e.g. spam), or -1 for the macro-F1 over all classes. */
  int positiveClass();

  /** Facts about the data for the report (counts, date range, ...), in insertion order. */
  Map<String, Object> summary();
}
