package io.lorastream.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * Micrometer's {@link KafkaClientMetrics} for the long-lived Kafka clients of one service: each
 * client is bound under a role (tag {@code client.role}) when it is created and unbound just before
 * it closes, because a closed client's metrics can no longer be read. Binding a role again (a
 * producer recreated after a failed abort) replaces the old binding. Consumer lag, fetch and
 * request rates, request latencies and transaction times then appear on {@code /metrics} as
 * {@code kafka_consumer_*} and {@code kafka_producer_*}. {@link #NONE} binds nothing. Thread-safe.
 */
public final class KafkaClientMeters implements AutoCloseable {
  /** Binds nothing: metrics are off, or nobody scrapes (tests). */
  public static final KafkaClientMeters NONE = new KafkaClientMeters(null);
  /**
   * How often a binder looks for metrics its client registered since (Micrometer's default is a
   * minute): per-partition lag appears only after assignment, per-node latencies after connecting.
   */
  public static final java.time.Duration REFRESH = java.time.Duration.ofSeconds(10);

  private final MeterRegistry registry;
  private final Map<String, KafkaClientMetrics> bound = new ConcurrentHashMap<>();
  private final ScheduledExecutorService refresher;

  private KafkaClientMeters(MeterRegistry registry) {
    this.registry = registry;
    // One thread for every binder of this service: each one otherwise starts its own to look for
    // metrics a client registers late (per-partition lag, per-node latencies).
    this.refresher = registry == null ? null : Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "lorastream-kafka-meters");
      t.setDaemon(true);
      return t;
    });
  }

  public static KafkaClientMeters on(MeterRegistry registry) {
    return new KafkaClientMeters(registry);
  }

  public void opened(String role, Consumer<?, ?> consumer) {
    if (registry != null) {
      bind(role, new KafkaClientMetrics(consumer, Tags.of("client.role", role), refresher, REFRESH));
    }
  }

  public void opened(String role, Producer<?, ?> producer) {
    if (registry != null) {
      bind(role, new KafkaClientMetrics(producer, Tags.of("client.role", role), refresher, REFRESH));
    }
  }

  private void bind(String role, KafkaClientMetrics m) {
    KafkaClientMetrics old = bound.put(role, m);
    if (old != null) {
      old.close();
    }
    m.bindTo(registry);
  }

  /** A piece of work that reads from a bound client. */
  @FunctionalInterface
  public interface Work<E extends Exception> {
    void run() throws E;
  }

  /**
   * Runs {@code work} with {@code consumer}'s metrics bound under {@code role}, and unbinds them
   * when it ends however it ends, before the caller closes the consumer.
   */
  public <E extends Exception> void whileBound(String role, Consumer<?, ?> consumer, Work<E> work) throws E {
    opened(role, consumer);
    try {
      work.run();
    } finally {
      closing(role); // a closed client's metrics can no longer be read
    }
  }

  /** Removes the role's meters; call before closing its client. */
  public void closing(String role) {
    KafkaClientMetrics m = bound.remove(role);
    if (m != null) {
      m.close();
    }
  }

  /** Roles bound now. */
  public java.util.Set<String> roles() {
    return java.util.Set.copyOf(bound.keySet());
  }

  @Override
  public void close() {
    bound.keySet().forEach(this::closing);
    if (refresher != null) {
      refresher.shutdownNow();
    }
  }
}
