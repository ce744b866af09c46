package io.lorastream.stream.serving;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Bounds the memory of merged adapter versions in one consumer. Each merged version costs a copy
 * of every layer its adapter changes; with many adapters (or many retained versions) that is the
 * consumer's memory. Past the budget the least recently used merged versions are evicted down to
 * their compact A and B, and merged again by the first request that needs them (a cold request).
 * A budget of 0 bytes means no bound.
 */
public final class MergeBudget {
  private final long budgetBytes;
  private final Set<LazyMerged> merged = ConcurrentHashMap.newKeySet();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong clock = new AtomicLong();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder coldMerges = new LongAdder();
  private final LongAdder coldMergeNanos = new LongAdder();
  private final AtomicLong coldMergeMaxNanos = new AtomicLong();

  public MergeBudget(long budgetBytes) {
    if (budgetBytes < 0) {
      throw new IllegalArgumentException("budgetBytes must be >= 0, got " + budgetBytes);
    }
    this.budgetBytes = budgetBytes;
  }

  /** No bound: every version stays merged. */
  public static MergeBudget unlimited() {
    return new MergeBudget(0);
  }

  public boolean bounded() {
    return budgetBytes > 0;
  }

  long tick() {
    return clock.incrementAndGet();
  }

  /** {@code m} was just merged: count it, then evict the least recently used others while over budget. */
  void admitted(LazyMerged m, boolean cold, long mergeNanos) {
    if (cold) {
      coldMerges.increment();
      coldMergeNanos.add(mergeNanos);
      coldMergeMaxNanos.accumulateAndGet(mergeNanos, Math::max);
    }
    if (merged.add(m)) {
      bytes.addAndGet(m.mergedBytes());
    }
    if (!bounded()) {
      return;
    }
    while (bytes.get() > budgetBytes) {
      LazyMerged victim = null;
      for (LazyMerged c : merged) {
        if (c != m && (victim == null || c.lastUse() < victim.lastUse())) {
          victim = c;
        }
      }
      if (victim == null) {
        return; // m alone is over the budget: it stays, nothing else is merged
      }
      if (victim.evict()) {
        evictions.increment();
      }
      dropped(victim);
    }
  }

  /** {@code m} no longer holds merged weights (evicted or retired). */
  void dropped(LazyMerged m) {
    if (merged.remove(m)) {
      bytes.addAndGet(-m.mergedBytes());
    }
  }

  public long budgetBytes() {
    return budgetBytes;
  }

  /** Bytes of merged weights held now. */
  public long mergedBytes() {
    return bytes.get();
  }

  /** Versions merged now. */
  public int mergedVersions() {
    return merged.size();
  }

  public long evictions() {
    return evictions.sum();
  }

  /** Merges done by a request because its version had been evicted. */
  public long coldMerges() {
    return coldMerges.sum();
  }

  /** Mean time of those merges, in milliseconds (0 before the first). */
  public double coldMergeMeanMillis() {
    long n = coldMerges.sum();
    return n == 0 ? 0 : coldMergeNanos.sum() / 1e6 / n;
  }

  public double coldMergeMaxMillis() {
    return coldMergeMaxNanos.get() / 1e6;
  }

  /** The merged versions now, for tests and logs. */
  List<LazyMerged> mergedNow() {
    return new ArrayList<>(merged);
  }
}
