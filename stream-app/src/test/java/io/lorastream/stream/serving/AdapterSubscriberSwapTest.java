package io.lorastream.stream.serving;

import static io.lorastream.stream.serving.VersionedAdapters.X;
import static io.lorastream.stream.serving.VersionedAdapters.flippedByte;
import static io.lorastream.stream.serving.VersionedAdapters.mismatch;
import static io.lorastream.stream.serving.VersionedAdapters.range;
import static io.lorastream.stream.serving.VersionedAdapters.resealed;
import static io.lorastream.stream.serving.VersionedAdapters.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LayerAdapter;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.stream.serving.AdapterSwapper.Outcome;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The verify-and-swap logic of an inference consumer, fed snapshots directly (no Kafka): atomic
 * swaps under concurrent requests, rejection of every kind of bad snapshot with the right reason
 * while the previous version keeps serving, and versions that are not newer being ignored.
 */
class AdapterSubscriberSwapTest {
  private static final String ID = "task-a";
  private static final byte[] KEY = "a-shared-secret-of-32-bytes-long".getBytes(StandardCharsets.UTF_8);
  private static final byte[] OTHER_KEY = "an-attacker-guessed-another-key!".getBytes(StandardCharsets.UTF_8);

  private static BaseModel base;
  private static BaseModel otherBase;

  @BeforeAll
  static void bases() {
    base = VersionedAdapters.zeroBase();
    otherBase = VersionedAdapters.otherBase();
    assertThat(base.fingerprint()).isNotEqualTo(otherBase.fingerprint());
  }

  @AfterAll
  static void close() {
    base.close();
    otherBase.close();
  }

