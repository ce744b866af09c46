package io.lorastream.lora.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.Scaling;
import io.lorastream.lora.model.ModelSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftExportTest {
  private static final ModelSpec BERT = ModelSpec.bert(60, 12, 32, 4, 2, 64, 3, ModelSpec.POOL_MEAN, 7);

  @TempDir
  Path tmp;

  private static LayerWeights layer(String name, int r, int in, int out, float alpha, Scaling s) {
    float[] a = new float[r * in];
    float[] b = new float[out * r];
    for (int i = 0; i < a.length; i++) {
      a[i] = i * 0.25f - 3f;
    }
    for (int i = 0; i < b.length; i++) {
      b[i] = 1f / (i + 1);
    }
    return new LayerWeights(name, r, in, out, alpha, s, a, b);
  }

  @Test
  void keysShapesValuesAndConfigAreWhatPeftLoads() throws Exception {
    List<LayerWeights> layers = List.of(layer("l0.q", 8, 32, 32, 8f, Scaling.STANDARD),
        layer("l1.ff1", 4, 32, 64, 16f, Scaling.STANDARD), layer("l1.o", 4, 32, 32, 8f, Scaling.STANDARD));
    PeftExport.write(tmp, BERT, "my-base", layers);
    Map<String, Safetensors.Tensor> t = Safetensors.read(tmp.resolve(PeftExport.WEIGHTS));
    assertThat(t.keySet()).containsExactly(
        "base_model.model.encoder.layer.0.attention.self.query.lora_A.weight",
        "base_model.model.encoder.layer.0.attention.self.query.lora_B.weight",
        "base_model.model.encoder.layer.1.intermediate.dense.lora_A.weight",
        "base_model.model.encoder.layer.1.intermediate.dense.lora_B.weight",
        "base_model.model.encoder.layer.1.attention.output.dense.lora_A.weight",
        "base_model.model.encoder.layer.1.attention.output.dense.lora_B.weight");
    assertThat(t.get("base_model.model.encoder.layer.1.intermediate.dense.lora_A.weight").shape()).containsExactly(4, 32);
    assertThat(t.get("base_model.model.encoder.layer.1.intermediate.dense.lora_B.weight").shape()).containsExactly(64, 4);
    // Bit-exact round trip of the values.
    assertThat(t.get("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight").values())
        .containsExactly(layers.get(0).a());
    assertThat(t.get("base_model.model.encoder.layer.0.attention.self.query.lora_B.weight").values())
        .containsExactly(layers.get(0).b());
    JsonNode c = new ObjectMapper().readTree(tmp.resolve(PeftExport.CONFIG).toFile());
    assertThat(c.path("peft_type").asText()).isEqualTo("LORA");
    assertThat(c.path("base_model_name_or_path").asText()).isEqualTo("my-base");
    assertThat(c.path("use_rslora").asBoolean()).isFalse();
    assertThat(c.path("rank_pattern").path("encoder.layer.0.attention.self.query").asInt()).isEqualTo(8);
    assertThat(c.path("alpha_pattern").path("encoder.layer.1.intermediate.dense").asDouble()).isEqualTo(16.0);
    assertThat(c.path("target_modules")).hasSize(3);
  }

  @Test
  void whatPeftCannotCarryIsRefused() {
    assertThat(PeftExport.moduleOf(BERT, "emb")).isEqualTo("embeddings.word_embeddings");
    assertThat(io.lorastream.lora.importer.BertNames.layer("bert.encoder.layer.1.output.dense")).isEqualTo("l1.ff2");
    assertThat(io.lorastream.lora.importer.BertNames.layer("encoder.layer.1.output.LayerNorm")).isNull();
    assertThatThrownBy(() -> PeftExport.write(tmp, BERT, "b", List.of(layer("head", 2, 32, 3, 8f, Scaling.STANDARD))))
        .hasMessageContaining("no Hugging Face counterpart");
    assertThatThrownBy(() -> PeftExport.write(tmp, BERT, "b", List.of(layer("l0.q", 2, 32, 32, 8f, Scaling.STANDARD),
        layer("l0.v", 2, 32, 32, 8f, Scaling.RSLORA)))).hasMessageContaining("use_rslora");
    assertThatThrownBy(() -> PeftExport.moduleOf(ModelSpec.transformer(50, 8, 8, 2, 2, 16, 3, 1), "l0.q"))
        .hasMessageContaining("kind bert");
  }
}
