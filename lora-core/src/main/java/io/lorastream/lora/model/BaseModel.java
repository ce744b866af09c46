package io.lorastream.lora.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The frozen base classifier of any {@link ModelSpec} kind (dense MLP, embedding-bag MLP,
 * transformer encoder). Its parameters are fixed at construction: a float32 host copy (used for
 * merging, serving and fingerprinting) and device tensors (used by the forward pass) that are never
 * marked as requiring gradients and never passed to an optimizer, so training adapters cannot
 * change them. Non-linear tensors (embeddings, LayerNorm gamma/beta) are stored, saved and
 * fingerprinted exactly like the linear layers.
 *
 * <p><b>Fingerprint</b> = lower-case hex SHA-256 over every parameter in the canonical order of
 * {@link ModelSpec#tensors()} (mlp: {@code fc0.weight, fc0.bias, ..., head.weight, head.bias};
 * embbag: {@code emb} first; transformer: {@code tok_emb, pos_emb}, then per layer
 * {@code q, k, v, o} weight/bias, {@code ln1.gamma/beta}, {@code ff1, ff2} weight/bias,
 * {@code ln2.gamma/beta}, then the head): the UTF-8 name, a 0 byte, the number of dimensions and
 * each dimension as big-endian int32, then the values as float32 little-endian (linear weights
 * row-major with shape (out, in)). Snapshots name their base by it.
 *
 * <p><b>File format</b> (one file): 8-byte magic {@code "LSBASE\0\1"}, a big-endian int32 length,
 * a UTF-8 JSON header ({@code format, id, fingerprint, spec, parameters:[{name, shape}]}), then the
 * parameters as float32 little-endian in header order (the same canonical order), then, for a model
 * imported with one, its {@code tokenizer.json} (the header's {@code tokenizer: {bytes, sha256}}). Loading
 * recomputes the fingerprint and rejects a file whose bytes do not match its header.
 *
 * <p><b>Initialization</b> ({@link #create}): one {@code Random(seed)} drawn in canonical order;
 * He-normal for layers followed by ReLU (fc*, ff1), N(0, 1/in) for the head, Xavier-normal for
 * q/k/v/o/ff2, N(0, 0.02^2) for transformer embeddings, N(0, 1) for embedding-bag rows, LayerNorm
 * gamma 1 and beta 0, biases 0. (The mlp draws are the same as before text kinds existed.)
 *
 * <p>Thread-safe for concurrent readers. Close it after every {@code LoraModel} built on it.
 */
public final class BaseModel implements AutoCloseable {

  private static final byte[] MAGIC = {'L', 'S', 'B', 'A', 'S', 'E', 0, 1};
  private static final String FORMAT = "lorastream-base-v1";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ModelSpec spec;
  private final String id;
  private final String fingerprint;
  private final List<LayerInfo> layers;
  private final List<TensorSpec> tensors;
  private final float[][] host; // [tensor] contract layout (linear weights row-major (out, in)); never exposed
  private final int[] weightIdx; // [linear layer] -> tensor index
  private final int[] biasIdx;
  private final List<LayerInfo> adaptable;
  private final byte[] tokenizer; // tokenizer.json bytes, or null
  private final Device device;
  private final NDManager manager;
  private final NDArray[] dev; // [tensor] float32 on device; linear weights (in, out): x @ W^T without a transpose per call
  private final Forward forward;
  private final Forward.Consts consts;

  private BaseModel(ModelSpec spec, String idOrNull, float[][] host, byte[] tokenizerOrNull, Device device) {
    this.spec = spec;
    if (tokenizerOrNull != null && !spec.tokenInput()) {
      throw new IllegalArgumentException("a tokenizer belongs to a text model, not to kind " + spec.kind());
    }
    this.tokenizer = tokenizerOrNull == null ? null : tokenizerOrNull.clone();
    this.layers = spec.linearLayers();
    this.adaptable = spec.adaptableLayers();
    this.tensors = spec.tensors();
    this.host = host;
    this.weightIdx = new int[layers.size()];
    this.biasIdx = new int[layers.size()];
    for (int i = 0; i < tensors.size(); i++) {
      TensorSpec t = tensors.get(i);
      if (t.linearLayer() >= 0) {
        (t.isWeight() ? weightIdx : biasIdx)[t.linearLayer()] = i;
      }
    }
    this.fingerprint = fingerprintOf(tensors, host);
    this.id = idOrNull != null ? idOrNull : defaultId(spec, fingerprint);
    this.device = device;
    this.forward = new Forward(spec);
    Devices.tuneCurrentThread();
    this.manager = NDManager.newBaseManager(device);
    this.dev = new NDArray[tensors.size()];
    try {
      for (int i = 0; i < tensors.size(); i++) {
        TensorSpec t = tensors.get(i);
        float[] data = t.isLinearWeight() ? transpose(host[i], t.shape()[0], t.shape()[1]) : host[i];
        dev[i] = manager.create(data, new Shape(t.deviceShape()));
      }
      this.consts = Forward.Consts.create(manager, DataType.FLOAT32, spec);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** A randomly initialized base (see the class comment), seeded by {@code spec.seed()}. */
  public static BaseModel create(ModelSpec spec, Device device) {
    Random rnd = new Random(spec.seed());
    List<TensorSpec> ts = spec.tensors();
    float[][] p = new float[ts.size()][];
    for (int i = 0; i < ts.size(); i++) {
      TensorSpec t = ts.get(i);
      p[i] = new float[t.size()];
      switch (t.init()) {
        case ZEROS -> { }
        case ONES -> Arrays.fill(p[i], 1f);
        default -> {
          double std = t.std();
          for (int j = 0; j < p[i].length; j++) {
            p[i][j] = (float) (rnd.nextGaussian() * std);
          }
        }
      }
    }
    return new BaseModel(spec, null, p, null, device);
  }

  /**
   * A base from explicit linear-layer parameters (copied). Only for kinds whose parameters are all
   * linear ({@code mlp}); use {@link #fromTensors} for text kinds.
   *
   * @param weights per layer in forward order, row-major (out, in)
   * @param biases per layer, length out
   */
  public static BaseModel fromParameters(ModelSpec spec, List<float[]> weights, List<float[]> biases, Device device) {
    List<LayerInfo> ls = spec.linearLayers();
    List<TensorSpec> ts = spec.tensors();
    if (ts.size() != 2 * ls.size()) {
      throw new IllegalArgumentException("a " + spec.kind() + " base also has non-linear tensors "
          + ts.stream().filter(t -> t.linearLayer() < 0).map(TensorSpec::name).toList() + "; use BaseModel.fromTensors");
    }
    if (weights.size() != ls.size() || biases.size() != ls.size()) {
      throw new IllegalArgumentException("expected " + ls.size() + " weight and bias arrays for " + ls
          + ", got " + weights.size() + " and " + biases.size());
    }
    Map<String, float[]> named = new LinkedHashMap<>();
    for (int i = 0; i < ls.size(); i++) {
      LayerInfo l = ls.get(i);
      if (weights.get(i).length != l.in() * l.out() || biases.get(i).length != l.out()) {
        throw new IllegalArgumentException("layer " + l.name() + ": expected weight length " + l.in() * l.out()
            + " and bias length " + l.out() + ", got " + weights.get(i).length + " and " + biases.get(i).length);
      }
      named.put(l.name() + ".weight", weights.get(i));
      named.put(l.name() + ".bias", biases.get(i));
    }
    return fromTensors(spec, named, device);
  }

  /**
   * A base from every named parameter (copied): exactly the names of the spec's canonical order
   * (see the class comment), linear weights row-major (out, in).
   *
   * @throws IllegalArgumentException naming a missing, unknown, wrongly sized or non-finite tensor
   */
  public static BaseModel fromTensors(ModelSpec spec, Map<String, float[]> tensors, Device device) {
    return fromTensors(spec, tensors, null, device);
  }

  /** As {@link #fromTensors(ModelSpec, Map, Device)} with an explicit id (null: derived from the fingerprint). */
  public static BaseModel fromTensors(ModelSpec spec, Map<String, float[]> tensors, String id, Device device) {
    return fromTensors(spec, tensors, id, null, device);
  }

  /**
   * As {@link #fromTensors(ModelSpec, Map, String, Device)}, carrying the model's Hugging Face
   * {@code tokenizer.json} (text kinds; null for none). It is saved with the parameters but is not
   * part of the fingerprint, which names the weights.
   */
  public static BaseModel fromTensors(ModelSpec spec, Map<String, float[]> tensors, String id, byte[] tokenizerOrNull,
      Device device) {
    List<TensorSpec> ts = spec.tensors();
    float[][] p = new float[ts.size()][];
    for (int i = 0; i < ts.size(); i++) {
      TensorSpec t = ts.get(i);
      float[] v = tensors.get(t.name());
      if (v == null) {
        throw new IllegalArgumentException("missing tensor '" + t.name() + "' for a " + spec.kind() + " base");
      }
      if (v.length != t.size()) {
        throw new IllegalArgumentException("tensor " + t.name() + ": expected " + t.size() + " values "
            + Arrays.toString(t.shape()) + ", got " + v.length);
      }
      p[i] = v.clone();
      requireFinite(t.name(), p[i]);
    }
    if (tensors.size() != ts.size()) {
      List<String> names = ts.stream().map(TensorSpec::name).toList();
      throw new IllegalArgumentException("unknown tensors " + tensors.keySet().stream().filter(k -> !names.contains(k)).toList()
          + " for a " + spec.kind() + " base");
    }
    return new BaseModel(spec, id, p, tokenizerOrNull, device);
  }

  private static void requireFinite(String name, float[] v) {
    for (float f : v) {
      if (!Float.isFinite(f)) {
        throw new IllegalArgumentException("tensor " + name + " has a non-finite parameter");
      }
    }
  }

  /**
   * Loads a base-model file written by {@link #save}.
   *
   * @throws IOException if the file cannot be read, is not a base-model file, is truncated, or its
   *     parameters do not match the fingerprint in its header
   */
  public static BaseModel load(Path file, Device device) throws IOException {
    try (InputStream raw = Files.newInputStream(file);
        DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(raw))) {
      byte[] magic = new byte[MAGIC.length];
      in.readFully(magic);
      if (!Arrays.equals(magic, MAGIC)) {
        throw new IOException(file + ": not a lorastream base-model file (bad magic); create one with `lorastream pretrain`");
      }
      int headerLen = in.readInt();
      if (headerLen <= 0 || headerLen > (1 << 24)) {
        throw new IOException(file + ": corrupt base-model header length " + headerLen);
      }
      byte[] header = new byte[headerLen];
      in.readFully(header);
      JsonNode h = JSON.readTree(header);
      if (!FORMAT.equals(h.path("format").asText())) {
        throw new IOException(file + ": unsupported base-model format '" + h.path("format").asText() + "'");
      }
      ModelSpec spec;
      try {
        spec = JSON.treeToValue(h.get("spec"), ModelSpec.class);
      } catch (IOException | IllegalArgumentException e) {
        throw new IOException(file + ": invalid spec in header: " + e.getMessage(), e);
      }
      List<TensorSpec> ts = spec.tensors();
      JsonNode listed = h.path("parameters");
      if (listed.isArray() && listed.size() != ts.size()) {
        throw new IOException(file + ": header lists " + listed.size() + " parameters but its " + spec.kind()
            + " spec has " + ts.size() + "; the file does not match its spec");
      }
      float[][] p = new float[ts.size()][];
      for (int i = 0; i < ts.size(); i++) {
        TensorSpec t = ts.get(i);
        if (listed.isArray() && !t.name().equals(listed.get(i).path("name").asText())) {
          throw new IOException(file + ": parameter " + i + " is '" + listed.get(i).path("name").asText()
              + "' in the header but '" + t.name() + "' in the spec's order");
        }
        p[i] = readFloats(in, t.size());
      }
      byte[] tok = null;
      JsonNode th = h.path("tokenizer");
      if (th.isObject()) {
        long n = th.path("bytes").asLong(-1);
        if (n < 0 || n > (1 << 28)) {
          throw new IOException(file + ": corrupt tokenizer length " + n + " in the header");
        }
        tok = new byte[(int) n];
        in.readFully(tok);
        if (!sha256Hex(tok).equals(th.path("sha256").asText())) {
          throw new IOException(file + ": the tokenizer's bytes do not match its SHA-256 in the header; the file is corrupt");
        }
      }
      if (in.read() != -1) {
        throw new IOException(file + ": trailing bytes after the parameters; file does not match its spec");
      }
      String expected = h.path("fingerprint").asText();
      String actual = fingerprintOf(ts, p);
      if (!actual.equals(expected)) {
        throw new IOException(file + ": parameter bytes do not match the header fingerprint (expected "
            + expected + ", computed " + actual + "); the file is corrupt");
      }
      String id = h.path("id").asText(null);
      return new BaseModel(spec, id, p, tok, device);
    } catch (EOFException e) {
      throw new IOException(file + ": truncated base-model file", e);
    }
  }

  private static float[] readFloats(DataInputStream in, int n) throws IOException {
    byte[] bytes = new byte[4 * n];
    in.readFully(bytes);
    float[] out = new float[n];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  /** Writes the base-model file atomically (temp file + rename). */
  public void save(Path file) throws IOException {
    ObjectNode h = JSON.createObjectNode();
    h.put("format", FORMAT);
    h.put("id", id);
    h.put("fingerprint", fingerprint);
    h.set("spec", JSON.valueToTree(spec));
    ArrayNode params = h.putArray("parameters");
    for (TensorSpec t : tensors) {
      ArrayNode shape = params.addObject().put("name", t.name()).putArray("shape");
      for (int d : t.shape()) {
        shape.add(d);
      }
    }
    if (tokenizer != null) {
      h.putObject("tokenizer").put("bytes", tokenizer.length).put("sha256", sha256Hex(tokenizer));
    }
    byte[] header = JSON.writeValueAsBytes(h);
    Path abs = file.toAbsolutePath();
    if (abs.getParent() != null) {
      Files.createDirectories(abs.getParent());
    }
    Path tmp = Files.createTempFile(abs.getParent(), abs.getFileName().toString(), ".tmp");
    try (OutputStream raw = Files.newOutputStream(tmp);
        DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(raw))) {
      out.write(MAGIC);
      out.writeInt(header.length);
      out.write(header);
      for (float[] t : host) {
        out.write(leBytes(t));
      }
      if (tokenizer != null) {
        out.write(tokenizer);
      }
    } catch (IOException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Human-readable id, e.g. {@code mlp-32-64-64-4-1a2b3c4d5e6f}. */
  public String id() {
    return id;
  }

  /** The model's Hugging Face {@code tokenizer.json}, when it was imported with one. */
  public java.util.Optional<byte[]> tokenizerJson() {
    return java.util.Optional.ofNullable(tokenizer).map(byte[]::clone);
  }

  private static String sha256Hex(byte[] b) {
    return HexFormat.of().formatHex(sha256().digest(b));
  }

  /** Lower-case hex SHA-256 of the parameters (see the class comment). */
  public String fingerprint() {
    return fingerprint;
  }

  public ModelSpec spec() {
    return spec;
  }

  public Device device() {
    return device;
  }

  /** Width of an input row: features (mlp) or seqLen token ids (text kinds). */
  public int inputSize() {
    return spec.inputSize();
  }

  public int numClasses() {
    return spec.numClasses();
  }

  /** Whether input rows are token ids (embbag, transformer) rather than dense features. */
  public boolean tokenInput() {
    return spec.tokenInput();
  }

  /** Vocabulary size including PAD for text kinds; 0 for mlp. */
  public int vocabSize() {
    return spec.vocabSize();
  }

  /** Number of parameters, embeddings and LayerNorm included. */
  public long parameterCount() {
    long n = 0;
    for (TensorSpec t : tensors) {
      n += t.size();
    }
    return n;
  }

  /** Parameter names in the canonical order (see the class comment). */
  public List<String> parameterNames() {
    return tensors.stream().map(TensorSpec::name).toList();
  }

  /** A copy of a named parameter (linear weights row-major (out, in)). */
  public float[] parameter(String name) {
    for (int i = 0; i < tensors.size(); i++) {
      if (tensors.get(i).name().equals(name)) {
        return host[i].clone();
      }
    }
    throw new IllegalArgumentException("unknown parameter '" + name + "'; base has " + parameterNames());
  }

  /** Linear layers in forward order. */
  public List<LayerInfo> linearLayers() {
    return layers;
  }

  /** Layers a LoRA adapter can target: the linear layers, then the embedding table of a text kind. */
  public List<LayerInfo> adaptableLayers() {
    return adaptable;
  }

  /** Index of an adaptable layer by name ({@link #adaptableLayers()} order; linear layers keep their index). */
  public int adaptableIndex(String name) {
    return indexIn(adaptable, name);
  }

  /** Index of a linear layer by name. */
  public int layerIndex(String name) {
    return indexIn(layers, name);
  }

  private static int indexIn(List<LayerInfo> list, String name) {
    for (int i = 0; i < list.size(); i++) {
      if (list.get(i).name().equals(name)) {
        return i;
      }
    }
    throw new IllegalArgumentException("unknown layer '" + name + "'; base has "
        + list.stream().map(LayerInfo::name).toList());
  }

  /** A copy of a layer's weight, row-major (out, in). */
  public float[] weight(String layer) {
    return host[weightIdx[layerIndex(layer)]].clone();
  }

  /** A copy of a layer's bias. */
  public float[] bias(String layer) {
    return host[biasIdx[layerIndex(layer)]].clone();
  }

  /**
   * The canonical parameter bytes read back from the device tensors the forward pass uses. Equal
   * bytes before and after training prove the base stayed frozen.
   */
  public byte[] deviceParameterBytes() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (float[] t : readDevice()) {
      out.writeBytes(leBytes(t));
    }
    return out.toByteArray();
  }

  /** Fingerprint recomputed from the device tensors (see {@link #deviceParameterBytes()}). */
  public String deviceFingerprint() {
    return fingerprintOf(tensors, readDevice());
  }

  private float[][] readDevice() {
    float[][] p = new float[tensors.size()][];
    for (int i = 0; i < tensors.size(); i++) {
      TensorSpec t = tensors.get(i);
      float[] v = dev[i].toFloatArray();
      p[i] = t.isLinearWeight() ? transpose(v, t.shape()[1], t.shape()[0]) : v;
    }
    return p;
  }

  /**
   * Frozen-base logits for x of shape (n, inputSize) on this base's device (float32). The result
   * is attached to x's manager. Token ids are not range-checked here (see {@link #logits}).
   */
  public NDArray forward(NDArray x) {
    Devices.tuneCurrentThread();
    return forward.logits(x, dev, null, null, null, consts);
  }

  /**
   * Frozen-base logits for a row-major host batch (n x inputSize); returns (n x C) row-major.
   *
   * @throws IllegalArgumentException on a length mismatch or, for text kinds, a bad token id
   */
  public float[] logits(float[] featuresRowMajor, int n) {
    if (featuresRowMajor.length != n * inputSize()) {
      throw new IllegalArgumentException("expected " + n + "x" + inputSize() + " features, got " + featuresRowMajor.length);
    }
    if (tokenInput()) {
      TokenRows.requireValid(featuresRowMajor, inputSize(), vocabSize());
    }
    try (NDManager tmp = manager.newSubManager()) {
      return forward(tmp.create(featuresRowMajor, new Shape(n, inputSize()))).toFloatArray();
    }
  }

  /**
   * The frozen encoder's pooled output (n x d, row-major) for a host batch of token rows: what the
   * head reads (transformer and bert only), computed on this base's device.
   */
  public float[] pooled(float[] rows, int n) {
    if (rows.length != n * inputSize()) {
      throw new IllegalArgumentException("expected " + n + "x" + inputSize() + " token ids, got " + rows.length);
    }
    TokenRows.requireValid(rows, inputSize(), vocabSize());
    Devices.tuneCurrentThread();
    try (NDManager tmp = manager.newSubManager()) {
      return forward.pooled(tmp.create(rows, new Shape(n, inputSize())), dev, null, null, null, consts).toFloatArray();
    }
  }

  // No copies: the adapter, the merged model and full fine-tuning read these shared, never-written arrays.
  float[] hostWeight(int layer) {
    return host[weightIdx[layer]];
  }

  /** Tensor index of the token-embedding table ({@code emb} or {@code tok_emb}); -1 for mlp. */
  int embeddingTensor() {
    for (int i = 0; i < tensors.size(); i++) {
      if (tensors.get(i).tokenTable()) {
        return i;
      }
    }
    return -1;
  }

  float[] hostBias(int layer) {
    return host[biasIdx[layer]];
  }

  public NDArray deviceWeightT(int layer) {
    return dev[weightIdx[layer]];
  }

  /** Tensor index of linear layer {@code layer}'s weight. */
  int weightTensor(int layer) {
    return weightIdx[layer];
  }

  /** The manager owning the device tensors; serving models hang their own sub-managers under it. */
  NDManager manager() {
    return manager;
  }

  Forward.Consts consts() {
    return consts;
  }

  NDArray deviceBias(int layer) {
    return dev[biasIdx[layer]];
  }

  public List<TensorSpec> tensors() {
    return tensors;
  }

  /** Host tensor in canonical order and contract layout; shared, never modify it. */
  public float[] hostTensor(int i) {
    return host[i];
  }

  /** Device tensor in canonical order and device layout; shared, never modify it. */
  public NDArray deviceTensor(int i) {
    return dev[i];
  }

  public Forward forwardPass() {
    return forward;
  }

  @Override
  public void close() {
    manager.close();
  }

  public static String fingerprintOf(List<TensorSpec> tensors, float[][] p) {
    MessageDigest md = sha256();
    for (int i = 0; i < tensors.size(); i++) {
      TensorSpec t = tensors.get(i);
      digestParam(md, t.name(), t.shape(), p[i]);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static void digestParam(MessageDigest md, String name, int[] shape, float[] data) {
    md.update(name.getBytes(StandardCharsets.UTF_8));
    md.update((byte) 0);
    ByteBuffer dims = ByteBuffer.allocate(4 + 4 * shape.length).order(ByteOrder.BIG_ENDIAN);
    dims.putInt(shape.length);
    for (int d : shape) {
      dims.putInt(d);
    }
    md.update(dims.array());
    md.update(leBytes(data));
  }

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  public static byte[] leBytes(float[] v) {
    ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(v);
    return bb.array();
  }

  /** Transposes a row-major (rows, cols) matrix into row-major (cols, rows). */
  public static float[] transpose(float[] m, int rows, int cols) {
    float[] t = new float[m.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = m[r * cols + c];
      }
    }
    return t;
  }

  public static String defaultId(ModelSpec spec, String fp) {
    StringBuilder sb = new StringBuilder(spec.kind()).append('-');
    switch (spec.kind()) {
      case ModelSpec.MLP -> sb.append(spec.inputSize());
      case ModelSpec.EMBBAG -> sb.append('v').append(spec.vocabSize()).append("-s").append(spec.inputSize())
          .append("-d").append(spec.dModel());
      default -> sb.append('v').append(spec.vocabSize()).append("-s").append(spec.inputSize())
          .append("-d").append(spec.dModel()).append("-h").append(spec.heads()).append("-l").append(spec.layers())
          .append("-f").append(spec.ffnSize());
    }
    for (int h : spec.hiddenSizes()) {
      sb.append('-').append(h);
    }
    return sb.append('-').append(spec.numClasses()).append('-').append(fp, 0, 12).toString();
  }

  @Override
  public String toString() {
    return "BaseModel[" + id + ", layers=" + layers + ", device=" + device + "]";
  }
}