  @Test
  void concurrentRequestsDuringHundredsOfSwapsNeverSeeAMixedOrUnpublishedVersion() throws Exception {
    AdapterSwapper swapper = new AdapterSwapper(base, ID, null);
    Set<Long> published = ConcurrentHashMap.newKeySet();
    published.add(0L);
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    Set<Long> seen = ConcurrentHashMap.newKeySet();
    AtomicLong predictions = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    int readers = 3;
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < readers; i++) {
      Thread t = new Thread(() -> {
        long last = -1;
        while (!stop.get()) {
          ServingModel m = swapper.forTask(ID).orElseThrow(); // one read per request
          float[] p = m.predictProba(X);
          String bad = mismatch(m.version(), p);
          if (bad != null) {
            failures.add(bad);
          }
          if (!published.contains(m.version())) {
            failures.add("v" + m.version() + " was never published");
          }
          if (m.version() < last) {
            failures.add("version went backwards from v" + last + " to v" + m.version());
          }
          last = m.version();
          seen.add(m.version());
          predictions.incrementAndGet();
        }
      }, "request-" + i);
      threads.add(t);
      t.start();
    }
    int versions = 300;
    for (long v = 1; v <= versions; v++) {
      published.add(v);
      assertThat(swapper.offer(snapshot(ID, v, base))).isEqualTo(Outcome.APPLIED);
      if (v % 25 == 0) {
        // Adversarial traffic mixed into the swaps: neither may ever be served.
        assertThat(swapper.offer(snapshot(ID, v - 3, base))).isEqualTo(Outcome.IGNORED_NOT_NEWER);
        assertThat(swapper.offer(flippedByte(snapshot(ID, v + 1, base)))).isEqualTo(Outcome.REJECTED);
      }
      if (v % 10 == 0) {
        // At most one in-flight request per reader started before this swap, so once readers+1
        // more have finished, at least one of them ran entirely against version v.
        long target = predictions.get() + readers + 1;
        await().atMost(Duration.ofSeconds(20)).until(() -> predictions.get() >= target);
      }
    }
    stop.set(true);
    for (Thread t : threads) {
      t.join(10_000);
    }
    assertThat(failures).isEmpty();
    assertThat(swapper.activeVersion()).isEqualTo(versions);
    assertThat(swapper.applied()).isEqualTo(versions);
    assertThat(swapper.ignoredNotNewer()).isEqualTo(versions / 25);
    assertThat(swapper.rejected(RejectReason.CHECKSUM)).isEqualTo(versions / 25);
    for (long v = 10; v <= versions; v += 10) {
      assertThat(seen).as("requests served by v%d", v).contains(v);
    }
  }

  @Test
  void everyKindOfBadSnapshotIsRejectedWithItsReasonAndTheActiveVersionKeepsServing() {
    AdapterSwapper swapper = new AdapterSwapper(base, ID, null);
    for (long v = 1; v <= 5; v++) {
      assertThat(swapper.offer(snapshot(ID, v, base))).isEqualTo(Outcome.APPLIED);
    }
    AdapterSnapshot next = snapshot(ID, 6, base);
    Map<RejectReason, AdapterSnapshot> bad = Map.of(
        RejectReason.CHECKSUM, flippedByte(next),
        RejectReason.FINGERPRINT, snapshot(ID, 6, otherBase.fingerprint(), List.of(), null),
        RejectReason.SHAPE, resealed(next, s -> s.getLayers().get(1).setInFeatures(3)),
        RejectReason.NON_FINITE, resealed(next, s -> s.getLayers().get(0).setB(VersionedAdapters.le(new float[] {Float.NaN, 1f}))));
    for (Map.Entry<RejectReason, AdapterSnapshot> e : bad.entrySet()) {
      long before = swapper.rejected(e.getKey());
      assertThat(swapper.offer(e.getValue())).as(e.getKey().name()).isEqualTo(Outcome.REJECTED);
      assertThat(swapper.rejected(e.getKey())).as(e.getKey().name()).isEqualTo(before + 1);
      assertStillServing(swapper, 5);
    }
    // A shape that only the byte lengths betray.
    AdapterSnapshot shortA = resealed(next, s -> {
      LayerAdapter l = s.getLayers().get(0);
      l.setA(VersionedAdapters.le(new float[] {1f}));
    });
    assertThat(swapper.offer(shortA)).isEqualTo(Outcome.REJECTED);
    assertThat(swapper.rejected(RejectReason.SHAPE)).isEqualTo(2);
    assertStillServing(swapper, 5);

    assertThat(swapper.stats().rejectedTotal()).isEqualTo(5);
    assertThat(swapper.applied()).isEqualTo(5);
    assertThat(swapper.offer(next)).isEqualTo(Outcome.APPLIED);
    assertStillServing(swapper, 6);
  }

  @Test
  void withAKeyUnsignedAndForgedSnapshotsAreRejectedAndSignedOnesServe() {
    AdapterSwapper swapper = new AdapterSwapper(base, ID, KEY);
    assertThat(swapper.requiresSignature()).isTrue();
    assertThat(swapper.offer(snapshot(ID, 1, base.fingerprint(), List.of(), KEY))).isEqualTo(Outcome.APPLIED);

    assertThat(swapper.offer(snapshot(ID, 2, base))).isEqualTo(Outcome.REJECTED);
    assertThat(swapper.rejected(RejectReason.UNSIGNED)).isEqualTo(1);
    assertStillServing(swapper, 1);

    assertThat(swapper.offer(snapshot(ID, 2, base.fingerprint(), List.of(), OTHER_KEY))).isEqualTo(Outcome.REJECTED);
    assertThat(swapper.rejected(RejectReason.BAD_SIGNATURE)).isEqualTo(1);
    assertStillServing(swapper, 1);

    // Tampered content with a recomputed checksum but the genuine old signature: a forgery too.
    AdapterSnapshot genuine = snapshot(ID, 2, base.fingerprint(), List.of(), KEY);
    AdapterSnapshot tampered = resealed(genuine, s -> s.setVersion(99));
    tampered.setSignature(genuine.getSignature());
    assertThat(swapper.offer(tampered)).isEqualTo(Outcome.REJECTED);
    assertThat(swapper.rejected(RejectReason.BAD_SIGNATURE)).isEqualTo(2);
    assertStillServing(swapper, 1);

    assertThat(swapper.offer(genuine)).isEqualTo(Outcome.APPLIED);
    assertStillServing(swapper, 2);
    assertThat(swapper.stats().rejectedTotal()).isEqualTo(3);

    // Without a key, a consumer still verifies everything else and accepts signed snapshots.
    AdapterSwapper keyless = new AdapterSwapper(base, ID, null);
    assertThat(keyless.offer(genuine)).isEqualTo(Outcome.APPLIED);
  }

  @Test
  void olderAndEqualVersionsAreIgnoredAndCounted() {
    AdapterSwapper swapper = new AdapterSwapper(base, ID, null);
    assertThat(swapper.current().version()).isZero();
    assertThat(mismatch(0, swapper.current().predictProba(X))).isNull();
    assertThat(swapper.offer(snapshot(ID, 5, base))).isEqualTo(Outcome.APPLIED);
    assertThat(swapper.offer(snapshot(ID, 5, base))).isEqualTo(Outcome.IGNORED_NOT_NEWER);
    assertThat(swapper.offer(snapshot(ID, 3, base))).isEqualTo(Outcome.IGNORED_NOT_NEWER);
    assertThat(swapper.offer(snapshot("task-b", 9, base))).isEqualTo(Outcome.IGNORED_OTHER_ADAPTER);
    assertThat(swapper.ignoredNotNewer()).isEqualTo(2);
    assertThat(swapper.ignoredOtherAdapter()).isEqualTo(1);
    assertThat(swapper.applied()).isEqualTo(1);
    assertStillServing(swapper, 5);
    assertThat(swapper.forTask("task-b")).isEmpty();
    // The detector behind every check here tells neighbouring versions apart.
    assertThat(mismatch(4, swapper.current().predictProba(X))).isNotNull();
    assertThat(mismatch(6, swapper.current().predictProba(X))).isNotNull();
  }

  /**
   * The DJL engine serves what the host engine serves, version by version, and a version that
   * leaves the history frees its device tensors while the retained ones keep serving.
   */
  @Test
  void djlEngineServesTheSameVersionsAndFreesTheOnesThatLeaveTheHistory() {
    AdapterSwapper djl = new AdapterSwapper(base, ID, null, VersionedAdapters.TRAIN_TOPIC, 4, () -> 1L,
        io.lorastream.lora.model.ServingEngine.DJL);
    AdapterSwapper java = new AdapterSwapper(base, ID, null, VersionedAdapters.TRAIN_TOPIC, 4, () -> 1L,
        io.lorastream.lora.model.ServingEngine.JAVA);
    List<ServingModel> served = new java.util.ArrayList<>();
    for (int v = 1; v <= 6; v++) {
      AdapterSnapshot s = snapshot(ID, v, base.fingerprint(), List.of(range(0, 10L * (v - 1), 10L * v)), null);
      assertThat(djl.offer(s)).isEqualTo(AdapterSwapper.Outcome.APPLIED);
      assertThat(java.offer(s)).isEqualTo(AdapterSwapper.Outcome.APPLIED);
      float[] a = djl.current().predictProba(X);
      float[] b = java.current().predictProba(X);
      for (int i = 0; i < a.length; i++) {
        assertThat(a[i]).as("v%d class %d", v, i).isCloseTo(b[i], org.assertj.core.data.Offset.offset(1e-5f));
      }
      assertThat(djl.current().engine()).isEqualTo("djl:cpu()");
      served.add(djl.current());
    }
    assertThat(djl.retainedVersions(ID)).containsExactly(3L, 4L, 5L, 6L);
    for (ServingModel m : served) {
      boolean freed = ((io.lorastream.lora.model.DeviceMergedModel) m.model()).released();
      assertThat(freed).as("v%d freed", m.version()).isEqualTo(m.version() <= 2);
    }
    assertThat(djl.modelFor(ID, 0, 35)).get().extracting(ScoringModel::version).isEqualTo(3L);
    assertThat(djl.current().predictProba(X)).hasSize(base.numClasses());
  }

  @Test
  void listenersAwaitersAndServingModelReportEachSwap() throws Exception {
    AtomicLong clock = new AtomicLong(1_000);
    AdapterSwapper swapper = new AdapterSwapper(base, ID, null, VersionedAdapters.TRAIN_TOPIC, 4, clock::get,
        io.lorastream.lora.model.ServingEngine.JAVA);
    List<String> swaps = new CopyOnWriteArrayList<>();
    swapper.onSwap((id, v, at) -> swaps.add(id + ":" + v + "@" + at));
    swapper.onSwap((id, v, at) -> {
      throw new IllegalStateException("a broken listener must not stop swaps");
    });
    assertThat(swapper.awaitVersion(1, Duration.ofMillis(20))).isFalse();
    assertThat(swapper.lastSwapMillis()).isZero();

    clock.set(2_000);
    swapper.offer(snapshot(ID, 1, base.fingerprint(), List.of(range(0, 0, 40), range(1, 0, 35)), null));
    clock.set(3_000);
    swapper.offer(snapshot(ID, 2, base.fingerprint(), List.of(range(0, 40, 90), range(1, 35, 70)), null));

    assertThat(swapper.awaitVersion(2, Duration.ofSeconds(1))).isTrue();
    assertThat(swaps).containsExactly(ID + ":1@2000", ID + ":2@3000");
    ServingModel m = swapper.current();
    assertThat(m.adapterId()).isEqualTo(ID);
    assertThat(m.activatedAtMillis()).isEqualTo(3_000);
    assertThat(m.createdAtMillis()).isEqualTo(1_000_002L);
    assertThat(m.ranks()).containsEntry("fc0", 1).containsEntry("head", 2);
    assertThat(m.sourceOffsets()).hasSize(2);
    assertThat(swapper.lastSwapMillis()).isEqualTo(3_000);

    // Prequential history: the newest version not trained on (partition, offset).
    assertThat(swapper.modelFor(ID, 0, 10)).get().extracting(ScoringModel::version).isEqualTo(0L);
    assertThat(swapper.modelFor(ID, 0, 40)).get().extracting(ScoringModel::version).isEqualTo(1L);
    assertThat(swapper.modelFor(ID, 1, 69)).get().extracting(ScoringModel::version).isEqualTo(1L);
    assertThat(swapper.modelFor(ID, 1, 70)).get().extracting(ScoringModel::version).isEqualTo(2L);
    assertThat(swapper.retainedVersions(ID)).containsExactly(1L, 2L);
  }

  @Test
  void servingEveryAdapterKeepsOneReferencePerAdapter() {
    AdapterSwapper swapper = new AdapterSwapper(base, AdapterSwapper.ALL_ADAPTERS, null);
    assertThat(swapper.offer(snapshot("a", 3, base))).isEqualTo(Outcome.APPLIED);
    assertThat(swapper.offer(snapshot("b", 1, base))).isEqualTo(Outcome.APPLIED);
    assertThat(swapper.offer(snapshot("a", 2, base))).isEqualTo(Outcome.IGNORED_NOT_NEWER);
    assertThat(swapper.forTask("a").orElseThrow().version()).isEqualTo(3);
    assertThat(swapper.forTask("b").orElseThrow().version()).isEqualTo(1);
    ServingModel unknown = swapper.forTask("c").orElseThrow();
    assertThat(unknown.version()).isZero();
    assertThat(unknown.adapterId()).isEqualTo("c");
    assertThat(mismatch(3, swapper.current("a").predictProba(X))).isNull();
  }

  private static void assertStillServing(AdapterSwapper swapper, long version) {
    ServingModel m = swapper.current();
    assertThat(m.version()).isEqualTo(version);
    assertThat(mismatch(version, m.predictProba(X))).isNull();
  }
}
