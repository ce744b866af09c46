package io.lorastream.launcher;

import io.lorastream.stream.inference.InferenceCounters;
import io.lorastream.stream.inference.InferenceService;
import io.lorastream.stream.inference.SkipReason;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Meters and health of one inference consumer: its adapter follower ({@link AdapterMeters}), its
 * Kafka Streams request path ({@link StreamsHealth}), predictions and skipped requests, and the
 * prediction latency: the compute time of one prediction on the stream thread (decoding the
 * request, feature checks, forward pass of the merged model, argmax), as measured by the topology, not the time a request
 * waited in Kafka.
 */
final class InferenceMeters {
  private InferenceMeters() {
  }

  static void bind(ServiceMetrics m, InferenceService svc) {
    String consumer = svc.consumerId();
    AdapterMeters.bind(m, svc.subscriber(), consumer, "adapters");
    StreamsHealth.bind(m, "inference", svc::state);
    m.bindStreams("inference", svc.kafkaStreams());
    InferenceCounters counters = svc.counters();
    FunctionCounter.builder("lorastream.inference.predictions", counters, InferenceCounters::predictions)
        .description("Predictions written to inference.predictions")
        .tag("consumer", consumer).register(m.registry());
    for (SkipReason r : SkipReason.values()) {
      FunctionCounter.builder("lorastream.inference.skipped", counters, c -> c.skipped(r))
          .description("Requests answered with no prediction, by reason")
          .tag("consumer", consumer).tag("reason", r.name()).register(m.registry());
    }
    Timer latency = Timer.builder("lorastream.inference.prediction.latency")
        .description("Compute time of one prediction on the stream thread (decode request, validate, forward pass, argmax)")
        .tag("consumer", consumer)
        .serviceLevelObjectives(Duration.ofNanos(50_000), Duration.ofNanos(100_000), Duration.ofNanos(250_000),
            Duration.ofNanos(500_000), Duration.ofMillis(1), Duration.ofNanos(2_500_000), Duration.ofMillis(5),
            Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(100))
        .register(m.registry());
    counters.onPrediction(micros -> latency.record(micros, TimeUnit.MICROSECONDS));
  }
}
