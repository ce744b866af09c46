package io.lorastream.lora.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LayerAdapter;
import io.lorastream.avro.OffsetRange;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.adapter.Scaling;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.snapshot.SnapshotRejectedException.Reason;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.lora.train.RankSchedule;
import io.lorastream.lora.train.StepResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SnapshotCodecTest {

  private static final byte[] KEY = "a shared secret for tests".getBytes(StandardCharsets.UTF_8);
  private static BaseModel base;
  private static BaseModel otherBase;
  private static OnlineLearner learner;

  @BeforeAll
  static void train() {
    base = BaseModel.create(ModelSpec.demoDefault(40), Device.cpu());
    otherBase = BaseModel.create(ModelSpec.demoDefault(41), Device.cpu());
    AdapterConfig ac = AdapterConfig.defaults()
        .withOverride("fc1", new AdapterConfig.LayerOverride(4, 8f, Scaling.RSLORA));
    learner = OnlineLearner.create(base, ac, LearnerConfig.defaults().withSchedule(RankSchedule.parse("steps:2@0,8@3")));
    Random rnd = new Random(1);
    for (int i = 0; i < 6; i++) {
      learner.trainMicroBatch(Fixtures.gaussianFloats(rnd, 32 * 32, 1.0), Fixtures.labels(rnd, 32, 4), null);
    }
  }

  @AfterAll
  static void close() {
    learner.close();
    base.close();
    otherBase.close();
  }

  private static SnapshotMeta meta() {
    return SnapshotMeta.of("task-a", 7, "trainer-1")
        .withCreatedAt(Instant.parse("2026-01-02T03:04:05.678901Z"))
        .withSourceOffsets(List.of(new OffsetRange("examples.train", 0, 10L, 200L), new OffsetRange("examples.train", 1, 5L, 190L)))
        .withMetrics(Map.of("loss_ema", 0.5, "grad_norm", 1.25));
  }

  /** Through Avro bytes and back, like the adapters topic does. */
  private static AdapterSnapshot wire(AdapterSnapshot s) throws IOException {
    byte[] bytes = SnapshotCodec.toAvroBinary(s);
    return new SpecificDatumReader<>(AdapterSnapshot.class).read(null, DecoderFactory.get().binaryDecoder(bytes, null));
  }

  @Test
  void roundTripRestoresEverything() throws IOException {
    AdapterSnapshot s = wire(SnapshotCodec.encode(learner, meta()));
    DecodedAdapter d = SnapshotCodec.decode(s, base, null);
    assertThat(d.adapterId()).isEqualTo("task-a");
    assertThat(d.version()).isEqualTo(7);
    assertThat(d.trainerId()).isEqualTo("trainer-1");
    assertThat(d.createdAt()).isEqualTo(Instant.parse("2026-01-02T03:04:05.678Z"));
    assertThat(d.optimizerStep()).isEqualTo(learner.optimizerStep()).isEqualTo(6);
    assertThat(d.examplesSeen()).isEqualTo(learner.examplesSeen()).isEqualTo(192);
    assertThat(d.ranks()).isEqualTo(Map.of("fc0", 8, "fc1", 4, "head", 8));
    assertThat(d.sourceOffsets()).hasSize(2);
    assertThat(d.metrics()).containsEntry("grad_norm", 1.25);
    assertThat(d.signatureVerified()).isFalse();
    for (LayerWeights l : d.layers()) {
      assertThat(l.a()).containsExactly(LoraModel.toFloat(learner.model().a(l.name())));
      assertThat(l.b()).containsExactly(LoraModel.toFloat(learner.model().b(l.name())));
      assertThat(l.scale()).isEqualTo(learner.model().scale(l.name()));
    }
    assertThat(d.layers().get(1).scaling()).isEqualTo(Scaling.RSLORA);
    assertThat(d.layers().get(1).alpha()).isEqualTo(8f);

    // A consumer merges without a training engine; same weights as the trainer's merge.
    MergedModel fromSnapshot = d.merge(base);
    MergedModel fromLearner = learner.merged();
    for (int i = 0; i < 3; i++) {
      assertThat(fromSnapshot.weight(i)).containsExactly(fromLearner.weight(i));
    }

    // A restarted learner resumes from it.
    AdapterConfig ac = learner.adapterConfig();
    try (OnlineLearner restarted = OnlineLearner.create(base, ac, learner.learnerConfig())) {
      restarted.restore(SnapshotCodec.decode(s, base, null).state());
      assertThat(restarted.ranks()).isEqualTo(learner.ranks());
      assertThat(restarted.optimizerStep()).isEqualTo(6);
      assertThat(restarted.examplesSeen()).isEqualTo(192);
      for (String layer : learner.ranks().keySet()) {
        assertThat(restarted.model().a(layer)).containsExactly(learner.model().a(layer));
        assertThat(restarted.model().b(layer)).containsExactly(learner.model().b(layer));
      }
      StepResult r = restarted.trainMicroBatch(Fixtures.gaussianFloats(new Random(9), 32 * 32, 1.0), Fixtures.labels(new Random(9), 32, 4), null);
      assertThat(r.optimizerStep()).isEqualTo(7);
      assertThat(restarted.examplesSeen()).isEqualTo(224);
    }
  }

  @Test
  void sizeIsThePayloadPlusASmallHeader() {
    AdapterSnapshot s = SnapshotCodec.encode(learner, meta());
    long expectedPayload = 0;
    for (LayerInfo l : learner.model().targets()) {
      expectedPayload += 4L * learner.ranks().get(l.name()) * (l.in() + l.out());
    }
    assertThat(expectedPayload).isEqualTo(4L * (8 * (32 + 64) + 4 * (64 + 64) + 8 * (64 + 6)));
    assertThat(SnapshotCodec.payloadBytes(s)).isEqualTo(expectedPayload);
    int total = SnapshotCodec.toAvroBinary(s).length;
    long header = total - expectedPayload;
    System.out.printf("snapshot: %d bytes = %d payload + %d header%n", total, expectedPayload, header);
    assertThat(header).isPositive().isLessThan(400);
  }

  @Test
  void tamperedContentFailsTheChecksum() throws IOException {
    AdapterSnapshot s = wire(SnapshotCodec.encode(learner, meta()));
    byte[] a = SnapshotCodec.bytes(s.getLayers().get(0).getA());
    a[17] ^= 0x01;
    s.getLayers().get(0).setA(ByteBuffer.wrap(a));
    assertRejected(s, base, null, Reason.CHECKSUM);

    AdapterSnapshot t = SnapshotCodec.encode(learner, meta());
    t.setExamplesSeen(t.getExamplesSeen() + 1);
    assertRejected(t, base, null, Reason.CHECKSUM);

    AdapterSnapshot u = SnapshotCodec.encode(learner, meta());
    u.setChecksum(ByteBuffer.allocate(0));
    assertRejected(u, base, null, Reason.CHECKSUM);
  }

  @Test
  void anotherBaseIsRejectedByFingerprint() {
    assertRejected(SnapshotCodec.encode(learner, meta()), otherBase, null, Reason.FINGERPRINT);
  }

  @Test
  void wrongShapesAreRejectedEvenWithAValidChecksum() {
    AdapterSnapshot wrongIn = SnapshotCodec.encode(learner, meta());
    wrongIn.getLayers().get(0).setInFeatures(31);
    assertRejected(rechecksum(wrongIn), base, null, Reason.SHAPE);

    AdapterSnapshot wrongRank = SnapshotCodec.encode(learner, meta());
    wrongRank.getLayers().get(2).setRank(9);
    assertRejected(rechecksum(wrongRank), base, null, Reason.SHAPE);

    AdapterSnapshot unknown = SnapshotCodec.encode(learner, meta());
    unknown.getLayers().get(1).setName("fc7");
    assertRejected(rechecksum(unknown), base, null, Reason.SHAPE);

    AdapterSnapshot dup = SnapshotCodec.encode(learner, meta());
    LayerAdapter first = dup.getLayers().get(0);
    dup.setLayers(List.of(first, LayerAdapter.newBuilder(first).build()));
    assertRejected(rechecksum(dup), base, null, Reason.SHAPE);

    AdapterSnapshot zeroRank = SnapshotCodec.encode(learner, meta());
    zeroRank.getLayers().get(0).setRank(0);
    zeroRank.getLayers().get(0).setA(ByteBuffer.allocate(0));
    zeroRank.getLayers().get(0).setB(ByteBuffer.allocate(0));
    assertRejected(rechecksum(zeroRank), base, null, Reason.SHAPE);
  }

  @Test
  void nonFiniteValuesAreRejected() {
    AdapterSnapshot s = SnapshotCodec.encode(learner, meta());
    byte[] b = SnapshotCodec.bytes(s.getLayers().get(1).getB());
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * 3, Float.NaN);
    s.getLayers().get(1).setB(ByteBuffer.wrap(b));
    assertRejected(rechecksum(s), base, null, Reason.NON_FINITE);

    AdapterSnapshot inf = SnapshotCodec.encode(learner, meta());
    byte[] a = SnapshotCodec.bytes(inf.getLayers().get(0).getA());
    ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.POSITIVE_INFINITY);
    inf.getLayers().get(0).setA(ByteBuffer.wrap(a));
    assertRejected(rechecksum(inf), base, null, Reason.NON_FINITE);
  }

  @Test
  void signaturesAreEnforcedWhenAKeyIsConfigured() throws IOException {
    AdapterSnapshot unsigned = SnapshotCodec.encode(learner, meta());
    assertRejected(unsigned, base, KEY, Reason.UNSIGNED);

    AdapterSnapshot forged = SnapshotCodec.encode(learner, meta(), "the wrong key".getBytes(StandardCharsets.UTF_8));
    assertRejected(forged, base, KEY, Reason.BAD_SIGNATURE);

    // An attacker who rewrites the content and recomputes the checksum cannot re-sign it.
    AdapterSnapshot rewritten = SnapshotCodec.encode(learner, meta(), KEY);
    rewritten.setVersion(999);
    assertRejected(rechecksum(rewritten), base, KEY, Reason.BAD_SIGNATURE);

    AdapterSnapshot signed = wire(SnapshotCodec.encode(learner, meta(), KEY));
    assertThat(SnapshotCodec.decode(signed, base, KEY).signatureVerified()).isTrue();
    assertThat(SnapshotCodec.decode(signed, base, null).signatureVerified()).isFalse();
  }

  @Test
  void restoreAdoptsTheSnapshotsAlphaAndScaling() {
    AdapterSnapshot s = SnapshotCodec.encode(learner, meta());
    AdapterConfig different = AdapterConfig.defaults().withAlpha(3f).withScaling(Scaling.RSLORA);
    try (OnlineLearner restarted = OnlineLearner.create(base, different, learner.learnerConfig())) {
      restarted.restore(SnapshotCodec.decode(s, base, null).state());
      for (String layer : learner.ranks().keySet()) {
        assertThat(restarted.model().alpha(layer)).isEqualTo(learner.model().alpha(layer));
        assertThat(restarted.model().scaling(layer)).isEqualTo(learner.model().scaling(layer));
        assertThat(restarted.model().scale(layer)).isEqualTo(learner.model().scale(layer));
      }
      float[] x = Fixtures.gaussianFloats(new Random(3), 32, 1.0);
      assertThat(restarted.merged().logits(x)).containsExactly(learner.merged().logits(x));
    }
  }

  @Test
  void restoreRejectsADifferentLayerSet() {
    AdapterSnapshot s = SnapshotCodec.encode(learner, meta());
    try (OnlineLearner headOnly = OnlineLearner.create(base, AdapterConfig.defaults().withTargets(List.of("head")), learner.learnerConfig())) {
      assertThatThrownBy(() -> headOnly.restore(SnapshotCodec.decode(s, base, null).state())).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("targets");
    }
  }

  @Test
  void encodingRefusesPendingMicroBatches() {
    try (OnlineLearner l = OnlineLearner.create(base, AdapterConfig.defaults(),
        LearnerConfig.defaults().withAccumulationSteps(3))) {
      Random rnd = new Random(2);
      l.trainMicroBatch(Fixtures.gaussianFloats(rnd, 8 * 32, 1.0), Fixtures.labels(rnd, 8, 4), null);
      assertThatThrownBy(() -> SnapshotCodec.encode(l, meta()))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("flush()");
      l.flush();
      assertThat(SnapshotCodec.decode(SnapshotCodec.encode(l, meta()), base, null).optimizerStep()).isEqualTo(1);
    }
  }

  private static AdapterSnapshot rechecksum(AdapterSnapshot s) {
    s.setChecksum(ByteBuffer.wrap(SnapshotCodec.checksum(s)));
    return s;
  }

  private static void assertRejected(AdapterSnapshot s, BaseModel b, byte[] key, Reason reason) {
    assertThatThrownBy(() -> SnapshotCodec.decode(s, b, key))
        .isInstanceOfSatisfying(SnapshotRejectedException.class, e -> assertThat(e.reason()).isEqualTo(reason))
        .hasMessageContaining("task-a");
  }
}
