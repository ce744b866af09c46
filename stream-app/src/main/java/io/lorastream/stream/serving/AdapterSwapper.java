package io.lorastream.stream.serving;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.RolloutMode;
import io.lorastream.avro.RolloutState;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedClassifier;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.lora.snapshot.AdapterDeletion;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotRejectedException;
import io.lorastream.stream.rollout.RolloutRules;
import io.lorastream.stream.rollout.RolloutSigning;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.apache.kafka.common.utils.Utils;
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
 * version 0. Versions that become active are also recorded in a bounded {@link ModelHistory} so
 * the prequential evaluator can pick the newest served version not trained on a given input offset.
 * Writers ({@code offer}) are serialized; every reader method is lock-free.
 *
 * <p>Rollouts: with a {@link RolloutState} for an adapter (from {@code adapters.control}), the
 * served version is the state's pinned version, else its active one (in auto mode the newest
 * verified one), and the candidate serves the canary share; without one, {@code rollout.mode}
 * decides: auto serves the newest version (as without rollouts), gated and manual the frozen base
 * until the controller promotes something. Every verified version is kept merged while the state
 * retains it, so a promotion, rollback or pin is one reference write once its state arrives.
 */
public final class AdapterSwapper implements ActiveModels, ModelHistory {
  private static final Logger log = LoggerFactory.getLogger(AdapterSwapper.class);

  /** Adapter selector meaning "serve every adapter id found on the topic". */
  public static final String ALL_ADAPTERS = "*";
  /** Versions per adapter kept for {@link #modelFor}. */
  public static final int DEFAULT_HISTORY = 32;
  /** Versions kept merged for an adapter that has no rollout state yet, under gated or manual. */
  static final int UNDECIDED_KEPT = 8;

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

  /** Verified, merged versions per adapter that a rollout may route to, by version. */
  private final Map<String, NavigableMap<Long, ServingModel>> prepared = new ConcurrentHashMap<>();
  private final Map<String, RolloutState> states = new ConcurrentHashMap<>();
  private final Map<String, AtomicReference<Canary>> canaries = new ConcurrentHashMap<>();
  private volatile RolloutMode defaultMode = RolloutMode.AUTO;
  private volatile MergeBudget budget = MergeBudget.unlimited();
  /** While true (a restarting consumer catching up), versions are prepared but nothing is routed. */
  private volatile boolean holding;
  private volatile String consumerId = "";

  /** The candidate serving a share of requests (or every request on a named consumer). */
  public record Canary(ServingModel model, double share, boolean everyRequest) {
    /** Whether the request with this id goes to the candidate: a stable hash of the id against the share. */
    public boolean takes(String requestId) {
      if (everyRequest) {
        return true;
      }
      if (share <= 0 || requestId == null) {
        return false;
      }
      double u = Utils.toPositive(Utils.murmur2(requestId.getBytes(StandardCharsets.UTF_8))) / 2147483648.0;
      return u < share;
    }
  }

