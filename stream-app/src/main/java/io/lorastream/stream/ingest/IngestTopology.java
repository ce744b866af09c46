package io.lorastream.stream.ingest;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.kafka.DlqHeaders;
import io.lorastream.kafka.TopicCatalog;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * The ingest topology: {@code examples.raw} (read as raw bytes, so a record that cannot be decoded
 * can still be dead-lettered byte for byte) → validate → dedupe by example id → route. Valid
 * first-seen examples go to {@code examples.train} keyed by task, except a deterministic holdout
 * fraction (chosen by a hash of the example id, so a replay routes every example the same way)
 * that goes to {@code examples.eval} instead and is never trained on. Invalid records go to
 * {@code examples.dlq} with {@link DlqHeaders}. Counters live in a state store and are published
 * periodically to {@code metrics} (see {@link IngestMetrics}). Built with the Processor API
 * because routing one input to four differently-typed sinks is clearer there than in the DSL.
 */
public final class IngestTopology {
  public static final String SOURCE = "examples-raw-source";
  public static final String PROCESSOR = "ingest-processor";
  public static final String TRAIN_SINK = "examples-train-sink";
  public static final String EVAL_SINK = "examples-eval-sink";
  public static final String DLQ_SINK = "examples-dlq-sink";
  public static final String METRICS_SINK = "metrics-sink";
  /** Window store: example id → first-seen record timestamp, retained for the dedupe window. */
  public static final String DEDUPE_STORE = "ingest-dedupe";
  /** Key-value store: counter → cumulative count. */
  public static final String COUNTER_STORE = "ingest-counters";

  private IngestTopology() {
  }

  /**
   * Builds the topology. Both serdes must already be configured (value side) against the schema
   * registry; the example serde both decodes {@code examples.raw} and encodes the routed outputs.
   */
  public static Topology build(StreamAppConfig config, TopicCatalog topics, Serde<LabeledExample> exampleSerde,
      Serde<PipelineMetric> metricSerde) {
    StreamAppConfig.Ingest cfg = config.ingest();
    StoreBuilder<?> dedupe = Stores.windowStoreBuilder(
        Stores.persistentWindowStore(DEDUPE_STORE, cfg.dedupeWindow(), cfg.dedupeWindow(), false),
        Serdes.String(), Serdes.Long());
    // Cached: every record bumps ~3 of a handful of counters; without the cache each bump is a
    // RocksDB get+put and a changelog record (3 extra produced records per input record). The cache
    // coalesces them and is flushed on commit, inside the same exactly-once transaction.
    StoreBuilder<?> counters = Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(COUNTER_STORE), Serdes.String(), Serdes.Long()).withCachingEnabled();
    ProcessorSupplier<byte[], byte[], Object, Object> supplier = new ProcessorSupplier<>() {
      @Override
      public Processor<byte[], byte[], Object, Object> get() {
        return new IngestProcessor(cfg, new ExampleValidator(cfg, exampleSerde.deserializer()));
      }

      @Override
      public Set<StoreBuilder<?>> stores() {
        return Set.of(dedupe, counters);
      }
    };

    Topology t = new Topology();
    t.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), topics.examplesRaw.name());
    t.addProcessor(PROCESSOR, supplier, SOURCE);
    t.addSink(TRAIN_SINK, topics.examplesTrain.name(), new StringSerializer(), exampleSerde.serializer(), PROCESSOR);
    t.addSink(EVAL_SINK, topics.examplesEval.name(), new StringSerializer(), exampleSerde.serializer(), PROCESSOR);
    t.addSink(DLQ_SINK, topics.examplesDlq.name(), new ByteArraySerializer(), new ByteArraySerializer(), PROCESSOR);
    t.addSink(METRICS_SINK, topics.metrics.name(), new StringSerializer(), metricSerde.serializer(), PROCESSOR);
    return t;
  }

  /**
   * Where {@code exampleId} falls in [0, 1); the example is held out when this is below the
   * holdout fraction. A salted murmur2 keeps it independent of Kafka's own key partitioning
   * (which hashes the unsalted id) and identical across runs, JVMs and replays.
   */
  public static double holdoutPosition(String exampleId) {
    int h = Utils.murmur2(("lorastream-holdout/" + exampleId).getBytes(StandardCharsets.UTF_8)) & 0x7fffffff;
    return h / (double) (1L << 31);
  }

  /** True when {@code exampleId} belongs to the holdout set for {@code fraction}. */
  public static boolean isHoldout(String exampleId, double fraction) {
    return fraction > 0 && holdoutPosition(exampleId) < fraction;
  }
}
