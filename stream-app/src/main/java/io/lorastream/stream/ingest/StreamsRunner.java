package io.lorastream.stream.ingest;

import io.lorastream.config.CommonConfig;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one Kafka Streams topology the way every lorastream stream service should: client settings
 * passed through from {@code kafka.*}, the service's own typed settings on top, the lenient
 * exception handlers, a crashed stream thread replaced rather than the app stopped, and latches
 * that let callers wait for RUNNING or for shutdown. Shared by the ingest and evaluation services.
 */
public final class StreamsRunner implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StreamsRunner.class);

  private final String name;
  private final KafkaStreams streams;
  private final CountDownLatch running = new CountDownLatch(1);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile Throwable lastThreadFailure;

  public StreamsRunner(String name, Topology topology, Properties props) {
    this.name = name;
    this.streams = new KafkaStreams(topology, props);
    streams.setStateListener((now, before) -> {
      log.info("{}: {} -> {}", name, before, now);
      if (now == KafkaStreams.State.RUNNING) {
        running.countDown();
      }
      if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) {
        stopped.countDown();
      }
    });
    streams.setUncaughtExceptionHandler(e -> {
      lastThreadFailure = e;
      log.error("{}: stream thread failed; replacing it (its tasks resume from the last commit)", name, e);
      return StreamThreadExceptionResponse.REPLACE_THREAD;
    });
  }

  /**
   * Kafka Streams properties: every {@code kafka.*} pass-through setting first, then the service's
   * own values, which win because correctness (exactly-once, handlers) depends on them.
   */
  public static Properties properties(CommonConfig common, String applicationId, StreamAppConfig.Guarantee guarantee,
      Duration commitInterval, java.nio.file.Path stateDir, int threads) {
    Properties p = new Properties();
    p.putAll(common.kafkaProperties());
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, common.prefixed(applicationId));
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, common.bootstrapServers());
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee.streamsValue());
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, commitInterval.toMillis());
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) common.replicationFactor());
    p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, ContinueOnBadRecordHandler.class.getName());
    p.put(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, ContinueOnOversizeHandler.class.getName());
    // No global stores here; opting in now only silences the 4.x forward-compatibility warning.
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    return p;
  }

  /** Starts processing; returns at once. */
  public void start() {
    streams.start();
  }

  /** Waits until the app reached RUNNING once; false on timeout. */
  public boolean awaitRunning(Duration timeout) throws InterruptedException {
    return running.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Blocks until the app has stopped (closed or failed). */
  public void awaitShutdown() throws InterruptedException {
    stopped.await();
  }

  public KafkaStreams.State state() {
    return streams.state();
  }

  /** The last exception that killed a stream thread (which was then replaced), or null. */
  public Throwable lastThreadFailure() {
    return lastThreadFailure;
  }

  public KafkaStreams streams() {
    return streams;
  }

  @Override
  public void close() {
    if (!streams.close(Duration.ofSeconds(30))) {
      log.warn("{}: did not shut down within 30 s", name);
    }
    stopped.countDown();
  }
}
