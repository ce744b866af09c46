package io.lorastream.lora.peft;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.importer.BertNames;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.model.TensorSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes what {@code tools/peft_check.py} needs to check a PEFT export against PyTorch, PEFT and
 * transformers on a machine that has them: a random bert base as a Hugging Face BertModel
 * ({@code base/model.safetensors}, {@code base/config.json}), a random LoRA adapter on it exported
 * for PEFT ({@code adapter/}), token rows and lorastream's pooled outputs with and without the
 * adapter ({@code expected.json}). {@code java -cp ... io.lorastream.lora.peft.PeftFixture DIR}.
 */
public final class PeftFixture {
  private PeftFixture() {
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args.length > 0 ? args[0] : "peft-fixture");
    ModelSpec spec = ModelSpec.bert(60, 12, 32, 4, 2, 64, 3, ModelSpec.POOL_MEAN, 7);
    Random rnd = new Random(3);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        LoraModel m = LoraModel.create(base, AdapterConfig.defaults()
            .withTargets(List.of("*.q", "*.v", "*.ff1", "l1.o", "emb")).withRank(4).withAlpha(8f), DataType.FLOAT32)) {
      m.grow("l0.q", 8); // unequal ranks: rank_pattern must carry them
      Fixtures.randomizeB(m, rnd, 0.5);
      List<LayerWeights> layers = new ArrayList<>();
      for (LayerInfo l : m.targets()) {
        String n = l.name();
        layers.add(new LayerWeights(n, m.ranks().get(n), l.in(), l.out(), m.alpha(n), m.scaling(n),
            LoraModel.toFloat(m.a(n)), LoraModel.toFloat(m.b(n))));
      }
      PeftExport.write(dir.resolve("adapter"), spec, "lorastream-peft-fixture", layers);
      writeBase(dir.resolve("base"), base);
      MergedModel merged = m.merge();
      MergedModel frozen = MergedModel.ofBase(base);
      float[] rows = Fixtures.tokenRows(rnd, 5, spec.seqLen(), spec.vocabSize(), false);
      ObjectMapper json = new ObjectMapper();
      ObjectNode out = json.createObjectNode();
      ArrayNode ids = out.putArray("input_ids");
      ArrayNode mask = out.putArray("attention_mask");
      ArrayNode pooled = out.putArray("pooled");
      ArrayNode pooledBase = out.putArray("pooled_base");
      for (int s = 0; s < 5; s++) {
        float[] row = Fixtures.row(rows, s, spec.seqLen());
        ArrayNode i = ids.addArray();
        ArrayNode k = mask.addArray();
        for (float t : row) {
          i.add((long) t);
          k.add(t > 0 ? 1 : 0);
        }
        ArrayNode p = pooled.addArray();
        for (float v : merged.pooled(row)) {
          p.add(v);
        }
        ArrayNode q = pooledBase.addArray();
        for (float v : frozen.pooled(row)) {
          q.add(v);
        }
      }
      json.writeValue(dir.resolve("expected.json").toFile(), out);
      System.out.println("wrote " + dir.toAbsolutePath());
    }
  }

  /** The base in Hugging Face BertModel names and layouts, with a config.json transformers reads. */
  public static void writeBase(Path dir, BaseModel base) throws Exception {
    ModelSpec s = base.spec();
    Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
    List<TensorSpec> specs = base.tensors();
    for (int i = 0; i < specs.size(); i++) {
      TensorSpec ts = specs.get(i);
      if (ts.name().startsWith("head.")) {
        continue; // lorastream's own head: not part of BertModel
      }
      String hf = BertNames.parameter(ts.name());
      long[] shape = java.util.Arrays.stream(ts.shape()).asLongStream().toArray();
      t.put(hf, new Safetensors.Tensor(shape, base.hostTensor(i).clone()));
    }
    Files.createDirectories(dir);
    Safetensors.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
    ObjectNode c = new ObjectMapper().createObjectNode();
    c.putArray("architectures").add("BertModel");
    c.put("model_type", "bert");
    c.put("vocab_size", s.vocabSize());
    c.put("hidden_size", s.dModel());
    c.put("num_hidden_layers", s.layers());
    c.put("num_attention_heads", s.heads());
    c.put("intermediate_size", s.ffnSize());
    c.put("hidden_act", "gelu");
    c.put("max_position_embeddings", s.seqLen());
    c.put("type_vocab_size", 1);
    c.put("layer_norm_eps", 1e-12);
    c.put("pad_token_id", 0);
    c.put("hidden_dropout_prob", 0.0);
    c.put("attention_probs_dropout_prob", 0.0);
    new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), c);
  }
}
