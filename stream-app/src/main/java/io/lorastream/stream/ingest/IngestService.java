package io.lorastream.stream.ingest;

import io.lorastream.config.CommonConfig;
import io.lorastream.serde.LorastreamSerdes;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;

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

  @Override
  public void close() {
    runner.close();
  }
}
