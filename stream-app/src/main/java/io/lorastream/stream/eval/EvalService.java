package io.lorastream.stream.eval;

import io.lorastream.config.CommonConfig;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.stream.ingest.StreamsRunner;
import io.lorastream.stream.serving.ModelHistory;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The evaluation service: {@link EvalTopology} on its own Kafka Streams app ({@code eval.*}
 * settings, exactly-once v2 by default so tallies and published metrics stay consistent across
 * crashes). The {@link ModelHistory} is supplied by the caller, fed from the adapter subscriber;
 * start this service only once the subscriber has caught up with the adapters topic, otherwise
 * early examples are scored against an incomplete history.
 */
public final class EvalService implements AutoCloseable {
  private final StreamsRunner runner;
  private final Properties properties;
  private final EvalCounters counters = new EvalCounters();

  public EvalService(CommonConfig common, StreamAppConfig config, LorastreamSerdes serdes, ModelHistory history) {
    StreamAppConfig.Eval ev = config.eval();
    this.properties = StreamsRunner.properties(common, ev.applicationId(), ev.guarantee(), ev.commitInterval(),
        ev.stateDir(), 1);
    this.runner = new StreamsRunner("eval",
        EvalTopology.build(config, common.catalog(), serdes.labeledExample(), serdes.pipelineMetric(), history,
            counters), properties);
  }

  public Properties properties() {
    Properties copy = new Properties();
    copy.putAll(properties);
    return copy;
  }

  public EvalService start() {
    runner.start();
    return this;
  }

  public boolean awaitRunning(Duration timeout) throws InterruptedException {
    return runner.awaitRunning(timeout);
  }

  /** Running counts of what this instance scored (examples and correct, per task, stream and model). */
  public EvalCounters counters() {
    return counters;
  }

  /** The Streams app itself, for binding its client metrics (Micrometer's KafkaStreamsMetrics). */
  public KafkaStreams kafkaStreams() {
    return runner.streams();
  }

  public KafkaStreams.State state() {
    return runner.state();
  }

  @Override
  public void close() {
    runner.close();
  }
}
