package io.lorastream.launcher;

import io.lorastream.metrics.Health;
import io.micrometer.core.instrument.Gauge;
import java.util.function.Supplier;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Health and a liveness gauge for one Kafka Streams application (ingest, eval, inference). A
 * rebalance is part of normal life (a replica joins, a pod restarts), so REBALANCING counts as
 * healthy; anything else but RUNNING (CREATED, PENDING_SHUTDOWN, NOT_RUNNING, ERROR) is DOWN, and
 * every state but CREATED is also not alive (the app will not come back without a restart).
 */
final class StreamsHealth {
  private StreamsHealth() {
  }

  static Health of(KafkaStreams.State state) {
    if (state == KafkaStreams.State.RUNNING || state == KafkaStreams.State.REBALANCING) {
      return Health.up(state.name());
    }
    String detail = "Kafka Streams state " + state;
    // CREATED is on its way up; NOT_RUNNING, PENDING_ERROR and ERROR never come back by themselves.
    return state == KafkaStreams.State.CREATED ? Health.down(detail) : Health.dead(detail);
  }

  /**
   * Registers {@code /health} check {@code app} and gauge {@code lorastream.streams.running{app}}
   * (1 while RUNNING, 0 otherwise, so a dashboard can show time spent rebalancing).
   */
  static void bind(ServiceMetrics m, String app, Supplier<KafkaStreams.State> state) {
    m.addHealthCheck(app, () -> of(state.get()));
    Gauge.builder("lorastream.streams.running", state, s -> s.get() == KafkaStreams.State.RUNNING ? 1 : 0)
        .description("1 while the Kafka Streams application is RUNNING, 0 otherwise (rebalancing, stopped)")
        .tag("app", app)
        .register(m.registry());
  }
}
