package io.lorastream.launcher;

import io.lorastream.metrics.Health;
import io.lorastream.stream.serving.AdapterSubscriber;
import io.lorastream.stream.serving.AdapterSwapper;
import io.lorastream.stream.serving.RejectReason;
import io.lorastream.stream.serving.ServingModel;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Meters and health of one adapter consumer (an inference replica, or the evaluator's model
 * follower in stream-app): the active version per adapter, how many snapshots were applied or
 * rejected, and the swap latency. The latency is measured from the snapshot's {@code createdAt}
 * (stamped by the trainer when it cut the snapshot, just before its transaction commits) to the
 * moment the consumer made the merged model visible to requests, so it spans commit, fetch,
 * verification and merge; across hosts it includes their clock offset (negative values count as
 * 0). Snapshots replayed while a starting consumer catches up with the compacted topic are not
 * timed: their age says nothing about rollout speed.
 */
final class AdapterMeters {
  /** Health check, and Kafka client role, of the evaluator's adapter subscriber in the stream-app. */
  static final String EVAL_ADAPTERS = "eval-adapters";

  private final MeterRegistry registry;
  private final AdapterSubscriber subscriber;
  private final String consumer;
  private final Set<String> adapters = ConcurrentHashMap.newKeySet();

  private AdapterMeters(MeterRegistry registry, AdapterSubscriber subscriber, String consumer) {
    this.registry = registry;
    this.subscriber = subscriber;
    this.consumer = consumer;
  }

  /** Registers the meters and the health check {@code healthName} for {@code subscriber}. */
  static AdapterMeters bind(ServiceMetrics m, AdapterSubscriber subscriber, String consumer, String healthName) {
    AdapterMeters a = new AdapterMeters(m.registry(), subscriber, consumer);
    String configured = subscriber.swapper().adapterId();
    if (!AdapterSwapper.ALL_ADAPTERS.equals(configured)) {
      a.activeVersionGauge(configured);
    }
    FunctionCounter.builder("lorastream.adapter.swaps", subscriber, AdapterSubscriber::applied)
        .description("Adapter snapshots verified, merged and made active")
        .tag("consumer", consumer).register(m.registry());
    for (RejectReason r : RejectReason.values()) {
      FunctionCounter.builder("lorastream.adapter.rejected", subscriber, s -> s.rejected(r))
          .description("Adapter snapshots refused (the previous version kept serving), by reason")
          .tag("consumer", consumer).tag("reason", r.name()).register(m.registry());
    }
    subscriber.onActivated(a::activated);
    m.addHealthCheck(healthName, () -> a.health());
    return a;
  }

  private void activated(ServingModel model) {
    activeVersionGauge(model.adapterId());
    if (model.createdAtMillis() <= 0 || !caughtUp()) {
      return;
    }
    long ms = Math.max(0, model.activatedAtMillis() - model.createdAtMillis());
    Timer.builder("lorastream.adapter.swap.latency")
        .description("Snapshot createdAt (trainer) to active in this consumer")
        .tag("adapter", model.adapterId()).tag("consumer", consumer)
        .serviceLevelObjectives(Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
            Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
            Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10))
        .register(registry)
        .record(ms, TimeUnit.MILLISECONDS);
  }

  private boolean caughtUp() {
    try {
      return subscriber.awaitCaughtUp(Duration.ZERO);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private void activeVersionGauge(String adapterId) {
    if (adapters.add(adapterId)) {
      Gauge.builder("lorastream.adapter.active.version", subscriber, s -> s.activeVersion(adapterId))
          .description("Adapter version this consumer serves now (0 = the frozen base)")
          .tag("adapter", adapterId).tag("consumer", consumer).register(registry);
    }
  }

  private Health health() {
    if (subscriber.isRunning()) {
      String configured = subscriber.swapper().adapterId();
      return Health.up(AdapterSwapper.ALL_ADAPTERS.equals(configured) ? "following every adapter"
          : "serving " + configured + " v" + subscriber.activeVersion(configured));
    }
    return Health.dead("adapter subscriber stopped"
        + subscriber.failure().map(e -> ": " + e.getClass().getSimpleName()).orElse(""));
  }
}
