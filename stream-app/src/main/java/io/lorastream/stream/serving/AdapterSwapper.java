package io.lorastream.stream.serving;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedClassifier;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.lora.snapshot.AdapterDeletion;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotRejectedException;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The verify-merge-swap core of an inference consumer, free of Kafka so it can be fed snapshots
 * directly. {@link #offer} checks a snapshot (version newer than the active one, then checksum,
 * HMAC signature when a key is configured, base fingerprint, shapes, finiteness), folds it into the
 * base on the caller's thread, and only then publishes the resulting immutable {@link ServingModel}
 * with a single reference write. Request threads never lock and never see a half-built model; a
 * rejected snapshot is counted by reason and logged, and the previous version keeps serving.
 *
 * <p>It serves one adapter id, or every adapter ({@value #ALL_ADAPTERS}), each behind its own
 * reference. Before the first accepted snapshot an adapter is served by the frozen base as
 * version 0. Accepted versions are also recorded in a bounded {@link ModelHistory} so the
 * prequential evaluator can pick the newest version not trained on a given input offset.
 * Writers ({@code offer}) are serialized; every reader method is lock-free.
 */
public final class AdapterSwapper implements ActiveModels, ModelHistory {
  private static final Logger log = LoggerFactory.getLogger(AdapterSwapper.class);

  /** Adapter selector meaning "serve every adapter id found on the topic". */
  public static final String ALL_ADAPTERS = "*";
  /** Versions per adapter kept for {@link #modelFor}. */
  public static final int DEFAULT_HISTORY = 32;

  /** What {@link #offer} did with a snapshot. */
  public enum Outcome { APPLIED, IGNORED_NOT_NEWER, IGNORED_OTHER_ADAPTER, REJECTED, DELETED }

  private final BaseModel base;
  private final String adapterId; // or ALL_ADAPTERS
  private final byte[] hmacKey;
  private final LongSupplier clock;
  private final ServingEngine engine;
  private final MergedClassifier baseModel;
  private final ServingModel frozen;
  private final AtomicReference<ServingModel> primary; // null when serving every adapter
  private final Map<String, AtomicReference<ServingModel>> others = new ConcurrentHashMap<>();
  private final BoundedModelHistory history;
  /** Per adapter, the highest version an honoured deletion covered: such versions are never served. */
  private final Map<String, Long> deletedThrough = new ConcurrentHashMap<>();

  private final LongAdder applied = new LongAdder();
  private final LongAdder ignoredNotNewer = new LongAdder();
  private final LongAdder ignoredOther = new LongAdder();
  private final Map<RejectReason, LongAdder> rejected = new EnumMap<>(RejectReason.class);
  private volatile long lastSwapMillis;

  private final List<SwapListener> swapListeners = new CopyOnWriteArrayList<>();
  private final List<Consumer<ServingModel>> modelListeners = new CopyOnWriteArrayList<>();
  private final Object versionMonitor = new Object();

  /** Serves {@code adapterId} (or {@value #ALL_ADAPTERS}) with the default history on {@code examples.train}. */
  public AdapterSwapper(BaseModel base, String adapterId, byte[] hmacKeyOrNull) {
    this(base, adapterId, hmacKeyOrNull, "examples.train", DEFAULT_HISTORY, System::currentTimeMillis,
        ServingEngine.choose("auto", base));
  }

  /**
   * @param base the frozen base every snapshot must have been trained for (not closed here)
   * @param adapterId adapter served, or {@value #ALL_ADAPTERS}
   * @param hmacKeyOrNull when set, unsigned and wrongly signed snapshots are rejected
   * @param trainTopic name of {@code examples.train}, whose offsets snapshots record (for {@link #modelFor})
   * @param historySize versions per adapter kept for {@link #modelFor}
   * @param clock epoch-millis clock for activation times
   * @param engine what merges and serves each version: host loops or the base's DJL device
   */
  public AdapterSwapper(BaseModel base, String adapterId, byte[] hmacKeyOrNull, String trainTopic, int historySize,
      LongSupplier clock, ServingEngine engine) {
    this.base = Objects.requireNonNull(base, "base");
    this.adapterId = Objects.requireNonNull(adapterId, "adapterId");
    if (adapterId.isBlank()) {
      throw new IllegalArgumentException("adapterId must be an adapter id or " + ALL_ADAPTERS);
    }
    if (hmacKeyOrNull != null && hmacKeyOrNull.length == 0) {
      throw new IllegalArgumentException("an HMAC key must not be empty; pass null to accept unsigned snapshots");
    }
    this.hmacKey = hmacKeyOrNull == null ? null : hmacKeyOrNull.clone();
    this.clock = Objects.requireNonNull(clock, "clock");
    this.engine = Objects.requireNonNull(engine, "engine");
    this.baseModel = engine.ofBase(base);
    long now = clock.getAsLong();
    boolean all = ALL_ADAPTERS.equals(adapterId);
    this.frozen = ServingModel.base(all ? "" : adapterId, baseModel, now);
    this.primary = all ? null : new AtomicReference<>(frozen);
    this.history = new BoundedModelHistory(Objects.requireNonNull(trainTopic, "trainTopic"), historySize, frozen);
    for (RejectReason r : RejectReason.values()) {
      rejected.put(r, new LongAdder());
    }
  }

  /**
   * Verifies {@code s} and, if it is a newer valid version of a served adapter, makes it active.
   * Runs the merge on the calling thread: call it from the subscriber, never from a request.
   */
  public synchronized Outcome offer(AdapterSnapshot s) {
    String id = s.getAdapterId();
    if (id == null || !serves(id)) {
      ignoredOther.increment();
      return Outcome.IGNORED_OTHER_ADAPTER;
    }
    ServingModel previous = current(id);
    long version = s.getVersion();
    if (version <= Math.max(previous.version(), deletedThrough.getOrDefault(id, 0L))) {
      ignoredNotNewer.increment();
      log.debug("Ignoring adapter {} v{}: not newer than active v{}", id, version, previous.version());
      return Outcome.IGNORED_NOT_NEWER;
    }
    DecodedAdapter decoded;
    MergedClassifier merged;
    try {
      decoded = SnapshotCodec.decode(s, base, hmacKey);
      merged = decoded.merge(base, engine);
    } catch (SnapshotRejectedException e) {
      reject(RejectReason.of(e.reason()), e.getMessage(), previous);
      return Outcome.REJECTED;
    } catch (RuntimeException e) {
      reject(RejectReason.INVALID, "INVALID: snapshot " + id + " v" + version + ": " + e, previous);
      return Outcome.REJECTED;
    }
    long now = clock.getAsLong();
    long createdAt = decoded.createdAt() == null ? 0 : decoded.createdAt().toEpochMilli();
    ServingModel next = new ServingModel(id, version, merged, now, createdAt, decoded.sourceOffsets());
    // The single write that makes the version visible to requests.
    referenceFor(id).set(next);
    lastSwapMillis = now;
    applied.increment();
    history.record(id, version, decoded.sourceOffsets(), next);
    synchronized (versionMonitor) {
      versionMonitor.notifyAll();
    }
    notifyListeners(next);
    log.info("Adapter {} v{} active (ranks {}, trained on {} examples, serving on {}), replacing v{}", id, version,
        merged.ranks(), decoded.examplesSeen(), merged.engine(), previous.version());
    return Outcome.APPLIED;
  }

  /**
   * Handles a tombstone keyed {@code id}, classified by {@link AdapterDeletion}. An honoured
   * deletion makes the adapter serve the frozen base again, and no version it covers is served
   * afterwards (a bare tombstone without a key covers every version seen so far); with a key, an
   * unsigned or forged one is counted and ignored, and the active version keeps serving.
   */
  public synchronized Outcome delete(String id, AdapterDeletion.Verdict verdict) {
    if (id == null || !serves(id)) {
      ignoredOther.increment();
      return Outcome.IGNORED_OTHER_ADAPTER;
    }
    ServingModel previous = current(id);
    if (!verdict.honoured()) {
      reject(RejectReason.FORGED_DELETION, "FORGED_DELETION: deletion of " + id + " ignored: " + verdict.detail(),
          previous);
      return Outcome.REJECTED;
    }
    long through = verdict.coveredThrough(previous.version());
    deletedThrough.merge(id, through, Math::max);
    if (previous.version() == 0 || previous.version() > through) {
      return Outcome.IGNORED_NOT_NEWER; // nothing served is covered: a stale deletion
    }
    ServingModel base = ServingModel.base(id, baseModel, clock.getAsLong());
    referenceFor(id).set(base);
    lastSwapMillis = base.activatedAtMillis();
    synchronized (versionMonitor) {
      versionMonitor.notifyAll();
    }
    notifyListeners(base);
    log.warn("Adapter {} deleted through v{} ({}); serving the frozen base until a newer version arrives", id, through,
        verdict.detail());
    return Outcome.DELETED;
  }

  /** Counts a record that could not even be decoded into a snapshot (the subscriber's deserializer failed). */
  public void rejectUndecodable(String where, Exception cause) {
    rejected.get(RejectReason.UNDECODABLE).increment();
    log.warn("Rejected undecodable adapter record at {}: {}; the active version(s) keep serving", where, cause.toString());
  }

  private void reject(RejectReason reason, String message, ServingModel previous) {
    rejected.get(reason).increment();
    // The message starts with the reason (e.g. "BAD_SIGNATURE: snapshot t v7: ...").
    log.warn("Rejected adapter {}; still serving {} v{}", message, previous.adapterId(), previous.version());
  }

  private void notifyListeners(ServingModel m) {
    for (SwapListener l : swapListeners) {
      try {
        l.onSwap(m.adapterId(), m.version(), m.activatedAtMillis());
      } catch (RuntimeException e) {
        log.warn("Swap listener {} failed on {} v{}", l, m.adapterId(), m.version(), e);
      }
    }
    for (Consumer<ServingModel> l : modelListeners) {
      try {
        l.accept(m);
      } catch (RuntimeException e) {
        log.warn("Model listener {} failed on {} v{}", l, m.adapterId(), m.version(), e);
      }
    }
  }

  private boolean serves(String id) {
    return primary == null ? !id.isEmpty() : adapterId.equals(id);
  }

  private AtomicReference<ServingModel> referenceFor(String id) {
    if (primary != null) {
      return primary;
    }
    return others.computeIfAbsent(id, k -> new AtomicReference<>(ServingModel.base(k, baseModel, clock.getAsLong())));
  }

  /** Registers a listener called after every swap (on the thread that called {@link #offer}). */
  public void onSwap(SwapListener listener) {
    swapListeners.add(Objects.requireNonNull(listener));
  }

  /** Registers a listener that receives every newly active model (e.g. to record it elsewhere). */
  public void onActivated(Consumer<ServingModel> listener) {
    modelListeners.add(Objects.requireNonNull(listener));
  }

  /** The engine that merges and serves every version. */
  public ServingEngine engine() {
    return engine;
  }

  /** The configured adapter id, or {@value #ALL_ADAPTERS}. */
  public String adapterId() {
    return adapterId;
  }

  /** The active model of the configured adapter. */
  public ServingModel current() {
    if (primary == null) {
      throw new IllegalStateException("this consumer serves every adapter; call current(adapterId)");
    }
    return primary.get();
  }

  /** The active model of {@code id}: its newest accepted version, or the frozen base (version 0). */
  @Override
  public ServingModel current(String id) {
    if (primary != null) {
      return adapterId.equals(id) ? primary.get() : ServingModel.base(id, baseModel, frozen.activatedAtMillis());
    }
    AtomicReference<ServingModel> ref = others.get(id);
    // Unknown ids are answered with a fresh base wrapper, not stored: request tasks must not grow state.
    return ref != null ? ref.get() : ServingModel.base(id, baseModel, frozen.activatedAtMillis());
  }

  @Override
  public Optional<ServingModel> forTask(String task) {
    if (primary != null) {
      return task == null || task.isEmpty() || adapterId.equals(task) ? Optional.of(primary.get()) : Optional.empty();
    }
    return task == null || task.isEmpty() ? Optional.empty() : Optional.of(current(task));
  }

  /** Active version of the configured adapter (0 = frozen base). */
  public long activeVersion() {
    return current().version();
  }

  public long activeVersion(String id) {
    return current(id).version();
  }

  /** Epoch millis of the most recent swap of any adapter; 0 before the first. */
  public long lastSwapMillis() {
    return lastSwapMillis;
  }

  /** Waits until the configured adapter serves version {@code version} or newer; false on timeout. */
  public boolean awaitVersion(long version, Duration timeout) throws InterruptedException {
    if (primary == null) {
      throw new IllegalStateException("this consumer serves every adapter; call awaitVersion(adapterId, version, timeout)");
    }
    return awaitVersion(adapterId, version, timeout);
  }

  /** Waits until {@code id} serves version {@code version} or newer; false on timeout. */
  public boolean awaitVersion(String id, long version, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (versionMonitor) {
      while (current(id).version() < version) {
        long leftNanos = deadline - System.nanoTime();
        if (leftNanos <= 0) {
          return false;
        }
        versionMonitor.wait(Math.max(1, leftNanos / 1_000_000));
      }
      return true;
    }
  }

  @Override
  public Optional<ScoringModel> modelFor(String task, int partition, long offset) {
    return history.modelFor(task, partition, offset);
  }

  @Override
  public ServingModel frozen() {
    return frozen;
  }

  /** Versions of {@code id} kept for {@link #modelFor}, oldest first. */
  public List<Long> retainedVersions(String id) {
    return history.retainedVersions(id);
  }

  public long applied() {
    return applied.sum();
  }

  public long ignoredNotNewer() {
    return ignoredNotNewer.sum();
  }

  public long ignoredOtherAdapter() {
    return ignoredOther.sum();
  }

  public long rejected(RejectReason reason) {
    return rejected.get(reason).sum();
  }

  public long rejectedTotal() {
    return rejected.values().stream().mapToLong(LongAdder::sum).sum();
  }

  /** A consistent-enough copy of every counter. */
  public SwapStats stats() {
    Map<RejectReason, Long> r = new EnumMap<>(RejectReason.class);
    rejected.forEach((k, v) -> r.put(k, v.sum()));
    return new SwapStats(applied.sum(), ignoredNotNewer.sum(), ignoredOther.sum(), r);
  }

  /** Whether snapshots must carry a valid HMAC signature. */
  public boolean requiresSignature() {
    return hmacKey != null;
  }

  /** The verification key (not copied: the subscriber only reads it), null without signing. */
  byte[] hmacKey() {
    return hmacKey;
  }
}
