package io.lorastream.launcher;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LayerAdapter;
import io.lorastream.config.CommonConfig;
import io.lorastream.avro.ScalingMode;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.serde.LorastreamSerdes;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The demo's deliberately bad candidate: the newest committed snapshot with its head replaced by
 * one that answers every input with the class after the one the snapshot predicts, as an adapter
 * trained on labels shifted by a bug would. The head's update is set to P·W_eff − W, where W is
 * the base head, W_eff the snapshot's merged head and P moves each class's row one place, so the
 * merged logits are the snapshot's own logits shifted by one class (plus the unchanged base bias).
 * A (d, k) update needs rank d at most, so the bad head has rank max(r, d). It is valid in every
 * way a consumer checks (checksum, signature, base fingerprint, shapes): only the gate's holdout
 * figures can stop it. Published as the next version, as an operator's import would be; the
 * trainer's own snapshot of that number is then ignored as not newer.
 */
final class BadCandidate {
  private BadCandidate() {
  }

  /** {@code s} with a class-shifting head as version {@code version}, sealed (and signed with {@code key}). */
  static AdapterSnapshot of(AdapterSnapshot s, BaseModel base, long version, byte[] key) {
    AdapterSnapshot bad = AdapterSnapshot.newBuilder(s).setVersion(version).setCreatedAt(Instant.now())
        .setTrainerId("demo-bad-candidate").setSignature(null).build();
    List<LayerAdapter> layers = new ArrayList<>();
    for (LayerAdapter l : s.getLayers()) {
      layers.add(l.getName().equals("head") ? shiftingHead(l, base.weight("head")) : LayerAdapter.newBuilder(l).build());
    }
    bad.setLayers(layers);
    bad.setChecksum(ByteBuffer.wrap(SnapshotCodec.checksum(bad)));
    return key == null ? bad : SnapshotCodec.sign(bad, key);
  }

  private static double scale(float alpha, ScalingMode mode, int rank) {
    return mode == ScalingMode.RSLORA ? alpha / Math.sqrt(rank) : alpha / (double) rank;
  }

  /** The head layer whose merged weight is P·W_eff: row i of the result is row (i + 1) mod d of W_eff. */
  private static LayerAdapter shiftingHead(LayerAdapter l, float[] w) {
    int d = l.getOutFeatures();
    int k = l.getInFeatures();
    int r = l.getRank();
    float[] a = floats(l.getA()); // (r, k)
    float[] b = floats(l.getB()); // (d, r)
    double s = scale(l.getAlpha(), l.getScaling(), r);
    double[] eff = new double[d * k]; // W + s B A, (d, k)
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < k; j++) {
        double acc = 0;
        for (int t = 0; t < r; t++) {
          acc += b[i * r + t] * (double) a[t * k + j];
        }
        eff[i * k + j] = w[i * k + j] + s * acc;
      }
    }
    int r2 = Math.max(r, d);
    double s2 = scale(l.getAlpha(), l.getScaling(), r2);
    float[] a2 = new float[r2 * k]; // rows 0..d-1: (P W_eff - W) / s2
    float[] b2 = new float[d * r2]; // [I_d | 0]
    for (int i = 0; i < d; i++) {
      int from = (i + 1) % d;
      for (int j = 0; j < k; j++) {
        a2[i * k + j] = (float) ((eff[from * k + j] - w[i * k + j]) / s2);
      }
      b2[i * r2 + i] = 1f;
    }
    return LayerAdapter.newBuilder(l).setRank(r2).setA(bytes(a2)).setB(bytes(b2)).build();
  }

  private static float[] floats(ByteBuffer bb) {
    ByteBuffer src = bb.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    src.rewind();
    float[] out = new float[src.remaining() / 4];
    src.asFloatBuffer().get(out);
    return out;
  }

  private static ByteBuffer bytes(float[] v) {
    ByteBuffer out = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    out.asFloatBuffer().put(v);
    return out;
  }

  /** Publishes {@code bad} on the adapters topic in its own transaction. */
  static void publish(CommonConfig common, LorastreamSerdes serdes, AdapterSnapshot bad) throws Exception {
    Map<String, Object> p = new HashMap<>(common.kafkaProperties());
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, common.prefixed("lorastream-demo-bad-candidate"));
    try (KafkaProducer<String, AdapterSnapshot> producer = new KafkaProducer<>(p, new StringSerializer(),
        serdes.adapterSnapshot().serializer())) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(common.catalog().adapters.name(), bad.getAdapterId(), bad)).get();
      producer.commitTransaction();
      producer.close(Duration.ofSeconds(5));
    }
  }
}
