package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.avro.PipelineMetric;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SnapshotMetricsTest {
  @Test
  void recordsCoverEveryTrainerMetricAndCarryTheVersion() {
    Map<String, Integer> ranks = new LinkedHashMap<>();
    ranks.put("fc0", 8);
    ranks.put("head", 4);
    SnapshotMetrics.Values v = new SnapshotMetrics.Values(7, 300, 9600, 1234.5, 0.42, 0.9, ranks, 1, 3);
    List<PipelineMetric> m = SnapshotMetrics.records("fraud", "t1", 1000L, v, 4096);
    assertThat(m).allSatisfy(x -> {
      assertThat(x.getTask()).isEqualTo("fraud");
      assertThat(x.getService()).isEqualTo("t1");
      assertThat(x.getAdapterVersion()).isEqualTo(7L);
    });
    assertThat(m).extracting(PipelineMetric::getName).contains(SnapshotMetrics.OPTIMIZER_STEPS,
        SnapshotMetrics.EXAMPLES_PER_SEC, SnapshotMetrics.LOSS_EMA, SnapshotMetrics.GRAD_NORM,
        SnapshotMetrics.SNAPSHOT_VERSION, SnapshotMetrics.SNAPSHOT_BYTES, SnapshotMetrics.SKIPPED_NON_FINITE);
    assertThat(m).filteredOn(x -> x.getName().equals(SnapshotMetrics.RANK))
        .extracting(x -> x.getTags().get("layer") + "=" + x.getValue()).containsExactly("fc0=8.0", "head=4.0");
    assertThat(m).filteredOn(x -> x.getName().equals(SnapshotMetrics.SNAPSHOT_BYTES))
        .extracting(PipelineMetric::getValue).containsExactly(4096.0);
  }

  @Test
  void nonFiniteValuesAreNeverPublished() {
    SnapshotMetrics.Values v = new SnapshotMetrics.Values(1, 0, 0, 0, Double.NaN, Double.POSITIVE_INFINITY,
        Map.of("fc0", 2), 0, 0);
    assertThat(SnapshotMetrics.records("a", "t", 0, v, 10)).extracting(PipelineMetric::getName)
        .doesNotContain(SnapshotMetrics.LOSS_EMA, SnapshotMetrics.GRAD_NORM)
        .allSatisfy(n -> assertThat(n).startsWith("trainer."));
    assertThat(SnapshotMetrics.snapshotMap(v)).doesNotContainKeys("loss_ema", "grad_norm")
        .allSatisfy((k, x) -> assertThat(x).isFinite());
  }
}
