package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LayerAdapter;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BadCandidateTest {
  private static final byte[] KEY = "bad-candidate-test-key-0123456789".getBytes(StandardCharsets.UTF_8);

  @Test
  void theBadHeadAnswersWithTheSnapshotsLogitsShiftedByOneClassAndStillVerifies() {
    try (BaseModel base = BaseModel.create(ModelSpec.mlp(5, List.of(7), 4, 11), Device.cpu());
        LoraModel lora = LoraModel.create(base, AdapterConfig.defaults().withRank(2))) {
      AdapterSnapshot trained = withRandomB(SnapshotCodec.encode(lora, SnapshotMeta.of("t", 3, "tr"), null));
      AdapterSnapshot bad = BadCandidate.of(trained, base, 4, KEY);
      assertThat(bad.getVersion()).isEqualTo(4);
      MergedModel good = SnapshotCodec.decode(trained, base, null).merge(base);
      MergedModel shifted = SnapshotCodec.decode(bad, base, KEY).merge(base); // verifies checksum and signature
      assertThat(shifted.ranks().get("head")).as("a (4, 7) update needs rank 4").isEqualTo(4);
      float[] bias = base.bias("head");
      Random rnd = new Random(5);
      int wrong = 0;
      for (int n = 0; n < 50; n++) {
        float[] x = new float[5];
        for (int i = 0; i < x.length; i++) {
          x[i] = (float) rnd.nextGaussian();
        }
        float[] g = good.logits(x);
        float[] b = shifted.logits(x);
        for (int i = 0; i < 4; i++) {
          int from = (i + 1) % 4;
          assertThat(b[i] - bias[i]).isCloseTo(g[from] - bias[from], within(1e-4f));
        }
        wrong += good.predict(x) != shifted.predict(x) ? 1 : 0;
      }
      assertThat(wrong).as("answers that differ from the snapshot's").isGreaterThan(40);
    }
  }

  /** The snapshot with every B filled with Gaussian noise, so that the trained head is not the base's. */
  private static AdapterSnapshot withRandomB(AdapterSnapshot s) {
    Random rnd = new Random(1);
    List<LayerAdapter> layers = new ArrayList<>();
    for (LayerAdapter l : s.getLayers()) {
      ByteBuffer b = ByteBuffer.allocate(4 * l.getOutFeatures() * l.getRank()).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < l.getOutFeatures() * l.getRank(); i++) {
        b.putFloat((float) rnd.nextGaussian() * 0.3f);
      }
      b.flip();
      layers.add(LayerAdapter.newBuilder(l).setB(b).build());
    }
    AdapterSnapshot copy = AdapterSnapshot.newBuilder(s).setLayers(layers).build();
    copy.setChecksum(ByteBuffer.wrap(SnapshotCodec.checksum(copy)));
    return copy;
  }
}
