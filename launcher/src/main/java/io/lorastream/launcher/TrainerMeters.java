package io.lorastream.launcher;

import io.lorastream.metrics.Health;
import io.lorastream.trainer.AdapterTrainer;
import io.lorastream.trainer.StepStats;
import io.lorastream.trainer.TrainerListener;
import io.lorastream.trainer.TrainerStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus meters and the health check of one trainer. Most values are read from
 * {@link AdapterTrainer#status()} at scrape time (step, loss EMA, ranks, last committed version,
 * record counters); what the status does not carry (size of the last snapshot, last gradient norm)
 * arrives through the {@link TrainerListener} callbacks, which this class implements and forwards
 * to another listener (the demo's). The trainer is created with this listener and
 * {@link #bind(AdapterTrainer)} afterwards, since the trainer needs its listener at creation.
 */
final class TrainerMeters implements TrainerListener {
  private final ServiceMetrics metrics;
  private final TrainerListener next;
  private final Tags tags;
  private final AtomicLong lastSnapshotBytes = new AtomicLong();
  private final AtomicReference<Double> lastGradNorm = new AtomicReference<>(Double.NaN);
  private final Counter snapshotBytes;
  private final Set<String> rankLayers = ConcurrentHashMap.newKeySet();
  private final ThroughputMeter rate = new ThroughputMeter(Duration.ofSeconds(10));
  private volatile AdapterTrainer trainer;

  TrainerMeters(ServiceMetrics metrics, String adapterId, TrainerListener next) {
    this.metrics = metrics;
    this.next = next;
    this.tags = Tags.of("adapter", adapterId);
    MeterRegistry r = metrics.registry();
    Gauge.builder("lorastream.trainer.snapshot.bytes", lastSnapshotBytes, AtomicLong::get)
        .description("Size of the last committed snapshot record (serialized AdapterSnapshot value) in bytes; 0 before the first commit of this process")
        .baseUnit("bytes").tags(tags).register(r);
    snapshotBytes = Counter.builder("lorastream.trainer.snapshot.published.bytes")
        .description("Bytes of snapshot records committed to the adapters topic by this process")
        .baseUnit("bytes").tags(tags).register(r);
    Gauge.builder("lorastream.trainer.grad.norm", lastGradNorm, AtomicReference::get)
        .description("Global gradient norm at the last optimizer step (before clipping)")
        .tags(tags).register(r);
  }

  @Override
  public io.lorastream.metrics.KafkaClientMeters kafkaClientMeters() {
    return metrics.kafkaClients();
  }

  /** Registers the status-backed meters and the {@code trainer} health check. */
  TrainerMeters bind(AdapterTrainer t) {
    this.trainer = t;
    MeterRegistry r = metrics.registry();
    gauge("lorastream.trainer.step", "Optimizer steps applied to the adapter (cumulative across restarts)", TrainerStatus::optimizerStep);
    gauge("lorastream.trainer.loss", "Training loss, exponential moving average over micro-batches (NaN before the first)", TrainerStatus::lossEma);
    gauge("lorastream.trainer.snapshot.version", "Version of the last snapshot this adapter committed (0 = none yet)", TrainerStatus::lastCommittedVersion);
    gauge("lorastream.trainer.input.lag", "Offsets of examples.train still to read up to the last stable offset (-1 = unknown yet)", TrainerStatus::inputLag);
    gauge("lorastream.trainer.examples.buffered", "Examples read but waiting for a full micro-batch", TrainerStatus::examplesBuffered);
    counter("lorastream.trainer.examples", "Examples trained on (cumulative across restarts, as in snapshots)", TrainerStatus::examplesSeen);
    counter("lorastream.trainer.snapshots", "Snapshot transactions committed by this process", TrainerStatus::snapshotsCommitted);
    counter("lorastream.trainer.skipped.batches", "Micro-batches discarded for a non-finite loss or gradient", TrainerStatus::skippedNonFiniteBatches);
    counter("lorastream.trainer.bad.records", "examples.train records the trainer could not use (undecodable, wrong shape)", TrainerStatus::badRecords);
    counter("lorastream.trainer.transactions.aborted", "Snapshot transactions aborted (the trainer rolled back and re-read)", TrainerStatus::transactionsAborted);
    Gauge.builder("lorastream.trainer.examples.per.second", rate, ThroughputMeter::perSecond)
        .description("Examples trained per second over the last 10 s").tags(tags).register(r);
    metrics.everySecond(() -> {
      TrainerStatus s = t.status();
      rate.sample(System.nanoTime(), s.examplesSeen());
      registerRanks(s.ranks());
    });
    metrics.addHealthCheck("trainer", () -> health(t));
    return this;
  }

  static Health health(AdapterTrainer t) {
    return health(t.status(), t.failure());
  }

  /**
   * RUNNING is UP; CREATED and STARTING (restoring, or waiting for Kafka or the registry) and
   * STOPPING (publishing its final snapshot) are DOWN but alive; STOPPED is neither.
   */
  static Health health(TrainerStatus s, Optional<Throwable> failure) {
    if (s.state() == TrainerStatus.State.RUNNING) {
      String stall = s.stalledOn() == null ? "" : "; stalled on " + s.stalledOn() + " (" + s.stallRetries() + " retries)";
      return Health.up("RUNNING, step " + s.optimizerStep() + ", last version " + s.lastCommittedVersion() + stall);
    }
    if (s.state() == TrainerStatus.State.CREATED || s.state() == TrainerStatus.State.STARTING) {
      // Restoring, or waiting for Kafka or the registry: not ready, but a restart would not help.
      String waiting = s.stalledOn() == null ? "restoring the committed state"
          : "stalled on " + s.stalledOn() + " (" + s.stallRetries() + " retries)";
      return Health.down("trainer state " + s.state() + ": " + waiting);
    }
    if (s.state() == TrainerStatus.State.STOPPING) {
      return Health.down("trainer state STOPPING: publishing its final snapshot");
    }
    String why = failure.map(e -> ": " + e.getClass().getSimpleName()).orElse("");
    return Health.dead("trainer state " + s.state() + why);
  }

  private void gauge(String name, String description, ToDoubleFunction<TrainerStatus> f) {
    Gauge.builder(name, this, m -> f.applyAsDouble(m.trainer.status())).description(description).tags(tags)
        .register(metrics.registry());
  }

  private void counter(String name, String description, ToDoubleFunction<TrainerStatus> f) {
    FunctionCounter.builder(name, this, m -> f.applyAsDouble(m.trainer.status())).description(description).tags(tags)
        .register(metrics.registry());
  }

  private void registerRanks(Map<String, Integer> ranks) {
    for (String layer : ranks.keySet()) {
      if (rankLayers.add(layer)) {
        Gauge.builder("lorastream.trainer.rank", this, m -> m.trainer == null ? 0
                : m.trainer.status().ranks().getOrDefault(layer, 0))
            .description("Current LoRA rank of one adapted layer")
            .tags(tags.and("layer", layer))
            .register(metrics.registry());
      }
    }
  }

  @Override
  public void onStep(StepStats stats) {
    if (Double.isFinite(stats.gradNorm())) { // only stepping micro-batches carry a norm
      lastGradNorm.set(stats.gradNorm());
    }
    registerRanks(stats.ranks());
    next.onStep(stats);
  }

  @Override
  public void onSnapshotCommitted(String adapterId, long version, Map<String, Integer> ranks, long bytes,
      long commitWallTimeMillis, long examplesSeen) {
    lastSnapshotBytes.set(bytes);
    snapshotBytes.increment(bytes);
    next.onSnapshotCommitted(adapterId, version, ranks, bytes, commitWallTimeMillis, examplesSeen);
  }

  @Override
  public void onStopped(Throwable cause) {
    next.onStopped(cause);
  }
}
