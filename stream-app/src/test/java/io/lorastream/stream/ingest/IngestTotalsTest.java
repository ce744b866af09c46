package io.lorastream.stream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.avro.PipelineMetric;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IngestTotalsTest {

  static PipelineMetric metric(String name, double value, String partition, String reason) {
    Map<String, String> tags = new HashMap<>();
    tags.put(IngestMetrics.TAG_PARTITION, partition);
    if (reason != null) {
      tags.put(IngestMetrics.TAG_REASON, reason);
    }
    return PipelineMetric.newBuilder().setName(name).setTask("").setValue(value).setTags(tags).setService("ingest")
        .setTimestamp(Instant.EPOCH).build();
  }

  @Test
  void theLatestValuePerPartitionWinsAndPartitionsAreSummed() {
    IngestTotals t = new IngestTotals();
    t.accept(metric(IngestMetrics.PROCESSED, 10, "0", null));
    t.accept(metric(IngestMetrics.PROCESSED, 25, "0", null)); // cumulative: replaces 10
    t.accept(metric(IngestMetrics.PROCESSED, 7, "1", null));
    t.accept(metric(IngestMetrics.DLQ, 3, "0", null));
    t.accept(metric(IngestMetrics.DLQ_BY_REASON, 2, "0", "NON_FINITE"));
    t.accept(metric(IngestMetrics.DLQ_BY_REASON, 1, "1", "NON_FINITE"));
    t.accept(metric(IngestMetrics.DLQ_BY_REASON, 1, "0", "TRUNCATED"));
    assertThat(t.total(IngestMetrics.PROCESSED)).isEqualTo(32);
    assertThat(t.total(IngestMetrics.DLQ)).isEqualTo(3);
    assertThat(t.total(IngestMetrics.TRAIN)).isZero();
    assertThat(t.dlqByReason()).containsExactly(Map.entry("NON_FINITE", 3L), Map.entry("TRUNCATED", 1L));
  }

  @Test
  void otherMetricsAreNotFoldedIn() {
    IngestTotals t = new IngestTotals();
    assertThat(t.accept(metric("trainer.loss_ema", 1, "0", null))).isFalse();
    assertThat(t.accept(metric(IngestMetrics.TRAIN, 4, "0", null))).isTrue();
    assertThat(t.total(IngestMetrics.TRAIN)).isEqualTo(4);
  }
}
