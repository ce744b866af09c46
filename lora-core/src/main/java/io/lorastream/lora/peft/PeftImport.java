package io.lorastream.lora.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.Scaling;
import io.lorastream.lora.importer.BertNames;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.ModelSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads an adapter saved by Hugging Face PEFT ({@code save_pretrained}: {@code adapter_config.json}
 * and {@code adapter_model.safetensors}) for a {@code bert} base, the inverse of
 * {@link PeftExport}. Every tensor must belong to a module of the base with A and B shaped for it;
 * a rank comes from A's shape and must agree with the config's {@code rank_pattern}, an alpha
 * comes from {@code alpha_pattern} (matched as PEFT matches it: the key is a suffix, or a regular
 * expression, of the module path) or {@code lora_alpha}. Settings lorastream cannot reproduce
 * (DoRA, trained biases, fully trained extra modules, fan-in-fan-out weights) are refused with
 * the setting named, rather than imported as a different function.
 */
public final class PeftImport {
  private static final ObjectMapper JSON = new ObjectMapper();

  private PeftImport() {
  }

  /** The adapter's layers in the base's {@link ModelSpec#adaptableLayers()} order. */
  public static List<LayerWeights> read(Path dir, ModelSpec spec) throws IOException {
    if (!ModelSpec.BERT.equals(spec.kind())) {
      throw new IllegalArgumentException("PEFT import needs a base imported from Hugging Face (kind bert), not "
          + spec.kind());
    }
    Path configFile = dir.resolve(PeftExport.CONFIG);
    Path weightsFile = dir.resolve(PeftExport.WEIGHTS);
    if (!Files.isRegularFile(configFile) || !Files.isRegularFile(weightsFile)) {
      throw new IllegalArgumentException(dir + " needs " + PeftExport.CONFIG + " and " + PeftExport.WEIGHTS
          + " (a directory written by PEFT's save_pretrained)");
    }
    JsonNode c = JSON.readTree(configFile.toFile());
    refuseUnsupported(configFile, c);
    int defaultRank = c.path("r").asInt(8);
    float defaultAlpha = (float) c.path("lora_alpha").asDouble(8);
    Scaling scaling = c.path("use_rslora").asBoolean(false) ? Scaling.RSLORA : Scaling.STANDARD;

    Map<String, float[][]> byLayer = new LinkedHashMap<>(); // layer -> {A, B}
    Map<String, long[][]> shapes = new LinkedHashMap<>();
    Map<String, String> modules = new LinkedHashMap<>();
    for (Map.Entry<String, Safetensors.Tensor> e : Safetensors.read(weightsFile).entrySet()) {
      String key = e.getKey();
      int slot = key.endsWith(".lora_A.weight") || key.endsWith(".lora_embedding_A") ? 0
          : key.endsWith(".lora_B.weight") || key.endsWith(".lora_embedding_B") ? 1 : -1;
      if (slot < 0) {
        throw new IllegalArgumentException(weightsFile + ": tensor " + key + " is not a LoRA A or B factor (only "
            + "lora_A/lora_B and lora_embedding_A/B are imported)");
      }
      String module = key.substring(0, key.lastIndexOf(key.contains(".lora_embedding_") ? ".lora_embedding_" : ".lora_"));
      String layer = BertNames.layer(module);
      if (layer == null) {
        throw new IllegalArgumentException(weightsFile + ": tensor " + key + " targets " + module + ", which is not a "
            + "module of the base (adaptable: attention query/key/value/output, the feed-forward denses and "
            + BertNames.WORD_EMBEDDINGS + ")");
      }
      boolean embedding = layer.equals(ModelSpec.EMBEDDING_LAYER);
      if (embedding != key.contains(".lora_embedding_")) {
        throw new IllegalArgumentException(weightsFile + ": tensor " + key + ": " + module + " is "
            + (embedding ? "an embedding (lora_embedding_A/B)" : "a linear layer (lora_A/B.weight)"));
      }
      modules.put(layer, module.startsWith(PeftExport.PREFIX) ? module.substring(PeftExport.PREFIX.length()) : module);
      byLayer.computeIfAbsent(layer, k -> new float[2][])[slot] = e.getValue().values();
      shapes.computeIfAbsent(layer, k -> new long[2][])[slot] = e.getValue().shape();
    }
    if (byLayer.isEmpty()) {
      throw new IllegalArgumentException(weightsFile + " holds no LoRA tensors");
    }
    List<LayerWeights> out = new ArrayList<>();
    for (LayerInfo info : spec.adaptableLayers()) {
      float[][] ab = byLayer.get(info.name());
      if (ab == null) {
        continue;
      }
      String module = modules.get(info.name());
      if (ab[0] == null || ab[1] == null) {
        throw new IllegalArgumentException(weightsFile + ": " + module + " has only its " + (ab[0] == null ? "B" : "A")
            + " factor");
      }
      long[] sa = shapes.get(info.name())[0];
      long[] sb = shapes.get(info.name())[1];
      if (sa.length != 2 || sb.length != 2 || sa[1] != info.in() || sb[0] != info.out() || sb[1] != sa[0] || sa[0] < 1) {
        throw new IllegalArgumentException(weightsFile + ": " + module + " has A " + java.util.Arrays.toString(sa)
            + " and B " + java.util.Arrays.toString(sb) + "; the base's " + info.name() + " needs A [r, " + info.in()
            + "] and B [" + info.out() + ", r]");
      }
      int rank = (int) sa[0];
      JsonNode rp = match(c.path("rank_pattern"), module);
      int declared = rp == null ? defaultRank : rp.asInt();
      if (declared != rank) {
        throw new IllegalArgumentException(configFile + ": " + module + " is declared rank " + declared + " but its "
            + "tensors have rank " + rank);
      }
      JsonNode ap = match(c.path("alpha_pattern"), module);
      float alpha = ap == null ? defaultAlpha : (float) ap.asDouble();
      if (!(alpha > 0) || !Float.isFinite(alpha)) {
        throw new IllegalArgumentException(configFile + ": " + module + " has lora_alpha " + alpha + "; it must be > 0");
      }
      out.add(new LayerWeights(info.name(), rank, info.in(), info.out(), alpha, scaling, ab[0], ab[1]));
    }
    return out;
  }

