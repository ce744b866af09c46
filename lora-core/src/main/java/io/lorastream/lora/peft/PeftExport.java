package io.lorastream.lora.peft;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.Scaling;
import io.lorastream.lora.importer.BertNames;
import io.lorastream.lora.model.ModelSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes an adapter in the format Hugging Face PEFT loads with {@code PeftModel.from_pretrained}:
 * {@code adapter_model.safetensors} with {@code base_model.model.<module>.lora_A.weight} (r, in)
 * and {@code .lora_B.weight} (out, r) per adapted linear layer ({@code lora_embedding_A} (r, vocab)
 * and {@code lora_embedding_B} (d, r) for the word embeddings), and {@code adapter_config.json}
 * ({@code peft_type} LORA, {@code r}, {@code lora_alpha}, {@code target_modules},
 * {@code rank_pattern}, {@code alpha_pattern}, {@code use_rslora}, {@code base_model_name_or_path}).
 * The module names are those of the Hugging Face model the base was imported from (BertModel:
 * {@code encoder.layer.<i>.attention.self.query} and so on). lorastream's A and B already have
 * PEFT's layouts and its scale (alpha/r, or alpha/sqrt(r) for rsLoRA), so values are written as they
 * are. A layer with no Hugging Face counterpart (the classification head lorastream added) is
 * refused: PEFT could not attach it.
 */
public final class PeftExport {
  public static final String WEIGHTS = "adapter_model.safetensors";
  public static final String CONFIG = "adapter_config.json";
  static final String PREFIX = "base_model.model.";

  private PeftExport() {
  }

  /** The Hugging Face module of a lorastream layer of a {@code bert} base ({@link BertNames}). */
  public static String moduleOf(ModelSpec spec, String layer) {
    if (!ModelSpec.BERT.equals(spec.kind())) {
      throw new IllegalArgumentException("PEFT export needs a base imported from Hugging Face (kind bert), not "
          + spec.kind());
    }
    if (layer.equals("head")) {
      throw new IllegalArgumentException("layer head has no Hugging Face counterpart (lorastream's own "
          + "classification head); train the adapter without it to export it for PEFT");
    }
    return BertNames.module(layer);
  }

  /**
   * The state-dict keys of a module's A and B: {@code base_model.model.<module>.lora_A.weight} for
   * a linear layer, {@code base_model.model.<module>.lora_embedding_A} for an embedding (PEFT keeps
   * those as bare parameters, not as Linear modules).
   */
  static String[] keys(String module, boolean embedding) {
    String key = PREFIX + module;
    return embedding ? new String[] {key + ".lora_embedding_A", key + ".lora_embedding_B"}
        : new String[] {key + ".lora_A.weight", key + ".lora_B.weight"};
  }

  /** Writes both files into {@code dir} (created if needed). */
  public static void write(Path dir, ModelSpec spec, String baseModelId, List<LayerWeights> layers) throws IOException {
    if (layers.isEmpty()) {
      throw new IllegalArgumentException("the adapter has no layers");
    }
    Scaling scaling = layers.get(0).scaling();
    for (LayerWeights l : layers) {
      if (l.scaling() != scaling) {
        throw new IllegalArgumentException("layers mix " + scaling + " and " + l.scaling() + " scaling; PEFT's use_rslora "
            + "is one setting for the whole adapter");
      }
    }
    Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
    List<String> modules = new ArrayList<>();
    Map<String, Integer> ranks = new LinkedHashMap<>();
    Map<String, Float> alphas = new LinkedHashMap<>();
    for (LayerWeights l : layers) {
      String module = moduleOf(spec, l.name());
      modules.add(module);
      ranks.put(module, l.rank());
      alphas.put(module, l.alpha());
      String[] keys = keys(module, l.name().equals(ModelSpec.EMBEDDING_LAYER));
      tensors.put(keys[0], new Safetensors.Tensor(new long[] {l.rank(), l.in()}, l.a()));
      tensors.put(keys[1], new Safetensors.Tensor(new long[] {l.out(), l.rank()}, l.b()));
    }
    Files.createDirectories(dir);
    Safetensors.write(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode c = json.createObjectNode();
    c.put("peft_type", "LORA");
    c.putNull("task_type");
    c.put("base_model_name_or_path", baseModelId);
    c.put("r", layers.get(0).rank());
    c.put("lora_alpha", layers.get(0).alpha());
    c.put("use_rslora", scaling == Scaling.RSLORA);
    var targets = c.putArray("target_modules");
    modules.forEach(targets::add);
    ObjectNode rp = c.putObject("rank_pattern");
    ranks.forEach(rp::put);
    ObjectNode ap = c.putObject("alpha_pattern");
    alphas.forEach(ap::put);
    c.put("lora_dropout", 0.0);
    c.put("bias", "none");
    c.put("fan_in_fan_out", false);
    c.put("inference_mode", true);
    c.put("init_lora_weights", true);
    json.writeValue(dir.resolve(CONFIG).toFile(), c);
  }
}
