package io.lorastream.lora.importer;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.text.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Builds a {@code bert} base from a BERT-family encoder, exported to ONNX or as a Hugging Face model
 * directory (BERT, MiniLM and any
 * model with the same layout: word, position and token-type embeddings with a LayerNorm, post-LN
 * encoder layers with a GELU feed-forward), plus a new classification head.
 *
 * <p>Hugging Face's export keeps the biases and LayerNorm parameters under their module names
 * ({@code encoder.layer.3.attention.self.query.bias}) but stores every linear weight as an
 * anonymous {@code onnx::MatMul_*} initializer of shape (in, out). Each weight is matched to its
 * layer by following the graph: the MatMul that reads it feeds the Add that takes the layer's
 * named bias. Anything else (a missing tensor, a weight no Add claims, an unexpected shape) is
 * refused with a message that says what was found.
 */
public final class BertImporter {
  private static final String[] BLOCK_LINEARS = {"q", "k", "v", "o"};

  /**
   * What the ONNX graph does not say: the head count (a reshape constant, not a tensor), the
   * token window, the classes and pooling of the new head, and the head's seed.
   */
  public record Options(int heads, int seqLen, int classes, String pooling, long seed) {
  }

  private BertImporter() {
  }

  /** The base, on {@code device}; its id names the source ({@code id}) and the weights' fingerprint. */
  public static BaseModel fromOnnx(OnnxGraph g, Options o, String id, Device device) {
    return fromOnnx(g, o, id, null, device);
  }

  /**
   * As {@link #fromOnnx(OnnxGraph, Options, String, Device)}, carrying the model's
   * {@code tokenizer.json} (null for none), checked against the vocabulary.
   */
  public static BaseModel fromOnnx(OnnxGraph g, Options o, String id, byte[] tokenizerOrNull, Device device) {
    Map<String, OnnxGraph.Tensor> t = byModuleName(g.initializers().values());
    return build(t, linearWeights(g, t), o, id, tokenizerOrNull, device);
  }

  /** The base from tensors by module name and linear weights (out, in) by module. */
  private static BaseModel build(Map<String, OnnxGraph.Tensor> t, Map<String, float[]> weights, Options o, String id,
      byte[] tokenizer, Device device) {
    OnnxGraph.Tensor word = require(t, BertNames.parameter("tok_emb"));
    OnnxGraph.Tensor position = require(t, BertNames.parameter("pos_emb"));
    OnnxGraph.Tensor type = require(t, BertNames.parameter("type_emb"));
    int vocab = (int) word.dims()[0];
    int d = (int) word.dims()[1];
    int layers = 0;
    while (t.containsKey(BertNames.parameter("l" + layers + ".q.bias"))) {
      layers++;
    }
    if (layers == 0) {
      throw new IllegalArgumentException("no encoder.layer.0.attention.self.query.bias in the graph: not a BERT-family "
          + "encoder (initializers: " + preview(t.keySet()) + ")");
    }
    int ffn = (int) require(t, BertNames.parameter("l0.ff1.bias")).dims()[0];
    if (o.seqLen() > position.dims()[0]) {
      throw new IllegalArgumentException("the model has " + position.dims()[0] + " positions; a token window of "
          + o.seqLen() + " does not fit");
    }
    if (o.heads() <= 0 || d % o.heads() != 0) {
      throw new IllegalArgumentException("heads must divide the model width " + d + ", got " + o.heads());
    }
    ModelSpec spec = ModelSpec.bert(vocab, o.seqLen(), d, o.heads(), layers, ffn, o.classes(), o.pooling(), o.seed());
    Map<String, float[]> out = new LinkedHashMap<>();
    out.put("tok_emb", word.values());
    out.put("pos_emb", java.util.Arrays.copyOf(position.values(), o.seqLen() * d));
    out.put("type_emb", java.util.Arrays.copyOf(type.values(), d)); // token type 0
    copy(out, t, "emb_ln.gamma", "emb_ln.beta");
    for (int i = 0; i < layers; i++) {
      String l = "l" + i + ".";
      for (String q : BLOCK_LINEARS) {
        linear(out, l + q, t, weights);
      }
      copy(out, t, l + "ln1.gamma", l + "ln1.beta");
      linear(out, l + "ff1", t, weights);
      linear(out, l + "ff2", t, weights);
      copy(out, t, l + "ln2.gamma", l + "ln2.beta");
    }
    Random rnd = new Random(o.seed());
    float[] head = new float[o.classes() * d];
    double std = Math.sqrt(1.0 / d);
    for (int i = 0; i < head.length; i++) {
      head[i] = (float) (rnd.nextGaussian() * std);
    }
    out.put("head.weight", head);
    out.put("head.bias", new float[o.classes()]);
    if (tokenizer != null) {
      TextTokenizer.check(tokenizer, vocab);
    }
    return BaseModel.fromTensors(spec, out, id, tokenizer, device);
  }

