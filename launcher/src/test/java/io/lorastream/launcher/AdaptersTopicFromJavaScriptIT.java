package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LayerAdapter;
import io.lorastream.avro.OffsetRange;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.testing.LocalStackExtension;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adapters topic's documented format, read by another implementation: Confluent's JavaScript
 * Schema Registry client ({@code @confluentinc/schemaregistry} from npm) decodes a signed snapshot
 * the trainer's codec wrote, against the embedded registry over HTTP, and {@code read-snapshot.mjs}
 * recomputes the checksum from README's canonical encoding, checks the HMAC and reads A and B as
 * README lays them out. A tampered copy must fail. Needs node and npm; skipped where they are
 * missing or the npm registry cannot be reached (the package is installed into target/js-client).
 */
class AdaptersTopicFromJavaScriptIT {
  static final String PACKAGE = "@confluentinc/schemaregistry@1.10.1";
  @RegisterExtension static LocalStackExtension stack = new LocalStackExtension(1);
  @TempDir Path tmp;

  @Test
  void confluentsJavaScriptClientDecodesAndVerifiesASignedSnapshotAsDocumented() throws Exception {
    Path dir = Path.of("target", "js-client").toAbsolutePath();
    installClient(dir);
    byte[] key = HexFormat.of().parseHex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    AdapterSnapshot s;
    try (BaseModel base = BaseModel.create(ModelSpec.mlp(8, List.of(6), 3, 5L), Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, AdapterConfig.defaults().withRank(4),
            LearnerConfig.defaults().withMicroBatchSize(4).withAccumulationSteps(1))) {
      SplittableRandom rnd = new SplittableRandom(3);
      for (int i = 0; i < 6; i++) { // non-zero B: a trained adapter, so the layout is visible in the values
        float[] x = new float[4 * 8];
        for (int j = 0; j < x.length; j++) {
          x[j] = (float) rnd.nextDouble(-1, 1);
        }
        learner.trainMicroBatch(x, new int[] {0, 1, 2, 1}, null);
      }
      learner.flush();
      SnapshotMeta meta = new SnapshotMeta("js-check", 7, "it-trainer", Instant.ofEpochMilli(1_764_000_000_123L), 6, 24,
          List.of(OffsetRange.newBuilder().setTopic("examples.train").setPartition(0).setFromOffset(0).setUntilOffset(24)
              .build()), Map.of("loss_ema", 1.25, "grad_norm", 0.5));
      s = SnapshotCodec.encode(learner, meta, key);
    }
    String topic = stack.catalog().adapters.name();
    byte[] value = stack.serdes().adapterSnapshot().serializer().serialize(topic, s);
    JsonNode good = read(dir, topic, value, key, 0);
    assertThat(good.get("adapterId").asText()).isEqualTo("js-check");
    assertThat(good.get("version").asLong()).isEqualTo(7);
    assertThat(good.get("checksumOk").asBoolean()).as("the canonical encoding in README reproduces the checksum").isTrue();
    assertThat(good.get("signatureOk").asBoolean()).isTrue();
    assertThat(good.get("layers")).hasSize(s.getLayers().size());
    for (int i = 0; i < s.getLayers().size(); i++) {
      LayerAdapter l = s.getLayers().get(i);
      JsonNode j = good.get("layers").get(i);
      float[] a = floats(l.getA());
      float[] b = floats(l.getB());
      assertThat(j.get("name").asText()).isEqualTo(l.getName());
      assertThat(j.get("aLength").asInt()).isEqualTo(l.getRank() * l.getInFeatures()).isEqualTo(a.length);
      assertThat(j.get("bLength").asInt()).isEqualTo(l.getOutFeatures() * l.getRank()).isEqualTo(b.length);
      assertThat((float) j.get("aFirst").asDouble()).isEqualTo(a[0]);
      assertThat((float) j.get("aLast").asDouble()).isEqualTo(a[a.length - 1]);
      assertThat((float) j.get("bFirst").asDouble()).isEqualTo(b[0]);
      assertThat((float) j.get("bLast").asDouble()).isEqualTo(b[b.length - 1]);
      double delta00 = 0;
      for (int k = 0; k < l.getRank(); k++) {
        delta00 += b[k] * a[k * l.getInFeatures()];
      }
      delta00 *= l.getScaling() == io.lorastream.avro.ScalingMode.RSLORA ? l.getAlpha() / Math.sqrt(l.getRank())
          : l.getAlpha() / l.getRank();
      assertThat(j.get("delta00").asDouble()).isCloseTo(delta00, org.assertj.core.data.Offset.offset(1e-6));
    }
    // One flipped bit of A: the checksum no longer matches, so the reader must reject the record.
    AdapterSnapshot tampered = AdapterSnapshot.newBuilder(s).build();
    List<LayerAdapter> layers = new ArrayList<>(tampered.getLayers());
    byte[] a = bytes(layers.get(0).getA());
    a[0] ^= 1;
    layers.set(0, LayerAdapter.newBuilder(layers.get(0)).setA(ByteBuffer.wrap(a)).build());
    tampered.setLayers(layers);
    JsonNode bad = read(dir, topic, stack.serdes().adapterSnapshot().serializer().serialize(topic, tampered), key, 1);
    assertThat(bad.get("checksumOk").asBoolean()).isFalse();
    assertThat(bad.get("signatureOk").asBoolean()).as("the signature covers the stored checksum, which is unchanged")
        .isTrue();
  }

  private JsonNode read(Path dir, String topic, byte[] value, byte[] key, int expectedExit) throws Exception {
    Path file = Files.write(tmp.resolve("value-" + System.nanoTime() + ".bin"), value);
    Path script = Path.of("src", "test", "js", "read-snapshot.mjs").toAbsolutePath();
    Process p = new ProcessBuilder("node", script.toString(), stack.registryUrl(), topic, file.toString(),
        HexFormat.of().formatHex(key)).directory(dir.toFile()).redirectErrorStream(true).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(out).isEqualTo(expectedExit);
    String last = out.strip().lines().reduce((x, y) -> y).orElse("");
    return new ObjectMapper().readTree(last);
  }

  /** npm-installs the pinned client into {@code dir} once; skips the test without node, npm or the registry. */
  private static void installClient(Path dir) throws Exception {
    assumeTrue(runs("node", "--version") && runs("npm", "--version"), "node and npm are needed for this test");
    if (Files.isDirectory(dir.resolve("node_modules/@confluentinc/schemaregistry"))) {
      return;
    }
    Files.createDirectories(dir);
    Process p = new ProcessBuilder("npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-save",
        "--prefix", dir.toString(), PACKAGE).redirectErrorStream(true).start();
    boolean done = p.waitFor(300, TimeUnit.SECONDS);
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assumeTrue(done && p.exitValue() == 0, "cannot npm-install " + PACKAGE + " (is the npm registry reachable?): " + log);
  }

  private static boolean runs(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static byte[] bytes(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }

  private static float[] floats(ByteBuffer b) {
    ByteBuffer d = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[d.remaining() / 4];
    d.asFloatBuffer().get(out);
    return out;
  }
}
