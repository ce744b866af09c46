package io.lorastream.stream.serving;

import java.util.EnumMap;
import java.util.Map;

/**
 * A point-in-time copy of an adapter consumer's counters, for status lines, summaries and tests.
 *
 * @param applied snapshots that became active
 * @param ignoredNotNewer snapshots whose version was not newer than the active one
 * @param ignoredOtherAdapter snapshots of adapters this consumer does not serve
 * @param rejected refused snapshots per reason (every reason present, zero when none)
 */
public record SwapStats(long applied, long ignoredNotNewer, long ignoredOtherAdapter, Map<RejectReason, Long> rejected) {
  public SwapStats {
    Map<RejectReason, Long> all = new EnumMap<>(RejectReason.class);
    for (RejectReason r : RejectReason.values()) {
      all.put(r, rejected.getOrDefault(r, 0L));
    }
    rejected = java.util.Collections.unmodifiableMap(all);
  }

  /** Refused snapshots, all reasons. */
  public long rejectedTotal() {
    return rejected.values().stream().mapToLong(Long::longValue).sum();
  }

  public long rejected(RejectReason reason) {
    return rejected.get(reason);
  }
}
