package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.stream.ingest.IngestMetrics;
import io.lorastream.stream.ingest.IngestService.PartitionCounters;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Ingest counters from the exactly-once counter store: first sight of a partition is a baseline,
 * increases are counted once, rebalances and rolled-back values never double count, and the hosted
 * gauges are the store values themselves.
 */
class IngestMetersTest {
  private static final long S = 1_000_000_000L;
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final IngestMeters meters = new IngestMeters(registry);

  private static PartitionCounters p(int partition, long processed, long dlq, long nonFinite) {
    return new PartitionCounters(partition,
        Map.of(IngestMetrics.PROCESSED, processed, IngestMetrics.DLQ, dlq, IngestMetrics.VALID, processed - dlq),
        nonFinite == 0 ? Map.of() : Map.of("NON_FINITE", nonFinite));
  }

  private double records(String outcome) {
    return registry.get("lorastream.ingest.records").tag("outcome", outcome).counter().count();
  }

  private double dlq(String reason) {
    return registry.get("lorastream.ingest.dlq").tag("reason", reason).counter().count();
  }

  @Test
  void firstSightOfAPartitionIsOnlyABaselineThenIncreasesAreCounted() {
    meters.accept(List.of(p(0, 1000, 10, 10), p(1, 500, 0, 0)), 0);
    assertThat(records("processed")).isZero();

    meters.accept(List.of(p(0, 1100, 12, 12), p(1, 550, 1, 1)), S);
    assertThat(records("processed")).isEqualTo(150);
    assertThat(records("dlq")).isEqualTo(3);
    assertThat(records("valid")).isEqualTo(147);
    assertThat(dlq("NON_FINITE")).isEqualTo(3);
    assertThat(registry.get("lorastream.ingest.partitions").gauge().value()).isEqualTo(2);
    assertThat(registry.get("lorastream.ingest.examples.per.second").gauge().value()).isEqualTo(150.0);
    // the exact hosted totals are the store values themselves
    assertThat(registry.get("lorastream.ingest.hosted.records").tag("outcome", "processed").gauge().value()).isEqualTo(1650);
    assertThat(registry.get("lorastream.ingest.hosted.records").tag("outcome", "dlq").gauge().value()).isEqualTo(13);
  }

  @Test
  void aPartitionThatMovesAwayAndBackIsReBaselinedNotCountedTwice() {
    meters.accept(List.of(p(0, 100, 0, 0), p(1, 100, 0, 0)), 0);
    meters.accept(List.of(p(0, 150, 0, 0)), S);          // partition 1 moved to another instance
    meters.accept(List.of(p(0, 160, 0, 0), p(1, 900, 0, 0)), 2 * S); // and came back with its history
    meters.accept(List.of(p(0, 170, 0, 0), p(1, 905, 0, 0)), 3 * S);
    assertThat(records("processed")).isEqualTo(50 + 10 + 10 + 5);
    assertThat(registry.get("lorastream.ingest.partitions").gauge().value()).isEqualTo(2);
    assertThat(registry.get("lorastream.ingest.hosted.records").tag("outcome", "processed").gauge().value()).isEqualTo(170 + 905);
  }

  @Test
  void aStoreValueThatGoesDownIsNeverSubtracted() {
    meters.accept(List.of(p(0, 100, 0, 0)), 0);
    meters.accept(List.of(p(0, 90, 0, 0)), S); // rolled back
    meters.accept(List.of(p(0, 95, 0, 0)), 2 * S);
    assertThat(records("processed")).isEqualTo(5);
  }

  @Test
  void everyDeadLetterReasonHasACounterFromTheStart() {
    assertThat(registry.find("lorastream.ingest.dlq").counters())
        .hasSize(io.lorastream.stream.ingest.DlqReason.values().length);
  }
}