  /** A model chosen for one request, and the rollout role it plays. */
  public record Routed(ServingModel model, String role) {
    public static final String ACTIVE = "active";
    public static final String CANARY = "canary";
  }

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
    this.history = new BoundedModelHistory(Objects.requireNonNull(trainTopic, "trainTopic"), historySize, frozen,
        this::leftHistory);
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
    if (version <= Math.max(newest(id), deletedThrough.getOrDefault(id, 0L))) {
      ignoredNotNewer.increment();
      log.debug("Ignoring adapter {} v{}: not newer than v{}", id, version, newest(id));
      return Outcome.IGNORED_NOT_NEWER;
    }
    ServingModel next = verify(s, previous);
    if (next == null) {
      return Outcome.REJECTED;
    }
    preparedFor(id).put(version, next);
    if (holding) {
      return Outcome.APPLIED; // routed once the consumer has caught up with every topic
    }
    if (followsNewest(id)) {
      activate(next, previous, "newest");
    } else {
      route(id);
    }
    prune(id);
    return Outcome.APPLIED;
  }

  /**
   * A retained copy of an earlier version (from {@code adapters.retained}): verified and kept merged
   * for rollouts, never made active by itself. Returns whether it was accepted.
   */
  public synchronized boolean offerRetained(AdapterSnapshot s) {
    String id = s.getAdapterId();
    if (id == null || !serves(id)) {
      return false;
    }
    if (preparedFor(id).containsKey(s.getVersion()) || s.getVersion() <= deletedThrough.getOrDefault(id, 0L)) {
      return true;
    }
    RolloutState st = states.get(id);
    if (st != null && released(st, s.getVersion())) {
      return false; // released by the controller since: never served again
    }
    ServingModel m = verify(s, current(id));
    if (m == null) {
      return false;
    }
    preparedFor(id).put(s.getVersion(), m);
    route(id);
    prune(id);
    return true;
  }

  /** Verifies and merges one snapshot; null (counted and logged) when it is rejected. */
  private ServingModel verify(AdapterSnapshot s, ServingModel previous) {
    String id = s.getAdapterId();
    long version = s.getVersion();
    DecodedAdapter decoded;
    MergedClassifier merged;
    try {
      decoded = SnapshotCodec.decode(s, base, hmacKey);
      MergeBudget b = budget;
      if (b.bounded()) {
        LazyMerged lazy = new LazyMerged(decoded, base, engine, baseModel, b);
        lazy.warm(); // merged here, off the request path; the budget may evict it later
        merged = lazy;
      } else {
        merged = decoded.merge(base, engine);
      }
    } catch (SnapshotRejectedException e) {
      reject(RejectReason.of(e.reason()), e.getMessage(), previous);
      return null;
    } catch (RuntimeException e) {
      reject(RejectReason.INVALID, "INVALID: snapshot " + id + " v" + version + ": " + e, previous);
      return null;
    }
    long createdAt = decoded.createdAt() == null ? 0 : decoded.createdAt().toEpochMilli();
    log.debug("Adapter {} v{} verified (ranks {}, trained on {} examples)", id, version, merged.ranks(),
        decoded.examplesSeen());
    return new ServingModel(id, version, merged, clock.getAsLong(), createdAt, decoded.sourceOffsets());
  }

  /** Makes {@code next} the model ordinary requests of its adapter get. */
  private void activate(ServingModel next, ServingModel previous, String why) {
    long now = clock.getAsLong();
    ServingModel m = next.activatedAtMillis() == now ? next : next.activatedAt(now);
    // The single write that makes the version visible to requests.
    referenceFor(m.adapterId()).set(m);
    // The evaluator scores with versions that served: a candidate the gate rejects never enters
    // the history, and a version served again after a rollback is not newer, so it is not re-added.
    history.record(m.adapterId(), m.version(), m.sourceOffsets(), m);
    lastSwapMillis = now;
    applied.increment();
    synchronized (versionMonitor) {
      versionMonitor.notifyAll();
    }
    notifyListeners(m);
    log.info("Adapter {} v{} active ({}; ranks {}, serving on {}), replacing v{}", m.adapterId(), m.version(), why,
        m.model().ranks(), m.model().engine(), previous.version());
  }

  /**
   * Applies the controller's newest state for an adapter. With a key, an unsigned or forged state
   * is counted and ignored; an older revision than the one applied is ignored too.
   */
  public synchronized boolean applyState(RolloutState st) {
    String id = st.getAdapterId();
    if (id == null || !serves(id)) {
      return false;
    }
    RolloutSigning.Verdict v = RolloutSigning.verify(st, hmacKey);
    if (v != RolloutSigning.Verdict.OK) {
      rejected.get(RejectReason.FORGED_STATE).increment();
      log.warn("Ignoring {} rollout state of {} (revision {}); still serving v{}", v, id, st.getRevision(),
          current(id).version());
      return false;
    }
    RolloutState known = states.get(id);
    if (known != null && st.getRevision() <= known.getRevision()) {
      return false;
    }
    states.put(id, st);
    route(id); // a swap it makes wakes the waiters
    prune(id);
    return true;
  }

  /** Whether {@code id} serves its newest verified version: auto mode and no pin. */
  private boolean followsNewest(String id) {
    RolloutState st = states.get(id);
    if (st == null) {
      return defaultMode == RolloutMode.AUTO;
    }
    return st.getMode() == RolloutMode.AUTO && st.getPinnedVersion() == null;
  }

  /**
   * Holds routing while a restarting consumer reads what it already missed, so that it goes
   * straight to what its rollout states say instead of briefly serving the newest snapshot it
   * reads before the state that pins or rolls it back; releasing routes every adapter.
   */
  public synchronized void holdRouting(boolean hold) {
    this.holding = hold;
    if (!hold) {
      Set<String> ids = new java.util.TreeSet<>(prepared.keySet());
      ids.addAll(states.keySet());
      for (String id : ids) {
        route(id);
        prune(id);
      }
    }
  }

  /** Points the active reference and the canary at what the adapter's state says they should be. */
  private void route(String id) {
    if (holding) {
      return;
    }
    RolloutState st = states.get(id);
    ServingModel previous = current(id);
    long target;
    if (st == null) {
      target = defaultMode == RolloutMode.AUTO ? newest(id) : 0;
    } else if (st.getPinnedVersion() != null) {
      target = st.getPinnedVersion();
    } else if (st.getMode() == RolloutMode.AUTO) {
      target = Math.max(newest(id), st.getActiveVersion());
    } else {
      target = st.getActiveVersion();
    }
    ServingModel next = target == 0 ? ServingModel.base(id, baseModel, clock.getAsLong())
        : preparedFor(id).get(target);
    if (next == null) {
      log.info("Adapter {}: the rollout serves v{}, whose snapshot has not arrived yet; still serving v{}", id,
          target, previous.version());
    } else if (next.version() != previous.version()) {
      activate(next, previous, st == null ? "rollout mode " + defaultMode.name().toLowerCase(java.util.Locale.ROOT)
          : "rollout revision " + st.getRevision());
    }
    Canary canary = null;
    Optional<Long> cv = st == null ? Optional.empty() : RolloutRules.canary(st);
    if (cv.isPresent() && cv.get() != current(id).version()) {
      boolean named = st.getCanaryConsumers().contains(consumerId);
      ServingModel cm = preparedFor(id).get(cv.get());
      if (cm != null && (named || st.getCanaryShare() > 0)) {
        canary = new Canary(cm, st.getCanaryShare(), named);
      }
    }
    AtomicReference<Canary> ref = canaries.computeIfAbsent(id, k -> new AtomicReference<>());
    Canary was = ref.getAndSet(canary);
    if (canary != null && (was == null || was.model().version() != canary.model().version()
        || was.share() != canary.share() || was.everyRequest() != canary.everyRequest())) {
      log.info("Adapter {}: candidate v{} serves {} as canary", id, canary.model().version(),
          canary.everyRequest() ? "every request here" : Math.round(canary.share() * 1000) / 10.0 + " % of requests");
    }
  }

  /** Drops merged versions no rollout can route to any more (not while catching up: states may follow). */
  private void prune(String id) {
    if (holding) {
      return;
    }
    NavigableMap<Long, ServingModel> p = preparedFor(id);
    RolloutState st = states.get(id);
    Set<Long> keep = new java.util.HashSet<>();
    keep.add(current(id).version());
    if (!p.isEmpty()) {
      keep.add(p.lastKey());
    }
    if (st != null) {
      keep.addAll(RolloutRules.retainedOrServed(st));
    } else if (defaultMode != RolloutMode.AUTO) {
      // No state yet, so any recent version may be the one the controller promotes first.
      keep.addAll(p.descendingKeySet().stream().limit(UNDECIDED_KEPT).toList());
    }
    // A version newer than the state is one the controller has not decided on yet: keep it.
    long decidedThrough = st == null ? Long.MAX_VALUE : st.getLatestVersion();
    List<Long> drop = p.keySet().stream().filter(v -> !keep.contains(v) && v <= decidedThrough).toList();
    List<Long> inHistory = history.retainedVersions(id);
    for (long v : drop) {
      ServingModel m = p.remove(v);
      if (m != null && !inHistory.contains(v)) {
        m.retire(); // neither routable nor in the evaluator's history: free what it holds
      }
    }
  }

  /** A version left the evaluator's history: retire it unless a rollout can still route to it. */
  private void leftHistory(ScoringModel m) {
    if (m instanceof ServingModel sm) {
      NavigableMap<Long, ServingModel> p = prepared.get(sm.adapterId());
      if (p != null && p.containsKey(sm.version())) {
        return;
      }
    }
    m.retire();
  }

  /** Whether the controller has let {@code version} go: known to the state and no longer retained. */
  private static boolean released(RolloutState st, long version) {
    if (RolloutRules.retainedOrServed(st).contains(version)) {
      return false;
    }
    return version <= st.getLatestVersion();
  }

  private NavigableMap<Long, ServingModel> preparedFor(String id) {
    return prepared.computeIfAbsent(id, k -> new java.util.concurrent.ConcurrentSkipListMap<>());
  }

  /** Newest verified version of {@code id} (0 before any). */
  private long newest(String id) {
    NavigableMap<Long, ServingModel> p = prepared.get(id);
    long fromPrepared = p == null || p.isEmpty() ? 0 : p.lastKey();
    return Math.max(fromPrepared, history.latestVersion(id));
  }

  /**
   * Bounds the memory of merged versions (0 bytes: no bound); past it, the least recently used
   * versions are kept as A and B only and merged again by their next request. Set it before the
   * first snapshot.
   */
  public synchronized void mergeBudget(MergeBudget b) {
    this.budget = Objects.requireNonNull(b, "budget");
  }

  /** The merge budget and its counters. */
  public MergeBudget mergeBudget() {
    return budget;
  }

  /** Rollout defaults of this consumer: the mode of adapters without a state, and its id for named canaries. */
  public synchronized void configureRollout(RolloutMode mode, String consumerId) {
    this.defaultMode = Objects.requireNonNull(mode, "mode");
    this.consumerId = consumerId == null ? "" : consumerId;
    for (String id : List.copyOf(prepared.keySet())) {
      route(id);
    }
  }

  /**
   * The model for one request of {@code task}: the candidate when the request falls in the canary
   * share (by a stable hash of its id), else the served version. Reads each reference once.
   */
  public Optional<Routed> forRequest(String task, String requestId) {
    Optional<ServingModel> served = forTask(task);
    if (served.isEmpty()) {
      return Optional.empty();
    }
    String id = served.get().adapterId();
    AtomicReference<Canary> ref = canaries.get(id);
    Canary c = ref == null ? null : ref.get();
    if (c != null && c.takes(requestId)) {
      return Optional.of(new Routed(c.model(), Routed.CANARY));
    }
    return served.map(m -> new Routed(m, Routed.ACTIVE));
  }

  /** The version each adapter serves now, for every adapter this consumer has activated a version of. */
  public Map<String, Long> servedVersions() {
    Map<String, Long> out = new TreeMap<>();
    if (primary != null) {
      out.put(adapterId, primary.get().version());
    } else {
      others.forEach((id, ref) -> out.put(id, ref.get().version()));
    }
    return out;
  }

  /** The candidate serving as canary for {@code id} here, if any. */
  public Optional<Canary> canary(String id) {
    AtomicReference<Canary> ref = canaries.get(id);
    return ref == null ? Optional.empty() : Optional.ofNullable(ref.get());
  }

  /** Versions of {@code id} kept merged for rollouts, ascending. */
  public List<Long> preparedVersions(String id) {
    NavigableMap<Long, ServingModel> p = prepared.get(id);
    return p == null ? List.of() : List.copyOf(p.keySet());
  }

  /** Waits until {@code id} serves exactly version {@code version} (rollbacks go down); false on timeout. */
  public boolean awaitServing(String id, long version, Duration timeout) throws InterruptedException {
    return awaitServed(() -> current(id).version() == version, timeout);
  }

  /** Waits on every swap until {@code served} holds; false on timeout. */
  private boolean awaitServed(java.util.function.BooleanSupplier served, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (versionMonitor) {
      while (!served.getAsBoolean()) {
        long leftNanos = deadline - System.nanoTime();
        if (leftNanos <= 0) {
          return false;
        }
        versionMonitor.wait(Math.max(1, leftNanos / 1_000_000));
      }
      return true;
    }
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
    preparedFor(id).headMap(through, true).clear();
    ServingModel base = ServingModel.base(id, baseModel, clock.getAsLong());
    referenceFor(id).set(base);
    AtomicReference<Canary> canary = canaries.get(id);
    if (canary != null && canary.get() != null && canary.get().model().version() <= through) {
      canary.set(null);
    }
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
    return awaitServed(() -> current(id).version() >= version, timeout);
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