  /**
   * The base of a Hugging Face model directory of the BERT family: {@code config.json} (its
   * {@code model_type}, sizes, {@code hidden_act} and {@code layer_norm_eps} are checked) and
   * {@code model.safetensors} (float32). The head count comes from the config; {@code o.heads()} is
   * ignored unless the config lacks it. The directory's {@code tokenizer.json}, when there is one,
   * is carried in the base.
   */
  public static BaseModel fromHuggingFace(Path dir, Options o, String id, Device device) throws IOException {
    Path configFile = dir.resolve("config.json");
    Path weightsFile = dir.resolve("model.safetensors");
    if (!Files.isRegularFile(configFile) || !Files.isRegularFile(weightsFile)) {
      throw new IllegalArgumentException(dir + " needs config.json and model.safetensors (a Hugging Face model "
          + "directory); found " + (Files.isDirectory(dir) ? listing(dir) : "no such directory"));
    }
    JsonNode c = new ObjectMapper().readTree(configFile.toFile());
    String type = c.path("model_type").asText("");
    if (!type.equals("bert")) {
      throw new IllegalArgumentException(configFile + ": model_type is '" + type + "'; only the BERT family (model_type "
          + "bert, e.g. BERT and MiniLM) is supported");
    }
    String act = c.path("hidden_act").asText("gelu");
    if (!act.equals("gelu")) {
      throw new IllegalArgumentException(configFile + ": hidden_act is '" + act + "'; only gelu (erf) is supported");
    }
    double eps = c.path("layer_norm_eps").asDouble(1e-12);
    if (Math.abs(eps - 1e-12) > 1e-15) {
      throw new IllegalArgumentException(configFile + ": layer_norm_eps is " + eps + "; the bert kind uses 1e-12");
    }
    int heads = c.path("num_attention_heads").asInt(o.heads());
    Map<String, OnnxGraph.Tensor> t = new LinkedHashMap<>();
    for (Map.Entry<String, io.lorastream.lora.peft.Safetensors.Tensor> e
        : io.lorastream.lora.peft.Safetensors.read(weightsFile).entrySet()) {
      t.put(e.getKey(), new OnnxGraph.Tensor(e.getKey(), e.getValue().shape(), e.getValue().values()));
    }
    Map<String, OnnxGraph.Tensor> byModule = byModuleName(t.values());
    Map<String, float[]> weights = new HashMap<>(); // HF stores linear weights as (out, in) already
    for (Map.Entry<String, OnnxGraph.Tensor> e : byModule.entrySet()) {
      if (e.getKey().endsWith(".weight") && e.getValue().dims().length == 2 && e.getKey().startsWith("encoder.")) {
        weights.put(e.getKey().substring(0, e.getKey().length() - ".weight".length()), e.getValue().values());
      }
    }
    Path tok = dir.resolve("tokenizer.json");
    byte[] tokenizer = Files.isRegularFile(tok) ? Files.readAllBytes(tok) : null;
    return build(byModule, weights, new Options(heads, o.seqLen(), o.classes(), o.pooling(), o.seed()), id, tokenizer,
        device);
  }

  private static String listing(Path dir) throws IOException {
    try (var s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList().toString();
    }
  }

