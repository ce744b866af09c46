package io.lorastream.launcher;

import io.lorastream.config.LayeredConfig;
import io.lorastream.metrics.Health;
import io.lorastream.metrics.MetricsConfig;
import io.lorastream.metrics.MetricsServer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The metrics side of one service role (stream-app, trainer, one inference consumer): the
 * {@link MetricsServer} serving {@code /metrics} and {@code /health} when {@code metrics.enabled}
 * is true, otherwise an in-memory registry so the meter code runs the same either way. It also
 * owns one daemon thread that runs the registered samplers once a second (rates, counters read
 * from Kafka Streams stores), so scrapes never do that work and never block on Kafka.
 */
final class ServiceMetrics implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServiceMetrics.class);

  private final String service;
  private final MetricsServer server; // null when disabled
  private final MeterRegistry registry;
  private final List<Runnable> samplers = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService ticker;
  private final io.lorastream.metrics.KafkaClientMeters kafkaClients;
  private final List<AutoCloseable> streamsBindings = new CopyOnWriteArrayList<>();

  private ServiceMetrics(String service, MetricsServer server) {
    this.service = service;
    this.server = server;
    this.registry = server != null ? server.registry() : new SimpleMeterRegistry();
    this.kafkaClients = server != null ? io.lorastream.metrics.KafkaClientMeters.on(registry)
        : io.lorastream.metrics.KafkaClientMeters.NONE;
    this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "lorastream-metrics-sampler-" + service);
      t.setDaemon(true);
      return t;
    });
    ticker.scheduleAtFixedRate(this::sampleAll, 0, 1, TimeUnit.SECONDS);
  }

  /**
   * Reads {@code metrics.*} from {@code cfg} and starts the endpoint if enabled; every meter gets
   * the tag {@code service=<service>} plus {@code extraTags} (key/value pairs).
   *
   * @throws io.lorastream.config.ConfigException naming the metrics key when a value is invalid or the port is taken
   */
  static ServiceMetrics start(LayeredConfig cfg, String service, String... extraTags) {
    return start(new MetricsConfig(cfg), service, extraTags);
  }

  static ServiceMetrics start(MetricsConfig config, String service, String... extraTags) {
    String[] tags = new String[extraTags.length + 2];
    tags[0] = "service";
    tags[1] = service;
    System.arraycopy(extraTags, 0, tags, 2, extraTags.length);
    Optional<MetricsServer> server = MetricsServer.startIfEnabled(config, tags);
    if (server.isEmpty()) {
      return new ServiceMetrics(service, null);
    }
    return new ServiceMetrics(service, server.get());
  }

  String service() {
    return service;
  }

  MeterRegistry registry() {
    return registry;
  }

  Optional<MetricsServer> server() {
    return Optional.ofNullable(server);
  }

  /** Base URL of the endpoint ({@code http://host:port}), empty when metrics are disabled. */
  Optional<String> url() {
    return server().map(MetricsServer::url);
  }

  /** Where this role binds its long-lived Kafka clients' metrics (binds nothing when metrics are disabled). */
  io.lorastream.metrics.KafkaClientMeters kafkaClients() {
    return kafkaClients;
  }

  /**
   * Binds Micrometer's {@code KafkaStreamsMetrics} for a Streams app (tag {@code app}): its
   * embedded consumers', producers' and admin client's metrics plus the Streams thread, task and
   * state-store metrics, as {@code kafka_stream_*}, {@code kafka_consumer_*}, {@code kafka_producer_*}.
   */
  ServiceMetrics bindStreams(String app, org.apache.kafka.streams.KafkaStreams streams) {
    if (server != null) {
      io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics m =
          new io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics(streams,
              io.micrometer.core.instrument.Tags.of("app", app), ticker, io.lorastream.metrics.KafkaClientMeters.REFRESH);
      m.bindTo(registry);
      streamsBindings.add(m);
    }
    return this;
  }

  /** Registers a {@code /health} check (ignored when metrics are disabled: nobody can ask). */
  ServiceMetrics addHealthCheck(String name, Supplier<Health> check) {
    if (server != null) {
      server.addHealthCheck(name, check);
    }
    return this;
  }

  /** Runs {@code sampler} once a second on this role's sampler thread (first run right away). */
  ServiceMetrics everySecond(Runnable sampler) {
    samplers.add(sampler);
    return this;
  }

  private void sampleAll() {
    for (Runnable r : samplers) {
      try {
        r.run();
      } catch (RuntimeException e) {
        // a sampler reading a service that is stopping must not kill the others
        log.debug("{}: metrics sampler failed: {}", service, e.toString());
      }
    }
  }

  /** One line for logs and the demo console. */
  String describe() {
    return url().map(u -> service + ": " + u + "/metrics " + u + "/health").orElse(service + ": metrics disabled");
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    kafkaClients.close();
    for (AutoCloseable b : streamsBindings) {
      try {
        b.close();
      } catch (Exception e) {
        log.debug("{}: unbinding Kafka Streams metrics failed: {}", service, e.toString());
      }
    }
    if (server != null) {
      server.close();
    } else {
      registry.close();
    }
  }
}