  private static void refuseUnsupported(Path file, JsonNode c) {
    String type = c.path("peft_type").asText("");
    if (!type.equals("LORA")) {
      throw new IllegalArgumentException(file + ": peft_type is '" + type + "'; only LORA adapters are imported");
    }
    if (c.path("use_dora").asBoolean(false)) {
      throw new IllegalArgumentException(file + ": use_dora is true; DoRA's magnitude vectors have no lorastream "
          + "counterpart");
    }
    if (c.path("fan_in_fan_out").asBoolean(false)) {
      throw new IllegalArgumentException(file + ": fan_in_fan_out is true (Conv1D-style weights); BERT's linear layers "
          + "are (out, in)");
    }
    String bias = c.path("bias").asText("none");
    if (!bias.equals("none")) {
      throw new IllegalArgumentException(file + ": bias is '" + bias + "'; trained biases are not part of a LoRA "
          + "adapter here (train with bias=\"none\")");
    }
    JsonNode save = c.path("modules_to_save");
    if (save.isArray() && !save.isEmpty()) {
      throw new IllegalArgumentException(file + ": modules_to_save is " + save + "; fully trained modules are not "
          + "imported");
    }
  }

  /**
   * The value of the first pattern key that selects a module, as PEFT selects it: the key equals
   * the module path or a dotted suffix of it, or matches as a regular expression after an
   * optional prefix; null if none does.
   */
  static JsonNode match(JsonNode patterns, String module) {
    for (Iterator<Map.Entry<String, JsonNode>> it = patterns.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String k = e.getKey();
      if (module.equals(k) || module.endsWith("." + k)) {
        return e.getValue();
      }
      try {
        if (Pattern.compile("(.*\\.)?(" + k + ")$").matcher(module).matches()) {
          return e.getValue();
        }
      } catch (java.util.regex.PatternSyntaxException notARegex) {
        // a literal key with regex metacharacters: the suffix test above already covered it
      }
    }
    return null;
  }
}
