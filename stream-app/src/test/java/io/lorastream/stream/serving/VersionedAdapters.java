package io.lorastream.stream.serving;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LayerAdapter;
import io.lorastream.avro.OffsetRange;
import io.lorastream.avro.ScalingMode;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.snapshot.SnapshotCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Test adapters whose outputs spell out the version they came from, so that a prediction computed
 * with weights of two versions (or of a version other than the one it names) is detectable.
 *
 * <p>The base is an all-zero MLP 2 → 2 → 3. For input x = (1, 0), adapter version v (v ≥ 1) makes
 * the hidden layer h = relu(W0 x) = (0.01 v, 1) through fc0 (rank 1) and the logits
 * z = W1 h = (t0, 0.01 v + t1, 0.01 v' + t2) through head (rank 2), where v' is the head's own copy
 * of the version and t_k = 5 for the target class k = v mod 3 (else 0). So ln(p1/p0) reveals fc0's
 * version and ln(p2/p0) the head's; both must equal the version the prediction names, and the
 * arg-max is the target class. Version 0 (the base) gives z = 0.
 */
public final class VersionedAdapters {
  public static final float STEP = 0.01f;
  public static final float BOOST = 5f;
  public static final float[] X = {1f, 0f};
  public static final String TRAIN_TOPIC = "examples.train";

  private VersionedAdapters() {
  }

  /** The all-zero base every versioned adapter is built for. */
  public static BaseModel zeroBase() {
    return base(0f);
  }

  /** A base with a different fingerprint (one non-zero bias). */
  public static BaseModel otherBase() {
    return base(0.25f);
  }

  private static BaseModel base(float headBias0) {
    ModelSpec spec = ModelSpec.mlp(2, List.of(2), 3, 7);
    return BaseModel.fromParameters(spec, List.of(new float[4], new float[6]),
        List.of(new float[2], new float[] {headBias0, 0f, 0f}), Device.cpu());
  }

  public static int targetClass(long version) {
    return (int) (version % 3);
  }

  /** A valid, unsigned snapshot of version {@code v} for {@code base}. */
  public static AdapterSnapshot snapshot(String adapterId, long v, BaseModel base) {
    return snapshot(adapterId, v, base.fingerprint(), List.of(), null);
  }

  /** A valid snapshot; signed with {@code key} unless it is null. */
  public static AdapterSnapshot snapshot(String adapterId, long v, String fingerprint, List<OffsetRange> offsets, byte[] key) {
    AdapterSnapshot s = AdapterSnapshot.newBuilder()
        .setAdapterId(adapterId)
        .setVersion(v)
        .setBaseModelId("zero-base")
        .setBaseFingerprint(fingerprint)
        .setCreatedAt(Instant.ofEpochMilli(1_000_000L + v))
        .setTrainerId("test-trainer")
        .setOptimizerStep(v)
        .setExamplesSeen(10 * v)
        .setAlpha(1f)
        .setScalingMode(ScalingMode.STANDARD)
        .setLayers(List.of(fc0(v), head(v)))
        .setSourceOffsets(offsets)
        .setMetrics(Map.of())
        .setChecksum(ByteBuffer.allocate(0))
        .setSignature(null)
        .build();
    s.setChecksum(ByteBuffer.wrap(SnapshotCodec.checksum(s)));
    return key == null ? s : SnapshotCodec.sign(s, key);
  }

  /** fc0: rank 1, s = 1; B (2x1) = (0.01 v, 1), A (1x2) = (1, 0), so W0 = [[0.01 v, 0], [1, 0]]. */
  private static LayerAdapter fc0(long v) {
    return layer("fc0", 1, 2, 2, 1f, new float[] {1f, 0f}, new float[] {STEP * v, 1f});
  }

  /** head: rank 2, s = 1; A = I, B (3x2) = [[0, t0], [1, t1], [0, 0.01 v + t2]]. */
  private static LayerAdapter head(long v) {
    float[] t = boosts(v);
    return layer("head", 2, 2, 3, 2f, new float[] {1f, 0f, 0f, 1f},
        new float[] {0f, t[0], 1f, t[1], 0f, STEP * v + t[2]});
  }

  private static LayerAdapter layer(String name, int rank, int in, int out, float alpha, float[] a, float[] b) {
    return LayerAdapter.newBuilder().setName(name).setRank(rank).setInFeatures(in).setOutFeatures(out)
        .setAlpha(alpha).setScaling(ScalingMode.STANDARD).setA(le(a)).setB(le(b)).build();
  }

  private static float[] boosts(long v) {
    float[] t = new float[3];
    if (v > 0) {
      t[targetClass(v)] = BOOST;
    }
    return t;
  }

  public static ByteBuffer le(float[] v) {
    ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(v);
    return bb;
  }

  /** A deep copy with {@code edit} applied and the checksum recomputed (a well-formed but wrong snapshot), unsigned. */
  public static AdapterSnapshot resealed(AdapterSnapshot s, Consumer<AdapterSnapshot> edit) {
    AdapterSnapshot copy = AdapterSnapshot.newBuilder(s).build();
    edit.accept(copy);
    copy.setSignature(null);
    copy.setChecksum(ByteBuffer.wrap(SnapshotCodec.checksum(copy)));
    return copy;
  }

  /** A deep copy with one payload byte of A flipped and nothing else changed (corruption in transit). */
  public static AdapterSnapshot flippedByte(AdapterSnapshot s) {
    AdapterSnapshot copy = AdapterSnapshot.newBuilder(s).build();
    LayerAdapter l = copy.getLayers().get(0);
    ByteBuffer a = l.getA().duplicate();
    byte[] bytes = new byte[a.remaining()];
    a.get(bytes);
    bytes[1] ^= 0x10;
    l.setA(ByteBuffer.wrap(bytes));
    return copy;
  }

  /**
   * Null when {@code p} is exactly what version {@code named} produces for {@link #X}; otherwise a
   * description of the mismatch (e.g. weights of another version, or of two versions mixed).
   */
  public static String mismatch(long named, float[] p) {
    float[] t = boosts(named);
    double want1 = STEP * named * (named > 0 ? 1 : 0) + t[1] - t[0];
    double want2 = STEP * named * (named > 0 ? 1 : 0) + t[2] - t[0];
    double got1 = Math.log((double) p[1] / p[0]);
    double got2 = Math.log((double) p[2] / p[0]);
    if (Math.abs(got1 - want1) > 1e-3 || Math.abs(got2 - want2) > 1e-3) {
      return String.format("prediction names v%d: expected logit gaps (%.3f, %.3f), got (%.3f, %.3f)", named,
          want1, want2, got1, got2);
    }
    int best = 0;
    for (int i = 1; i < p.length; i++) {
      if (p[i] > p[best]) {
        best = i;
      }
    }
    int wantClass = named == 0 ? 0 : targetClass(named);
    return best == wantClass ? null : "v" + named + " predicted class " + best + ", expected " + wantClass;
  }

  public static OffsetRange range(int partition, long from, long until) {
    return OffsetRange.newBuilder().setTopic(TRAIN_TOPIC).setPartition(partition).setFromOffset(from)
        .setUntilOffset(until).build();
  }
}
