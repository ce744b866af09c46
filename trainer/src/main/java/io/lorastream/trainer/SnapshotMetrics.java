package io.lorastream.trainer;

import io.lorastream.avro.PipelineMetric;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code PipelineMetric} records and the snapshot's own metrics map that ride in each snapshot
 * transaction, so a dashboard reading {@code metrics} with read_committed sees exactly the numbers
 * of the versions that were really published. Non-finite values are dropped here (a loss EMA is
 * NaN before the first accepted micro-batch): invariant 4 forbids publishing them anywhere.
 */
public final class SnapshotMetrics {
  public static final String OPTIMIZER_STEPS = "trainer.optimizer_steps";
  public static final String EXAMPLES_SEEN = "trainer.examples_seen";
  public static final String EXAMPLES_PER_SEC = "trainer.examples_per_sec";
  public static final String LOSS_EMA = "trainer.loss_ema";
  public static final String GRAD_NORM = "trainer.grad_norm";
  public static final String RANK = "trainer.rank";
  public static final String SNAPSHOT_VERSION = "trainer.snapshot_version";
  public static final String SNAPSHOT_BYTES = "trainer.snapshot_bytes";
  public static final String SKIPPED_NON_FINITE = "trainer.skipped_nonfinite_batches";
  public static final String BAD_RECORDS = "trainer.bad_records";
  /**
   * Keys of the snapshot's own metrics map that hold cumulative counters: a restarted trainer
   * continues them from its last committed snapshot, so they count each event once per adapter.
   */
  public static final String SNAPSHOT_SKIPPED_NON_FINITE = "skipped_nonfinite_batches";
  public static final String SNAPSHOT_BAD_RECORDS = "bad_records";

  /** The values measured when a snapshot is cut. */
  public record Values(long version, long optimizerStep, long examplesSeen, double examplesPerSec, double lossEma,
      double gradNorm, Map<String, Integer> ranks, long skippedNonFiniteBatches, long badRecords) {
  }

  private SnapshotMetrics() {
  }

  /** Metrics stored inside the snapshot itself (finite only). */
  public static Map<String, Double> snapshotMap(Values v) {
    Map<String, Double> m = new LinkedHashMap<>();
    put(m, "loss_ema", v.lossEma());
    put(m, "grad_norm", v.gradNorm());
    put(m, "examples_per_sec", v.examplesPerSec());
    put(m, SNAPSHOT_SKIPPED_NON_FINITE, v.skippedNonFiniteBatches());
    put(m, SNAPSHOT_BAD_RECORDS, v.badRecords());
    return m;
  }

  /** One record per metric (one per layer for ranks), plus the snapshot size once it is known. */
  public static List<PipelineMetric> records(String adapterId, String service, long timestamp, Values v,
      long snapshotBytes) {
    List<PipelineMetric> out = new ArrayList<>();
    add(out, adapterId, service, timestamp, v.version(), OPTIMIZER_STEPS, v.optimizerStep(), Map.of());
    add(out, adapterId, service, timestamp, v.version(), EXAMPLES_SEEN, v.examplesSeen(), Map.of());
    add(out, adapterId, service, timestamp, v.version(), EXAMPLES_PER_SEC, v.examplesPerSec(), Map.of());
    add(out, adapterId, service, timestamp, v.version(), LOSS_EMA, v.lossEma(), Map.of());
    add(out, adapterId, service, timestamp, v.version(), GRAD_NORM, v.gradNorm(), Map.of());
    v.ranks().forEach((layer, r) -> add(out, adapterId, service, timestamp, v.version(), RANK, r, Map.of("layer", layer)));
    add(out, adapterId, service, timestamp, v.version(), SNAPSHOT_VERSION, v.version(), Map.of());
    add(out, adapterId, service, timestamp, v.version(), SNAPSHOT_BYTES, snapshotBytes, Map.of());
    add(out, adapterId, service, timestamp, v.version(), SKIPPED_NON_FINITE, v.skippedNonFiniteBatches(), Map.of());
    add(out, adapterId, service, timestamp, v.version(), BAD_RECORDS, v.badRecords(), Map.of());
    return out;
  }

  private static void put(Map<String, Double> m, String key, double v) {
    if (Double.isFinite(v)) {
      m.put(key, v);
    }
  }

  private static void add(List<PipelineMetric> out, String task, String service, long ts, long version, String name,
      double value, Map<String, String> tags) {
    if (!Double.isFinite(value)) {
      return;
    }
    out.add(PipelineMetric.newBuilder()
        .setName(name)
        .setTask(task)
        .setValue(value)
        .setAdapterVersion(version)
        .setTags(new LinkedHashMap<>(tags))
        .setService(service)
        .setTimestamp(java.time.Instant.ofEpochMilli(ts))
        .build());
  }
}
