package io.lorastream.lora;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
import java.util.List;
import java.util.Random;

/**
 * The frozen base classifier: an MLP of Linear+ReLU layers ({@code fc0, fc1, ...}) and a linear
 * {@code head}. Its parameters are fixed at construction: a float32 host copy (used for merging
 * and fingerprinting) and device tensors (used by the forward pass) that are never marked as
 * requiring gradients and never passed to an optimizer, so training adapters cannot change them.
 *
 * <p><b>Fingerprint</b> = lower-case hex SHA-256 over, for every parameter in the fixed order
 * {@code fc0.weight, fc0.bias, ..., head.weight, head.bias}: the UTF-8 name, a 0 byte, the number
 * of dimensions and each dimension as big-endian int32, then the values as float32 little-endian
 * (weights row-major with shape (out, in)). Snapshots name their base by it.
 *
 * <p><b>File format</b> (one file): 8-byte magic {@code "LSBASE\0\1"}, a big-endian int32 length,
 * a UTF-8 JSON header ({@code format, id, fingerprint, spec, parameters:[{name, shape}]}), then the
 * parameters as float32 little-endian in header order. Loading recomputes the fingerprint and
 * rejects a file whose bytes do not match its header.
 *
 * <p>Thread-safe for concurrent readers. Close it after every {@link LoraModel} built on it.
 */
public final class BaseModel implements AutoCloseable {

  private static final byte[] MAGIC = {'L', 'S', 'B', 'A', 'S', 'E', 0, 1};
  private static final String FORMAT = "lorastream-base-v1";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ModelSpec spec;
  private final String id;
  private final String fingerprint;
  private final List<LayerInfo> layers;
  private final float[][] weights; // [layer] row-major (out, in); never exposed
  private final float[][] biases; // [layer] (out)
  private final Device device;
  private final NDManager manager;
  private final NDArray[] weightsT; // [layer] (in, out) float32 on device: x @ W^T without a transpose per call
  private final NDArray[] biasArrays; // [layer] (out)

