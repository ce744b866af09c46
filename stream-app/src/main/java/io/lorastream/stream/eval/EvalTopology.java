package io.lorastream.stream.eval;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.stream.serving.ModelHistory;
import java.util.Set;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * The evaluation topology. Prequential (test-then-train): every example on {@code examples.train}
 * is scored by the newest adapter version that was provably not trained on it (see
 * {@link ModelHistory}) and by the frozen base. Holdout: every example on {@code examples.eval}
 * (never trained on) is scored by the model serving at that moment and by the frozen base. Both
 * publish windowed accuracy per task, phase and serving version to {@code metrics} (see
 * {@link EvalMetrics}). Tallies live in changelogged stores so a restart continues the windows.
 */
public final class EvalTopology {
  public static final String TRAIN_SOURCE = "examples-train-source";
  public static final String EVAL_SOURCE = "examples-eval-source";
  public static final String PREQUENTIAL_PROCESSOR = "prequential-processor";
  public static final String HOLDOUT_PROCESSOR = "holdout-processor";
  public static final String METRICS_SINK = "eval-metrics-sink";
  public static final String PREQUENTIAL_TALLIES = "eval-prequential-tallies";
  public static final String PREQUENTIAL_PROGRESS = "eval-prequential-progress";
  public static final String HOLDOUT_TALLIES = "eval-holdout-tallies";
  public static final String HOLDOUT_PROGRESS = "eval-holdout-progress";

  private EvalTopology() {
  }

  /**
   * Builds the topology. The serdes must be configured (value side) against the schema registry;
   * {@code history} is shared by every stream thread and fed by the adapter subscriber.
   */
  public static Topology build(StreamAppConfig config, TopicCatalog topics, Serde<LabeledExample> exampleSerde,
      Serde<PipelineMetric> metricSerde, ModelHistory history) {
    return build(config, topics, exampleSerde, metricSerde, history, new EvalCounters());
  }

  /** As above, counting what it scores into {@code counters} (for the service's Prometheus meters). */
  public static Topology build(StreamAppConfig config, TopicCatalog topics, Serde<LabeledExample> exampleSerde,
      Serde<PipelineMetric> metricSerde, ModelHistory history, EvalCounters counters) {
    Topology t = new Topology();
    t.addSource(TRAIN_SOURCE, new StringDeserializer(), exampleSerde.deserializer(), topics.examplesTrain.name());
    t.addSource(EVAL_SOURCE, new StringDeserializer(), exampleSerde.deserializer(), topics.examplesEval.name());
    t.addProcessor(PREQUENTIAL_PROCESSOR, supplier(EvalProcessor.Mode.PREQUENTIAL, config, history,
        PREQUENTIAL_TALLIES, PREQUENTIAL_PROGRESS, counters), TRAIN_SOURCE);
    t.addProcessor(HOLDOUT_PROCESSOR, supplier(EvalProcessor.Mode.HOLDOUT, config, history,
        HOLDOUT_TALLIES, HOLDOUT_PROGRESS, counters), EVAL_SOURCE);
    t.addSink(METRICS_SINK, topics.metrics.name(), new StringSerializer(), metricSerde.serializer(),
        PREQUENTIAL_PROCESSOR, HOLDOUT_PROCESSOR);
    return t;
  }

  private static ProcessorSupplier<String, LabeledExample, String, PipelineMetric> supplier(EvalProcessor.Mode mode,
      StreamAppConfig config, ModelHistory history, String tallyStore, String progressStore, EvalCounters counters) {
    StoreBuilder<?> tallies = Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(tallyStore),
        EvalGroup.serde(), EvalTally.serde());
    StoreBuilder<?> progress = Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(progressStore),
        Serdes.String(), Serdes.Long());
    return new ProcessorSupplier<>() {
      @Override
      public Processor<String, LabeledExample, String, PipelineMetric> get() {
        return new EvalProcessor(mode, config.eval(), history, tallyStore, progressStore, METRICS_SINK, counters);
      }

      @Override
      public Set<StoreBuilder<?>> stores() {
        return Set.of(tallies, progress);
      }
    };
  }
}
