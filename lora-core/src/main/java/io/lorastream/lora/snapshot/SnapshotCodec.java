package io.lorastream.lora.snapshot;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LayerAdapter;
import io.lorastream.avro.OffsetRange;
import io.lorastream.avro.ScalingMode;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.adapter.Scaling;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.snapshot.SnapshotRejectedException.Reason;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.serde.TrustedAvroClasses;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;

/**
 * Encodes adapters into {@link AdapterSnapshot} records and verifies them on the way back.
 *
 * <p><b>Payload.</b> Per layer, A (r x in) and B (out x r) as row-major float32 little-endian:
 * exactly {@code 4*r*(in+out)} bytes; everything else is a small header.
 *
 * <p><b>Checksum</b> = SHA-256 over a canonical encoding of every field except checksum and
 * signature: the tag {@code "lorastream.AdapterSnapshot.v1"}, then the fields in schema order,
 * strings as big-endian int32 length + UTF-8 (length -1 for null), longs/ints big-endian, floats
 * and doubles as their IEEE bits, enums by name, byte arrays length-prefixed, lists
 * count-prefixed in order, and the metrics map sorted by key. The encoding does not depend on
 * Avro's, so the checksum survives any re-serialization.
 *
 * <p><b>Signature</b> (optional) = HMAC-SHA256(key, checksum). A consumer configured with a key
 * rejects unsigned and wrongly signed snapshots; one without a key checks everything else.
 *
 * <p>Verification order on decode: checksum, signature, base fingerprint, shapes, finiteness.
 */
public final class SnapshotCodec {
  static {
    TrustedAvroClasses.install(); // Avro >= 1.12.2 loads only trusted classes by name
  }


  private static final byte[] TAG = "lorastream.AdapterSnapshot.v1".getBytes(StandardCharsets.UTF_8);
  /** Upper bound on a layer's rank accepted on decode: keeps a hostile header from sizing huge arrays. */
  public static final int MAX_DECODE_RANK = 4096;

  private SnapshotCodec() {}

  /** Unsigned snapshot of a learner; see {@link #encode(OnlineLearner, SnapshotMeta, byte[])}. */
  public static AdapterSnapshot encode(OnlineLearner learner, SnapshotMeta meta) {
    return encode(learner, meta, null);
  }

  /**
   * Snapshot of a learner's adapters. optimizerStep and examplesSeen come from the learner.
   *
   * @throws IllegalStateException if micro-batches are pending (call {@link OnlineLearner#flush()}
   *     first) or an adapter holds a non-finite value
   */
  public static AdapterSnapshot encode(OnlineLearner learner, SnapshotMeta meta, byte[] hmacKeyOrNull) {
    if (learner.pendingMicroBatches() > 0) {
      throw new IllegalStateException(learner.pendingMicroBatches()
          + " micro-batch(es) are accumulated but not applied; call OnlineLearner.flush() before a snapshot");
    }
    return encode(learner.model(), meta.withProgress(learner.optimizerStep(), learner.examplesSeen()), hmacKeyOrNull);
  }

  /** Unsigned snapshot of a model's adapters. */
  public static AdapterSnapshot encode(LoraModel model, SnapshotMeta meta) {
    return encode(model, meta, null);
  }