  private BaseModel(ModelSpec spec, String idOrNull, float[][] weights, float[][] biases, Device device) {
    this.spec = spec;
    this.layers = spec.linearLayers();
    this.weights = weights;
    this.biases = biases;
    this.fingerprint = fingerprintOf(layers, weights, biases);
    this.id = idOrNull != null ? idOrNull : defaultId(spec, fingerprint);
    this.device = device;
    Devices.tuneCurrentThread();
    this.manager = NDManager.newBaseManager(device);
    this.weightsT = new NDArray[layers.size()];
    this.biasArrays = new NDArray[layers.size()];
    try {
      for (int i = 0; i < layers.size(); i++) {
        LayerInfo l = layers.get(i);
        weightsT[i] = manager.create(transpose(weights[i], l.out(), l.in()), new Shape(l.in(), l.out()));
        biasArrays[i] = manager.create(biases[i], new Shape(l.out()));
      }
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** A randomly initialized base (He-normal hidden layers, zero biases), seeded by {@code spec.seed()}. */
  public static BaseModel create(ModelSpec spec, Device device) {
    Random rnd = new Random(spec.seed());
    List<LayerInfo> ls = spec.linearLayers();
    float[][] w = new float[ls.size()][];
    float[][] b = new float[ls.size()][];
    for (int i = 0; i < ls.size(); i++) {
      LayerInfo l = ls.get(i);
      boolean head = i == ls.size() - 1;
      double std = Math.sqrt((head ? 1.0 : 2.0) / l.in());
      w[i] = new float[l.in() * l.out()];
      for (int j = 0; j < w[i].length; j++) {
        w[i][j] = (float) (rnd.nextGaussian() * std);
      }
      b[i] = new float[l.out()];
    }
    return new BaseModel(spec, null, w, b, device);
  }

  /**
   * A base from explicit parameters (copied).
   *
   * @param weights per layer in forward order, row-major (out, in)
   * @param biases per layer, length out
   */
  public static BaseModel fromParameters(ModelSpec spec, List<float[]> weights, List<float[]> biases, Device device) {
    List<LayerInfo> ls = spec.linearLayers();
    if (weights.size() != ls.size() || biases.size() != ls.size()) {
      throw new IllegalArgumentException("expected " + ls.size() + " weight and bias arrays for " + ls
          + ", got " + weights.size() + " and " + biases.size());
    }
    float[][] w = new float[ls.size()][];
    float[][] b = new float[ls.size()][];
    for (int i = 0; i < ls.size(); i++) {
      LayerInfo l = ls.get(i);
      if (weights.get(i).length != l.in() * l.out() || biases.get(i).length != l.out()) {
        throw new IllegalArgumentException("layer " + l.name() + ": expected weight length " + l.in() * l.out()
            + " and bias length " + l.out() + ", got " + weights.get(i).length + " and " + biases.get(i).length);
      }
      w[i] = weights.get(i).clone();
      b[i] = biases.get(i).clone();
      requireFinite(l.name(), w[i]);
      requireFinite(l.name(), b[i]);
    }
    return new BaseModel(spec, null, w, b, device);
  }

  private static void requireFinite(String layer, float[] v) {
    for (float f : v) {
      if (!Float.isFinite(f)) {
        throw new IllegalArgumentException("layer " + layer + " has a non-finite parameter");
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
      List<LayerInfo> ls = spec.linearLayers();
      float[][] w = new float[ls.size()][];
      float[][] b = new float[ls.size()][];
      for (int i = 0; i < ls.size(); i++) {
        w[i] = readFloats(in, ls.get(i).in() * ls.get(i).out(), file);
        b[i] = readFloats(in, ls.get(i).out(), file);
      }
      if (in.read() != -1) {
        throw new IOException(file + ": trailing bytes after the parameters; file does not match its spec");
      }
      String expected = h.path("fingerprint").asText();
      String actual = fingerprintOf(ls, w, b);
      if (!actual.equals(expected)) {
        throw new IOException(file + ": parameter bytes do not match the header fingerprint (expected "
            + expected + ", computed " + actual + "); the file is corrupt");
      }
      String id = h.path("id").asText(null);
      return new BaseModel(spec, id, w, b, device);
    } catch (EOFException e) {
      throw new IOException(file + ": truncated base-model file", e);
    }
  }

  private static float[] readFloats(DataInputStream in, int n, Path file) throws IOException {
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
    for (LayerInfo l : layers) {
      params.addObject().put("name", l.name() + ".weight").putArray("shape").add(l.out()).add(l.in());
      params.addObject().put("name", l.name() + ".bias").putArray("shape").add(l.out());
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
      for (int i = 0; i < layers.size(); i++) {
        out.write(leBytes(weights[i]));
        out.write(leBytes(biases[i]));
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

  public int inputSize() {
    return spec.inputSize();
  }

  public int numClasses() {
    return spec.numClasses();
  }

  /** Linear layers in forward order. */
  public List<LayerInfo> linearLayers() {
    return layers;
  }

  /** Index of a layer by name. */
  public int layerIndex(String name) {
    for (int i = 0; i < layers.size(); i++) {
      if (layers.get(i).name().equals(name)) {
        return i;
      }
    }
    throw new IllegalArgumentException("unknown layer '" + name + "'; base has "
        + layers.stream().map(LayerInfo::name).toList());
  }

  /** A copy of a layer's weight, row-major (out, in). */
  public float[] weight(String layer) {
    return weights[layerIndex(layer)].clone();
  }

  /** A copy of a layer's bias. */
  public float[] bias(String layer) {
    return biases[layerIndex(layer)].clone();
  }

  /**
   * The canonical parameter bytes read back from the device tensors the forward pass uses. Equal
   * bytes before and after training prove the base stayed frozen.
   */
  public byte[] deviceParameterBytes() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < layers.size(); i++) {
      LayerInfo l = layers.get(i);
      float[] wt = weightsT[i].toFloatArray(); // (in, out)
      out.writeBytes(leBytes(transpose(wt, l.in(), l.out())));
      out.writeBytes(leBytes(biasArrays[i].toFloatArray()));
    }
    return out.toByteArray();
  }

  /** Fingerprint recomputed from the device tensors (see {@link #deviceParameterBytes()}). */
  public String deviceFingerprint() {
    float[][] w = new float[layers.size()][];
    float[][] b = new float[layers.size()][];
    for (int i = 0; i < layers.size(); i++) {
      LayerInfo l = layers.get(i);
      w[i] = transpose(weightsT[i].toFloatArray(), l.in(), l.out());
      b[i] = biasArrays[i].toFloatArray();
    }
    return fingerprintOf(layers, w, b);
  }

  /**
   * Frozen-base logits for x of shape (n, in) on this base's device (float32). The result is
   * attached to x's manager.
   */
  public NDArray forward(NDArray x) {
    NDArray h = x;
    for (int i = 0; i < layers.size(); i++) {
      h = h.matMul(weightsT[i]).add(biasArrays[i]);
      if (i < layers.size() - 1) {
        h = h.maximum(0f);
      }
    }
    return h;
  }

  /** Frozen-base logits for a row-major host batch (n x in); returns (n x C) row-major. */
  public float[] logits(float[] featuresRowMajor, int n) {
    if (featuresRowMajor.length != n * inputSize()) {
      throw new IllegalArgumentException("expected " + n + "x" + inputSize() + " features, got " + featuresRowMajor.length);
    }
    try (NDManager tmp = manager.newSubManager()) {
      return forward(tmp.create(featuresRowMajor, new Shape(n, inputSize()))).toFloatArray();
    }
  }

  // package-private: LoraModel and MergedModel read these without copying.
  float[] hostWeight(int layer) {
    return weights[layer];
  }

  float[] hostBias(int layer) {
    return biases[layer];
  }

  NDArray deviceWeightT(int layer) {
    return weightsT[layer];
  }

  NDArray deviceBias(int layer) {
    return biasArrays[layer];
  }

  @Override
  public void close() {
    manager.close();
  }

  static String fingerprintOf(List<LayerInfo> layers, float[][] w, float[][] b) {
    MessageDigest md = sha256();
    for (int i = 0; i < layers.size(); i++) {
      LayerInfo l = layers.get(i);
      digestParam(md, l.name() + ".weight", new int[] {l.out(), l.in()}, w[i]);
      digestParam(md, l.name() + ".bias", new int[] {l.out()}, b[i]);
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

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  static byte[] leBytes(float[] v) {
    ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(v);
    return bb.array();
  }

  /** Transposes a row-major (rows, cols) matrix into row-major (cols, rows). */
  static float[] transpose(float[] m, int rows, int cols) {
    float[] t = new float[m.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = m[r * cols + c];
      }
    }
    return t;
  }

  private static String defaultId(ModelSpec spec, String fp) {
    StringBuilder sb = new StringBuilder(spec.kind()).append('-').append(spec.inputSize());
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
