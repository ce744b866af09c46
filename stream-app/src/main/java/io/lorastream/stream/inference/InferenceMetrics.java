package io.lorastream.stream.inference;

import io.lorastream.avro.PipelineMetric;
import io.lorastream.stream.serving.AdapterSwapper;
import io.lorastream.stream.serving.RejectReason;
import io.lorastream.stream.serving.SwapStats;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Names of the metrics an inference consumer publishes to the {@code metrics} topic as
 * {@code PipelineMetric} records keyed by the served adapter id, each tagged with
 * {@link #TAG_CONSUMER}. Counters are cumulative since the consumer started, so the latest value
 * per (name, consumer[, reason]) is the current total. Snapshot rejections carry their
 * {@link RejectReason} and skipped requests their {@link SkipReason} in {@link #TAG_REASON}.
 */
public final class InferenceMetrics {
  /** Predictions made. */
  public static final String PREDICTIONS = "inference.predictions";
  /** Requests skipped, per reason. */
  public static final String SKIPPED = "inference.skipped";
  /** Mean compute latency per prediction, microseconds. */
  public static final String LATENCY_MEAN_MICROS = "inference.latency.mean.micros";
  /** Version serving now (also in the record's adapterVersion). */
  public static final String ACTIVE_VERSION = "inference.adapter.active.version";
  /** Version serving the canary share now, when the rollout has a candidate this consumer routes to. */
  public static final String CANARY_VERSION = "inference.adapter.canary.version";
  /** Snapshots that became active. */
  public static final String APPLIED = "inference.adapter.applied";
  /** Snapshots ignored because they were not newer than the active version. */
  public static final String IGNORED = "inference.adapter.ignored";
  /** Snapshots refused, per reason. */
  public static final String REJECTED = "inference.adapter.rejected";

  public static final String TAG_CONSUMER = "consumer";
  public static final String TAG_REASON = "reason";

  private InferenceMetrics() {
  }

  /** One observation of every metric of a consumer. */
  static List<PipelineMetric> observe(String consumerId, AdapterSwapper swapper, InferenceCounters counters,
      long nowMillis) {
    List<PipelineMetric> out = new ArrayList<>();
    String adapterId = swapper.adapterId();
    long active = AdapterSwapper.ALL_ADAPTERS.equals(adapterId) ? -1 : swapper.activeVersion();
    SwapStats swaps = swapper.stats();
    out.add(metric(PREDICTIONS, consumerId, adapterId, counters.predictions(), null, null, nowMillis));
    counters.skippedByReason().forEach((reason, n) ->
        out.add(metric(SKIPPED, consumerId, adapterId, n, null, reason.name(), nowMillis)));
    out.add(metric(LATENCY_MEAN_MICROS, consumerId, adapterId, counters.meanLatencyMicros(), null, null, nowMillis));
    if (active >= 0) {
      out.add(metric(ACTIVE_VERSION, consumerId, adapterId, active, active, null, nowMillis));
      swapper.canary(adapterId).ifPresent(c -> out.add(metric(CANARY_VERSION, consumerId, adapterId,
          c.model().version(), c.model().version(), null, nowMillis)));
    } else {
      // A consumer of every adapter reports each adapter it has served a version of, by its task.
      swapper.servedVersions().forEach((id, v) -> {
        out.add(metric(ACTIVE_VERSION, consumerId, id, v, v, null, nowMillis));
        swapper.canary(id).ifPresent(c -> out.add(metric(CANARY_VERSION, consumerId, id, c.model().version(),
            c.model().version(), null, nowMillis)));
      });
    }
    out.add(metric(APPLIED, consumerId, adapterId, swaps.applied(), null, null, nowMillis));
    out.add(metric(IGNORED, consumerId, adapterId, swaps.ignoredNotNewer(), null, null, nowMillis));
    swaps.rejected().forEach((reason, n) ->
        out.add(metric(REJECTED, consumerId, adapterId, n, null, reason.name(), nowMillis)));
    return out;
  }

  private static PipelineMetric metric(String name, String consumerId, String adapterId, double value, Long version,
      String reason, long nowMillis) {
    Map<String, String> tags = new HashMap<>();
    tags.put(TAG_CONSUMER, consumerId);
    if (reason != null) {
      tags.put(TAG_REASON, reason);
    }
    return PipelineMetric.newBuilder()
        .setName(name)
        .setTask(AdapterSwapper.ALL_ADAPTERS.equals(adapterId) ? "" : adapterId)
        .setValue(value)
        .setAdapterVersion(version)
        .setTags(tags)
        .setService(consumerId)
        .setTimestamp(Instant.ofEpochMilli(nowMillis))
        .build();
  }
}
