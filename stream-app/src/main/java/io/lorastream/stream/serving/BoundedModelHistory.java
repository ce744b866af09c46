package io.lorastream.stream.serving;

import io.lorastream.avro.OffsetRange;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link ModelHistory} that keeps the last {@code capacity} adapter versions of every task
 * together with the input position each was trained up to. A snapshot's {@code sourceOffsets}
 * carry the ranges consumed <em>since the previous snapshot</em>; accumulating them gives, per
 * version v and partition p, the position pos_v(p): v was trained on exactly the offsets below it.
 * Hence v may score the example at (p, o) iff pos_v(p) &lt;= o, and since positions never move
 * backwards the newest such v is found by scanning from the newest down.
 *
 * <p>When no retained version qualifies, the frozen base is the right answer only if the oldest
 * retained snapshot's predecessor had been trained on nothing, which its ranges prove when every
 * one starts at offset 0. Otherwise the qualifying version was evicted (or compacted away before
 * this process started), and the history says so (empty) instead of silently substituting the
 * base. A partition a snapshot does not mention is treated as unknown, never as "untrained".
 * Writers are serialized; readers never lock: each task's history is an immutable value swapped
 * behind a concurrent map. An evicted version is {@linkplain ScoringModel#retire retired}, which
 * lets a device-served model free its tensors once its in-flight requests return.
 */
public final class BoundedModelHistory implements ModelHistory {

  /** One retained version: its cumulative per-partition positions and its model. */
  private record Entry(long version, Map<Integer, Long> positions, ScoringModel model) {
  }

  /** Immutable history of one task, oldest first. */
  private record TaskHistory(List<Entry> entries, boolean oldestFollowsUntrained) {
    Entry newest() {
      return entries.get(entries.size() - 1);
    }
  }

  private final String trainTopic;
  private final int capacity;
  private final ScoringModel frozen;
  private final java.util.function.Consumer<ScoringModel> onEvicted;
  private final Map<String, TaskHistory> tasks = new ConcurrentHashMap<>();
  /** Per task: whether each retained entry's predecessor was untrained, kept in step with entries. */
  private final Map<String, List<Boolean>> followsUntrained = new HashMap<>();

  /**
   * @param trainTopic name of {@code examples.train}; ranges of other topics are ignored
   * @param capacity   versions kept per task (older ones are evicted first)
   * @param frozen     the frozen base model, version 0
   */
  public BoundedModelHistory(String trainTopic, int capacity, ScoringModel frozen) {
    this(trainTopic, capacity, frozen, ScoringModel::retire);
  }

  /**
   * As above, with {@code onEvicted} told of every model that leaves the history (the default
   * retires it; an owner that may still serve it decides for itself).
   */
  public BoundedModelHistory(String trainTopic, int capacity, ScoringModel frozen,
      java.util.function.Consumer<ScoringModel> onEvicted) {
    this.onEvicted = java.util.Objects.requireNonNull(onEvicted, "onEvicted");
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1, was " + capacity);
    }
    if (frozen.version() != 0) {
      throw new IllegalArgumentException("the frozen base must be version 0, was " + frozen.version());
    }
    this.trainTopic = trainTopic;
    this.capacity = capacity;
    this.frozen = frozen;
  }

  /**
   * Adds version {@code version} of {@code task}'s adapter, trained on the ranges in
   * {@code sourceOffsets} since its predecessor. Versions that are not newer than the newest
   * known one are ignored (returns false), matching the subscriber's own rule.
   */
  public synchronized boolean record(String task, long version, List<OffsetRange> sourceOffsets, ScoringModel model) {
    if (model.version() != version) {
      throw new IllegalArgumentException("model reports version " + model.version() + " but was recorded as " + version);
    }
    TaskHistory old = tasks.get(task);
    if (old != null && version <= old.newest().version()) {
      return false;
    }
    Map<Integer, Long> positions = new HashMap<>(old == null ? Map.of() : old.newest().positions());
    boolean anyRange = false;
    boolean fromZero = true;
    for (OffsetRange r : sourceOffsets) {
      if (!trainTopic.equals(r.getTopic())) {
        continue;
      }
      anyRange = true;
      fromZero &= r.getFromOffset() == 0;
      positions.merge(r.getPartition(), r.getUntilOffset(), Math::max);
    }
    boolean allFromZero = anyRange && fromZero;
    List<Entry> entries = new ArrayList<>(old == null ? List.of() : old.entries());
    List<Boolean> follows = followsUntrained.computeIfAbsent(task, t -> new ArrayList<>());
    entries.add(new Entry(version, Map.copyOf(positions), model));
    follows.add(allFromZero);
    List<Entry> evicted = new ArrayList<>();
    while (entries.size() > capacity) {
      evicted.add(entries.remove(0));
      follows.remove(0);
    }
    tasks.put(task, new TaskHistory(Collections.unmodifiableList(entries), follows.get(0)));
    // after the new history is visible, so no new reader finds an evicted model
    evicted.forEach(e -> onEvicted.accept(e.model()));
    return true;
  }

  @Override
  public Optional<ScoringModel> modelFor(String task, int partition, long offset) {
    TaskHistory h = tasks.get(task);
    if (h == null) {
      // No adapter version of this task is known at all: the base is what serves.
      return Optional.of(frozen);
    }
    List<Entry> entries = h.entries();
    for (int i = entries.size() - 1; i >= 0; i--) {
      Long pos = entries.get(i).positions().get(partition);
      if (pos != null && pos <= offset) {
        return Optional.of(entries.get(i).model());
      }
    }
    return h.oldestFollowsUntrained() ? Optional.of(frozen) : Optional.empty();
  }

  @Override
  public ScoringModel current(String task) {
    TaskHistory h = tasks.get(task);
    return h == null ? frozen : h.newest().model();
  }

  @Override
  public ScoringModel frozen() {
    return frozen;
  }

  /** Newest known version of {@code task}, 0 when none. */
  public long latestVersion(String task) {
    TaskHistory h = tasks.get(task);
    return h == null ? 0 : h.newest().version();
  }

  /** Versions of {@code task} currently retained, oldest first. */
  public List<Long> retainedVersions(String task) {
    TaskHistory h = tasks.get(task);
    return h == null ? List.of() : h.entries().stream().map(Entry::version).toList();
  }
}