  /**
   * Snapshot of a model's adapters, signed when a key is given.
   *
   * @throws IllegalStateException if an adapter holds a non-finite value (never published)
   */
  public static AdapterSnapshot encode(LoraModel model, SnapshotMeta meta, byte[] hmacKeyOrNull) {
    List<LayerAdapter> layers = new ArrayList<>();
    for (LayerInfo t : model.targets()) {
      String name = t.name();
      float[] a = LoraModel.toFloat(model.a(name));
      float[] b = LoraModel.toFloat(model.b(name));
      if (!allFinite(a) || !allFinite(b)) {
        throw new IllegalStateException("adapter layer " + name + " holds a non-finite value; refusing to encode it");
      }
      layers.add(LayerAdapter.newBuilder()
          .setName(name)
          .setRank(model.ranks().get(name))
          .setInFeatures(t.in())
          .setOutFeatures(t.out())
          .setAlpha(model.alpha(name))
          .setScaling(ScalingMode.valueOf(model.scaling(name).name()))
          .setA(ByteBuffer.wrap(BaseModel.leBytes(a)))
          .setB(ByteBuffer.wrap(BaseModel.leBytes(b)))
          .build());
    }
    List<OffsetRange> offsets = new ArrayList<>();
    for (OffsetRange r : meta.sourceOffsets()) {
      offsets.add(OffsetRange.newBuilder(r).build());
    }
    AdapterSnapshot s = AdapterSnapshot.newBuilder()
        .setAdapterId(meta.adapterId())
        .setVersion(meta.version())
        .setBaseModelId(model.base().id())
        .setBaseFingerprint(model.base().fingerprint())
        .setCreatedAt(Instant.ofEpochMilli(meta.createdAt().toEpochMilli())) // the wire keeps millis
        .setTrainerId(meta.trainerId())
        .setOptimizerStep(meta.optimizerStep())
        .setExamplesSeen(meta.examplesSeen())
        .setAlpha(model.config().alpha())
        .setScalingMode(ScalingMode.valueOf(model.config().scaling().name()))
        .setLayers(layers)
        .setSourceOffsets(offsets)
        .setMetrics(new TreeMap<>(meta.metrics()))
        .setChecksum(ByteBuffer.allocate(0))
        .setSignature(null)
        .build();
    s.setChecksum(ByteBuffer.wrap(checksum(s)));
    return hmacKeyOrNull == null ? s : sign(s, hmacKeyOrNull);
  }

  /** A copy of {@code s} carrying HMAC-SHA256(key, checksum). */
  public static AdapterSnapshot sign(AdapterSnapshot s, byte[] key) {
    AdapterSnapshot copy = AdapterSnapshot.newBuilder(s).build();
    copy.setSignature(ByteBuffer.wrap(hmac(key, bytes(s.getChecksum()))));
    return copy;
  }

