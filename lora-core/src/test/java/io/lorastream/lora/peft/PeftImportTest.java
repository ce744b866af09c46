package io.lorastream.lora.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.Scaling;
import io.lorastream.lora.model.ModelSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PEFT directories in: export then import is bit-exact, and what lorastream cannot reproduce is refused by name. */
class PeftImportTest {
  private static final ModelSpec BERT = ModelSpec.bert(60, 12, 32, 4, 2, 64, 3, ModelSpec.POOL_MEAN, 7);

  @TempDir
  Path tmp;

  private static LayerWeights layer(String name, int r, int in, int out, float alpha, Scaling s, long seed) {
    Random rnd = new Random(seed);
    float[] a = new float[r * in];
    float[] b = new float[out * r];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) rnd.nextGaussian();
    }
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) rnd.nextGaussian() * 1e-3f;
    }
    return new LayerWeights(name, r, in, out, alpha, s, a, b);
  }

  @Test
  void exportThenImportIsBitExactForLinearsAndTheEmbeddings() throws Exception {
    for (Scaling s : Scaling.values()) {
      Path dir = tmp.resolve(s.name());
      List<LayerWeights> layers = List.of(layer("l0.q", 8, 32, 32, 8f, s, 1), layer("l1.ff2", 3, 64, 32, 16f, s, 2),
          layer("emb", 5, 60, 32, 4f, s, 3));
      PeftExport.write(dir, BERT, "base", layers);
      assertThat(Safetensors.read(dir.resolve(PeftExport.WEIGHTS)))
          .containsKeys("base_model.model.embeddings.word_embeddings.lora_embedding_A",
              "base_model.model.embeddings.word_embeddings.lora_embedding_B");
      List<LayerWeights> back = PeftImport.read(dir, BERT);
      // adaptable-layer order: the linears in forward order, then the embedding table
      assertThat(back).extracting(LayerWeights::name).containsExactly("l0.q", "l1.ff2", "emb");
      for (int i = 0; i < 3; i++) {
        LayerWeights want = layers.get(i);
        LayerWeights got = back.stream().filter(l -> l.name().equals(want.name())).findFirst().orElseThrow();
        assertThat(got.rank()).isEqualTo(want.rank());
        assertThat(got.in()).isEqualTo(want.in());
        assertThat(got.out()).isEqualTo(want.out());
        assertThat(got.alpha()).isEqualTo(want.alpha());
        assertThat(got.scaling()).isEqualTo(s);
        assertThat(got.a()).containsExactly(want.a());
        assertThat(got.b()).containsExactly(want.b());
      }
    }
  }

  /** A directory as Python PEFT writes one: short pattern keys, default r/alpha, a model prefix, half precision. */
  @Test
  void readsPeftsOwnConventions() throws Exception {
    Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
    t.put("base_model.model.encoder.layer.1.attention.self.value.lora_A.weight",
        new Safetensors.Tensor(new long[] {4, 32}, new float[4 * 32]));
    t.put("base_model.model.encoder.layer.1.attention.self.value.lora_B.weight",
        new Safetensors.Tensor(new long[] {32, 4}, new float[32 * 4]));
    t.put("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight",
        new Safetensors.Tensor(new long[] {2, 32}, new float[2 * 32]));
    t.put("base_model.model.encoder.layer.0.attention.self.query.lora_B.weight",
        new Safetensors.Tensor(new long[] {32, 2}, new float[32 * 2]));
    Files.createDirectories(tmp);
    Safetensors.write(tmp.resolve(PeftExport.WEIGHTS), t, Map.of());
    ObjectNode c = new ObjectMapper().createObjectNode();
    c.put("peft_type", "LORA");
    c.put("r", 4);
    c.putArray("target_modules").add("query").add("value");
    c.putObject("rank_pattern").put("query", 2);
    c.putObject("alpha_pattern").put("layer\\.1\\..*value", 32);
    new ObjectMapper().writeValue(tmp.resolve(PeftExport.CONFIG).toFile(), c);
    List<LayerWeights> l = PeftImport.read(tmp, BERT);
    assertThat(l).extracting(LayerWeights::name).containsExactly("l0.q", "l1.v");
    assertThat(l).extracting(LayerWeights::rank).containsExactly(2, 4);
    assertThat(l).extracting(LayerWeights::alpha).containsExactly(8f, 32f); // lora_alpha defaults to 8, as in PEFT
    assertThat(l).extracting(LayerWeights::scaling).containsOnly(Scaling.STANDARD);
  }

  @Test
  void halfAndBfloat16TensorsWidenExactly() throws Exception {
    // 1.0, -2.5, 65504 (the largest half), 2^-24 (the smallest subnormal), 0
    short[] half = {0x3c00, (short) 0xc100, 0x7bff, 0x0001, 0};
    float[] want = {1f, -2.5f, 65504f, 0x1p-24f, 0f};
    float[] bf = {1.5f, -3.25f, 1e30f};
    ByteBuffer body = ByteBuffer.allocate(2 * half.length + 2 * bf.length).order(ByteOrder.LITTLE_ENDIAN);
    for (short h : half) {
      body.putShort(h);
    }
    for (float f : bf) {
      body.putShort((short) (Float.floatToIntBits(f) >>> 16));
    }
    String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
        + "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[10,16]}}";
    ByteBuffer file = ByteBuffer.allocate(8 + header.length() + body.capacity()).order(ByteOrder.LITTLE_ENDIAN);
    file.putLong(header.length()).put(header.getBytes(java.nio.charset.StandardCharsets.US_ASCII)).put(body.array());
    Path f = tmp.resolve("h.safetensors");
    Files.write(f, file.array());
    Map<String, Safetensors.Tensor> t = Safetensors.read(f);
    assertThat(t.get("h").values()).containsExactly(want);
    // bfloat16 keeps the top 16 bits: 1.5 and -3.25 exactly, 1e30 truncated
    assertThat(t.get("b").values()).containsExactly(1.5f, -3.25f,
        Float.intBitsToFloat(Float.floatToIntBits(1e30f) & 0xffff0000));
  }

  @Test
  void whatLorastreamCannotReproduceIsRefusedByName() throws Exception {
    List<LayerWeights> ok = List.of(layer("l0.q", 2, 32, 32, 8f, Scaling.STANDARD, 1));
    PeftExport.write(tmp, BERT, "base", ok);
    ObjectMapper json = new ObjectMapper();
    Path cfg = tmp.resolve(PeftExport.CONFIG);
    ObjectNode good = (ObjectNode) json.readTree(cfg.toFile());
    Map<String, String> refusals = Map.of("use_dora", "DoRA", "fan_in_fan_out", "fan_in_fan_out", "bias", "bias",
        "modules_to_save", "modules_to_save", "peft_type", "only LORA", "rank_pattern", "declared rank 7");
    for (Map.Entry<String, String> e : refusals.entrySet()) {
      ObjectNode c = good.deepCopy();
      switch (e.getKey()) {
        case "bias" -> c.put("bias", "all");
        case "modules_to_save" -> c.putArray("modules_to_save").add("classifier");
        case "peft_type" -> c.put("peft_type", "IA3");
        case "rank_pattern" -> c.putObject("rank_pattern").put("query", 7);
        default -> c.put(e.getKey(), true);
      }
      json.writeValue(cfg.toFile(), c);
      assertThatThrownBy(() -> PeftImport.read(tmp, BERT)).as(e.getKey()).hasMessageContaining(e.getValue());
    }
    json.writeValue(cfg.toFile(), good);
    // a shape that does not fit the base, and a module the base lacks
    ModelSpec wider = ModelSpec.bert(60, 12, 48, 4, 2, 64, 3, ModelSpec.POOL_MEAN, 7);
    assertThatThrownBy(() -> PeftImport.read(tmp, wider)).hasMessageContaining("needs A [r, 48]");
    Map<String, Safetensors.Tensor> t = new LinkedHashMap<>(Safetensors.read(tmp.resolve(PeftExport.WEIGHTS)));
    t.put("base_model.model.pooler.dense.lora_A.weight", new Safetensors.Tensor(new long[] {2, 32}, new float[64]));
    Safetensors.write(tmp.resolve(PeftExport.WEIGHTS), t, Map.of());
    assertThatThrownBy(() -> PeftImport.read(tmp, BERT)).hasMessageContaining("pooler.dense, which is not a module");
    t.remove("base_model.model.pooler.dense.lora_A.weight");
    t.remove("base_model.model.encoder.layer.0.attention.self.query.lora_B.weight");
    Safetensors.write(tmp.resolve(PeftExport.WEIGHTS), t, Map.of());
    assertThatThrownBy(() -> PeftImport.read(tmp, BERT)).hasMessageContaining("has only its A factor");
    assertThatThrownBy(() -> PeftImport.read(tmp.resolve("nowhere"), BERT)).hasMessageContaining("save_pretrained");
  }
}