  /** Initializers by Hugging Face module name, without a model prefix such as {@code bert.}. */
  private static Map<String, OnnxGraph.Tensor> byModuleName(java.util.Collection<OnnxGraph.Tensor> tensors) {
    Map<String, OnnxGraph.Tensor> m = new LinkedHashMap<>();
    for (OnnxGraph.Tensor t : tensors) {
      String n = t.name();
      int at = n.indexOf("embeddings.");
      int enc = n.indexOf("encoder.layer.");
      int cut = at == 0 || enc == 0 ? 0 : Math.max(at, enc);
      m.put(cut > 0 && n.charAt(cut - 1) == '.' ? n.substring(cut) : n, t);
    }
    return m;
  }

  /** Weight (out, in) row-major per module name, found through MatMul -> Add(bias). */
  private static Map<String, float[]> linearWeights(OnnxGraph g, Map<String, OnnxGraph.Tensor> byModule) {
    Map<String, String> moduleOfBias = new HashMap<>();
    for (Map.Entry<String, OnnxGraph.Tensor> e : byModule.entrySet()) {
      if (e.getKey().endsWith(".bias")) {
        moduleOfBias.put(e.getValue().name(), e.getKey().substring(0, e.getKey().length() - ".bias".length()));
      }
    }
    Map<String, OnnxGraph.Tensor> weightOfOutput = new HashMap<>(); // MatMul output -> its initializer operand
    for (OnnxGraph.Node n : g.nodes()) {
      if (n.opType().equals("MatMul") && n.inputs().size() == 2 && g.initializers().containsKey(n.inputs().get(1))) {
        weightOfOutput.put(n.outputs().get(0), g.initializers().get(n.inputs().get(1)));
      }
    }
    Map<String, float[]> out = new HashMap<>();
    for (OnnxGraph.Node n : g.nodes()) {
      if (!n.opType().equals("Add") || n.inputs().size() != 2) {
        continue;
      }
      String module = null;
      OnnxGraph.Tensor w = null;
      for (String in : n.inputs()) {
        module = moduleOfBias.getOrDefault(in, module);
        w = weightOfOutput.getOrDefault(in, w);
      }
      if (module != null && w != null) {
        if (w.dims().length != 2) {
          throw new IllegalArgumentException("weight of " + module + " has dims " + java.util.Arrays.toString(w.dims()));
        }
        int in = (int) w.dims()[0];
        int o = (int) w.dims()[1];
        out.put(module, BaseModel.transpose(w.values(), in, o)); // (in, out) -> (out, in)
      }
    }
    return out;
  }

  /** Base tensors taken as they are from their Hugging Face parameters. */
  private static void copy(Map<String, float[]> out, Map<String, OnnxGraph.Tensor> t, String... tensors) {
    for (String n : tensors) {
      out.put(n, require(t, BertNames.parameter(n)).values());
    }
  }

  private static void linear(Map<String, float[]> out, String ours, Map<String, OnnxGraph.Tensor> t,
      Map<String, float[]> weights) {
    String module = BertNames.module(ours);
    float[] w = weights.get(module);
    if (w == null) {
      throw new IllegalArgumentException("no MatMul weight feeds the Add of " + module + ".bias; the graph is not laid "
          + "out like a Hugging Face BERT export");
    }
    out.put(ours + ".weight", w);
    out.put(ours + ".bias", require(t, module + ".bias").values());
  }

  private static OnnxGraph.Tensor require(Map<String, OnnxGraph.Tensor> t, String name) {
    OnnxGraph.Tensor x = t.get(name);
    if (x == null) {
      throw new IllegalArgumentException("the ONNX graph has no initializer " + name + ": not a BERT-family encoder "
          + "(initializers: " + preview(t.keySet()) + ")");
    }
    return x;
  }

  private static String preview(java.util.Collection<String> names) {
    List<String> l = new ArrayList<>(names);
    return l.size() <= 6 ? l.toString() : l.subList(0, 6) + " and " + (l.size() - 6) + " more";
  }
}