  /** SHA-256 of the canonical encoding of every field but checksum and signature. */
  public static byte[] checksum(AdapterSnapshot s) {
    MessageDigest md = BaseModel.sha256();
    try (DataOutputStream out = new DataOutputStream(new DigestSink(md))) {
      out.write(TAG);
      str(out, s.getAdapterId());
      out.writeLong(s.getVersion());
      str(out, s.getBaseModelId());
      str(out, s.getBaseFingerprint());
      out.writeLong(s.getCreatedAt() == null ? Long.MIN_VALUE : s.getCreatedAt().toEpochMilli());
      str(out, s.getTrainerId());
      out.writeLong(s.getOptimizerStep());
      out.writeLong(s.getExamplesSeen());
      out.writeInt(Float.floatToIntBits(s.getAlpha()));
      str(out, s.getScalingMode() == null ? null : s.getScalingMode().name());
      List<LayerAdapter> layers = s.getLayers() == null ? List.of() : s.getLayers();
      out.writeInt(layers.size());
      for (LayerAdapter l : layers) {
        str(out, l.getName());
        out.writeInt(l.getRank());
        out.writeInt(l.getInFeatures());
        out.writeInt(l.getOutFeatures());
        out.writeInt(Float.floatToIntBits(l.getAlpha()));
        str(out, l.getScaling() == null ? null : l.getScaling().name());
        blob(out, l.getA());
        blob(out, l.getB());
      }
      List<OffsetRange> offs = s.getSourceOffsets() == null ? List.of() : s.getSourceOffsets();
      out.writeInt(offs.size());
      for (OffsetRange r : offs) {
        str(out, r.getTopic());
        out.writeInt(r.getPartition());
        out.writeLong(r.getFromOffset());
        out.writeLong(r.getUntilOffset());
      }
      Map<String, Double> metrics = new TreeMap<>(s.getMetrics() == null ? Map.of() : s.getMetrics());
      out.writeInt(metrics.size());
      for (Map.Entry<String, Double> e : metrics.entrySet()) {
        str(out, e.getKey());
        out.writeLong(Double.doubleToLongBits(e.getValue() == null ? Double.NaN : e.getValue()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("digest stream cannot fail", e);
    }
    return md.digest();
  }

  /**
   * Verifies a snapshot and decodes its weights.
   *
   * @param expectedBase the base model this consumer serves
   * @param hmacKeyOrNull when set, the snapshot must carry a valid signature under this key
   * @throws SnapshotRejectedException with the first failed check
   */
  public static DecodedAdapter decode(AdapterSnapshot s, BaseModel expectedBase, byte[] hmacKeyOrNull) {
    String who = "snapshot " + s.getAdapterId() + " v" + s.getVersion();
    byte[] stored = s.getChecksum() == null ? new byte[0] : bytes(s.getChecksum());
    if (stored.length == 0) {
      throw new SnapshotRejectedException(Reason.CHECKSUM, who + " carries no checksum");
    }
    if (!MessageDigest.isEqual(stored, checksum(s))) {
      throw new SnapshotRejectedException(Reason.CHECKSUM, who + ": content does not match its SHA-256 checksum (corrupted or tampered)");
    }
    boolean verified = false;
    if (hmacKeyOrNull != null) {
      if (s.getSignature() == null || !s.getSignature().hasRemaining()) {
        throw new SnapshotRejectedException(Reason.UNSIGNED, who + " is unsigned but this consumer requires an HMAC signature");
      }
      if (!MessageDigest.isEqual(bytes(s.getSignature()), hmac(hmacKeyOrNull, stored))) {
        throw new SnapshotRejectedException(Reason.BAD_SIGNATURE, who + ": HMAC-SHA256 signature does not verify with the configured key");
      }
      verified = true;
    }
    if (!expectedBase.fingerprint().equals(s.getBaseFingerprint())) {
      throw new SnapshotRejectedException(Reason.FINGERPRINT, who + " was trained for base " + s.getBaseFingerprint()
          + " (" + s.getBaseModelId() + ") but this consumer serves " + expectedBase.fingerprint() + " (" + expectedBase.id() + ")");
    }
    if (s.getLayers() == null || s.getLayers().isEmpty()) {
      throw new SnapshotRejectedException(Reason.SHAPE, who + " has no layers");
    }
    if (!Float.isFinite(s.getAlpha())) {
      throw new SnapshotRejectedException(Reason.NON_FINITE, who + ": alpha is " + s.getAlpha());
    }
    Set<String> seen = new HashSet<>();
    List<LayerWeights> layers = new ArrayList<>();
    for (LayerAdapter l : s.getLayers()) {
      layers.add(checkLayer(who, l, expectedBase, seen));
    }
    return new DecodedAdapter(s.getAdapterId(), s.getVersion(), s.getBaseModelId(), s.getBaseFingerprint(),
        s.getCreatedAt(), s.getTrainerId(), s.getOptimizerStep(), s.getExamplesSeen(), s.getAlpha(),
        s.getScalingMode() == null ? null : Scaling.valueOf(s.getScalingMode().name()), layers, s.getSourceOffsets() == null ? List.of() : s.getSourceOffsets(),
        s.getMetrics() == null ? Map.of() : s.getMetrics(), verified);
  }

  private static LayerWeights checkLayer(String who, LayerAdapter l, BaseModel base, Set<String> seen) {
    String name = l.getName();
    LayerInfo info = base.adaptableLayers().stream().filter(x -> x.name().equals(name)).findFirst().orElse(null);
    if (info == null) {
      throw new SnapshotRejectedException(Reason.SHAPE, who + ": layer '" + name + "' does not exist in base "
          + base.adaptableLayers().stream().map(LayerInfo::name).toList());
    }
    if (!seen.add(name)) {
      throw new SnapshotRejectedException(Reason.SHAPE, who + ": layer '" + name + "' appears twice");
    }
    if (l.getInFeatures() != info.in() || l.getOutFeatures() != info.out()) {
      throw new SnapshotRejectedException(Reason.SHAPE, who + ": layer " + name + " is " + l.getOutFeatures() + "x"
          + l.getInFeatures() + " (out x in) but the base layer is " + info.out() + "x" + info.in());
    }
    int r = l.getRank();
    if (r <= 0 || r > MAX_DECODE_RANK) {
      throw new SnapshotRejectedException(Reason.SHAPE, who + ": layer " + name + " has rank " + r
          + " (must be in [1, " + MAX_DECODE_RANK + "])");
    }
    if (l.getScaling() == null) {
      throw new SnapshotRejectedException(Reason.SHAPE, who + ": layer " + name + " has no scaling mode");
    }
    if (!Float.isFinite(l.getAlpha())) {
      throw new SnapshotRejectedException(Reason.NON_FINITE, who + ": layer " + name + " alpha is " + l.getAlpha());
    }
    if (!(l.getAlpha() > 0)) {
      throw new SnapshotRejectedException(Reason.SHAPE, who + ": layer " + name + " alpha " + l.getAlpha() + " is not > 0");
    }
    long wantA = 4L * r * info.in();
    long wantB = 4L * info.out() * r;
    int haveA = l.getA() == null ? -1 : l.getA().remaining();
    int haveB = l.getB() == null ? -1 : l.getB().remaining();
    if (haveA != wantA || haveB != wantB) {
      throw new SnapshotRejectedException(Reason.SHAPE, who + ": layer " + name + " rank " + r + " needs " + wantA
          + " bytes of A and " + wantB + " of B, got " + haveA + " and " + haveB);
    }
    float[] a = floats(l.getA());
    float[] b = floats(l.getB());
    int badA = firstNonFinite(a);
    int badB = firstNonFinite(b);
    if (badA >= 0 || badB >= 0) {
      throw new SnapshotRejectedException(Reason.NON_FINITE, who + ": layer " + name + " has a non-finite value in "
          + (badA >= 0 ? "A at index " + badA : "B at index " + badB));
    }
    return new LayerWeights(name, r, info.in(), info.out(), l.getAlpha(), Scaling.valueOf(l.getScaling().name()), a, b);
  }

  /** Bytes of A/B payload: sum over layers of 4*r*(in+out) as stored. */
  public static long payloadBytes(AdapterSnapshot s) {
    long n = 0;
    for (LayerAdapter l : s.getLayers()) {
      n += l.getA().remaining() + l.getB().remaining();
    }
    return n;
  }

  /** Plain Avro binary encoding of the record (what follows the 5-byte Confluent header on the wire). */
  public static byte[] toAvroBinary(AdapterSnapshot s) {
    try {
      ByteArrayOutputStream bos = new ByteArrayOutputStream();
      BinaryEncoder enc = EncoderFactory.get().binaryEncoder(bos, null);
      new SpecificDatumWriter<>(AdapterSnapshot.class).write(s, enc);
      enc.flush();
      return bos.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] hmac(byte[] key, byte[] data) {
    if (key == null || key.length == 0) {
      throw new IllegalArgumentException("HMAC key must be non-empty");
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  private static boolean allFinite(float[] v) {
    return firstNonFinite(v) < 0;
  }

  private static int firstNonFinite(float[] v) {
    for (int i = 0; i < v.length; i++) {
      if (!Float.isFinite(v[i])) {
        return i;
      }
    }
    return -1;
  }

  static float[] floats(ByteBuffer bb) {
    ByteBuffer d = bb.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[d.remaining() / 4];
    d.asFloatBuffer().get(out);
    return out;
  }

  static byte[] bytes(ByteBuffer bb) {
    ByteBuffer d = bb.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }

  private static void str(DataOutputStream out, String v) throws IOException {
    if (v == null) {
      out.writeInt(-1);
      return;
    }
    byte[] b = v.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  private static void blob(DataOutputStream out, ByteBuffer v) throws IOException {
    if (v == null) {
      out.writeInt(-1);
      return;
    }
    byte[] b = bytes(v);
    out.writeInt(b.length);
    out.write(b);
  }

  /** Feeds written bytes straight into a digest. */
  private static final class DigestSink extends OutputStream {
    private final MessageDigest md;

    DigestSink(MessageDigest md) {
      this.md = md;
    }

    @Override
    public void write(int b) {
      md.update((byte) b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      md.update(b, off, len);
    }
  }
}
