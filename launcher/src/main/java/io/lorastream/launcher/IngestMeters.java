package io.lorastream.launcher;

import io.lorastream.stream.ingest.DlqReason;
import io.lorastream.stream.ingest.IngestMetrics;
import io.lorastream.stream.ingest.IngestService;
import io.lorastream.stream.ingest.IngestService.PartitionCounters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Prometheus meters of the ingest service. The source of truth is the ingest topology's
 * exactly-once counter store (one cumulative counter set per input partition); once a second this
 * reads the stores of the partitions the instance hosts and adds each partition's increase since
 * the previous read to {@code lorastream_ingest_records_total{outcome}} and
 * {@code lorastream_ingest_dlq_total{reason}}. A partition seen for the first time (startup, or
 * moved here by a rebalance) only sets the baseline, so moving a partition never adds its whole
 * history to a second instance: the counters count what this instance processed, which is what a
 * Prometheus counter must mean for {@code rate()} and sums over instances to work. The price is
 * that records processed between a partition's assignment and its first read (at most about a
 * second of traffic) are not in these counters. The exact cumulative store values of the hosted
 * partitions are exported as well, as gauges {@code lorastream_ingest_hosted_records{outcome}}:
 * summed over instances they are the pipeline's totals, record for record (as in the
 * {@code metrics} topic).
 */
final class IngestMeters {
  /** Counter names in the store → {@code outcome} tag values. */
  static final Map<String, String> OUTCOMES = outcomes();

  private final Map<String, Counter> records = new LinkedHashMap<>();
  private final Map<String, AtomicLong> hostedTotals = new LinkedHashMap<>();
  private final Map<String, Counter> dlq = new HashMap<>();
  private final MeterRegistry registry;
  private final Map<Integer, PartitionCounters> last = new HashMap<>();
  private final ThroughputMeter rate = new ThroughputMeter(Duration.ofSeconds(10));
  private final AtomicInteger hosted = new AtomicInteger();

  IngestMeters(MeterRegistry registry) {
    this.registry = registry;
    OUTCOMES.forEach((name, outcome) -> records.put(name, Counter.builder("lorastream.ingest.records")
        .description("Records from examples.raw this instance processed, by outcome (processed = valid + duplicates + dlq; valid = train + holdout)")
        .tag("outcome", outcome)
        .register(registry)));
    OUTCOMES.forEach((name, outcome) -> {
      AtomicLong v = new AtomicLong();
      hostedTotals.put(name, v);
      Gauge.builder("lorastream.ingest.hosted.records", v, AtomicLong::get)
          .description("Exact cumulative count of the partitions this instance hosts, by outcome (from the exactly-once counter store; summed over instances it is the pipeline total)")
          .tag("outcome", outcome)
          .register(registry);
    });
    for (DlqReason r : DlqReason.values()) {
      dlqCounter(r.name());
    }
    Gauge.builder("lorastream.ingest.examples.per.second", rate, ThroughputMeter::perSecond)
        .description("Records read from examples.raw per second (valid or not), over the last 10 s")
        .register(registry);
    Gauge.builder("lorastream.ingest.partitions", hosted, AtomicInteger::get)
        .description("Input partitions of examples.raw this instance hosts now")
        .register(registry);
  }

  /** Registers the ingest meters and health check on {@code m} and samples {@code ingest} once a second. */
  static IngestMeters bind(ServiceMetrics m, IngestService ingest) {
    IngestMeters meters = new IngestMeters(m.registry());
    StreamsHealth.bind(m, "ingest", ingest::state);
    m.bindStreams("ingest", ingest.kafkaStreams());
    m.everySecond(() -> meters.accept(ingest.localCounters(), System.nanoTime()));
    return meters;
  }

  /** Folds one read of the hosted partitions' counter stores into the meters. */
  synchronized void accept(List<PartitionCounters> now, long nanos) {
    Map<Integer, PartitionCounters> seen = new HashMap<>();
    for (PartitionCounters pc : now) {
      seen.put(pc.partition(), pc);
      PartitionCounters prev = last.get(pc.partition());
      if (prev == null) {
        continue; // baseline only
      }
      records.forEach((name, counter) -> add(counter, pc.totals().getOrDefault(name, 0L) - prev.totals().getOrDefault(name, 0L)));
      pc.dlqByReason().forEach((reason, v) -> add(dlqCounter(reason), v - prev.dlqByReason().getOrDefault(reason, 0L)));
    }
    hostedTotals.forEach((name, v) -> v.set(now.stream().mapToLong(pc -> pc.totals().getOrDefault(name, 0L)).sum()));
    last.clear();
    last.putAll(seen); // partitions no longer hosted are forgotten, so a return re-baselines
    hosted.set(seen.size());
    rate.sample(nanos, (long) records.get(IngestMetrics.PROCESSED).count());
  }

  private static void add(Counter c, long delta) {
    // a store value only goes down when it was rolled back (aborted transaction): never count it twice
    if (delta > 0) {
      c.increment(delta);
    }
  }

  private Counter dlqCounter(String reason) {
    return dlq.computeIfAbsent(reason, r -> Counter.builder("lorastream.ingest.dlq")
        .description("Records this instance dead-lettered to examples.dlq, by reason")
        .tag("reason", r)
        .register(registry));
  }

  private static Map<String, String> outcomes() {
    Map<String, String> m = new LinkedHashMap<>();
    for (String name : List.of(IngestMetrics.PROCESSED, IngestMetrics.VALID, IngestMetrics.TRAIN, IngestMetrics.HOLDOUT,
        IngestMetrics.DUPLICATES, IngestMetrics.DLQ)) {
      m.put(name, name.substring("ingest.".length()));
    }
    return java.util.Collections.unmodifiableMap(m);
  }
}
