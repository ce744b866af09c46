package io.lorastream.stream.ingest;

import io.lorastream.config.CommonConfig;
import io.lorastream.serde.LorastreamSerdes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.ThreadMetadata;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * The ingest service: {@link IngestTopology} on a Kafka Streams app configured from
 * {@link CommonConfig} (broker, registry, {@code kafka.*} pass-through, topic names) and
 * {@link StreamAppConfig} ({@code ingest.*}). Exactly-once v2 by default, crashed stream threads
 * are replaced, bad input never stops it. Usage: construct, {@link #start()}, optionally
 * {@link #awaitRunning}, and {@link #close()} (or try-with-resources).
 */
public final class IngestService implements AutoCloseable {
  private final LorastreamSerdes serdes;
  private final Topology topology;
  private final Properties properties;
  private final StreamsRunner runner;

  public IngestService(CommonConfig common, StreamAppConfig config) {
    this(common, config, LorastreamSerdes.create(common.registryConfig()));
  }

  /** With serdes shared with other services in the same JVM (one schema cache). */
  public IngestService(CommonConfig common, StreamAppConfig config, LorastreamSerdes serdes) {
    this.serdes = serdes;
    this.topology = IngestTopology.build(config, common.catalog(), serdes.labeledExample(), serdes.pipelineMetric());
    StreamAppConfig.Ingest in = config.ingest();
    this.properties = StreamsRunner.properties(common, in.applicationId(), in.guarantee(), in.commitInterval(),
        in.stateDir(), in.threads());
    this.runner = new StreamsRunner("ingest", topology, properties);
  }

  /** The effective Kafka Streams properties (for logs and tests). */
  public Properties properties() {
    Properties copy = new Properties();
    copy.putAll(properties);
    return copy;
  }

  public Topology topology() {
    return topology;
  }

  public IngestService start() {
    runner.start();
    return this;
  }

  public boolean awaitRunning(Duration timeout) throws InterruptedException {
    return runner.awaitRunning(timeout);
  }

  public void awaitShutdown() throws InterruptedException {
    runner.awaitShutdown();
  }

  /** The Streams app itself, for binding its client metrics (Micrometer's KafkaStreamsMetrics). */
  public KafkaStreams kafkaStreams() {
    return runner.streams();
  }

  public KafkaStreams.State state() {
    return runner.state();
  }

  /** The last exception that killed (and caused the replacement of) a stream thread, or null. */
  public Throwable lastThreadFailure() {
    return runner.lastThreadFailure();
  }

  public LorastreamSerdes serdes() {
    return serdes;
  }

  /**
   * The cumulative counters of one input partition hosted by this instance, as kept in the
   * exactly-once counter store: {@code totals} by {@link IngestMetrics} name ({@code ingest.processed},
   * {@code ingest.dlq}, ...) and {@code dlqByReason} by {@link DlqReason} name.
   */
  public record PartitionCounters(int partition, Map<String, Long> totals, Map<String, Long> dlqByReason) {
    public PartitionCounters {
      totals = Map.copyOf(totals);
      dlqByReason = Map.copyOf(dlqByReason);
    }
  }

  /**
   * Reads the counter store of every input partition this instance hosts right now (an interactive
   * query, for a metrics endpoint; the {@code metrics} topic stays the pipeline-wide record). Empty
   * unless the app is RUNNING; a partition whose store is momentarily not queryable (it is moving
   * in a rebalance) is left out rather than failing the caller.
   */
  public List<PartitionCounters> localCounters() {
    KafkaStreams streams = runner.streams();
    List<PartitionCounters> out = new ArrayList<>();
    if (streams.state() != KafkaStreams.State.RUNNING) {
      return out;
    }
    TreeSet<Integer> partitions = new TreeSet<>();
    for (ThreadMetadata t : streams.metadataForLocalThreads()) {
      t.activeTasks().forEach(task -> partitions.add(task.taskId().partition()));
    }
    for (int p : partitions) {
      try {
        ReadOnlyKeyValueStore<String, Long> store = streams.store(StoreQueryParameters
            .fromNameAndType(IngestTopology.COUNTER_STORE, QueryableStoreTypes.<String, Long>keyValueStore())
            .withPartition(p));
        Map<String, Long> totals = new TreeMap<>();
        Map<String, Long> reasons = new TreeMap<>();
        try (KeyValueIterator<String, Long> it = store.all()) {
          it.forEachRemaining(kv -> {
            int sep = kv.key.indexOf(IngestProcessor.REASON_SEPARATOR);
            if (sep >= 0) {
              reasons.put(kv.key.substring(sep + 1), kv.value);
            } else {
              totals.put(kv.key, kv.value);
            }
          });
        }
        out.add(new PartitionCounters(p, totals, reasons));
      } catch (InvalidStateStoreException e) {
        // migrating or restoring: the next read sees it again
      }
    }
    return out;
  }

  @Override
  public void close() {
    runner.close();
  }
}
