package io.lorastream.lora.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors file format (float32 written; float32, float16 and bfloat16 read): an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype, shape and byte range, then
 * the raw little-endian data. The header is padded with spaces to a multiple of 8 bytes, as the
 * reference implementation does.
 */
public final class Safetensors {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One float32 tensor, row-major. */
  public record Tensor(long[] shape, float[] values) {
    public Tensor {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      if (n != values.length) {
        throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " holds " + n + " values, got "
            + values.length);
      }
    }
  }

  private Safetensors() {
  }

  /** Writes {@code tensors} (in map order) with optional string {@code metadata}. */
  public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
    ObjectNode header = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode m = header.putObject("__metadata__");
      metadata.forEach(m::put);
    }
    long offset = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      ObjectNode t = header.putObject(e.getKey());
      t.put("dtype", "F32");
      var shape = t.putArray("shape");
      for (long d : e.getValue().shape()) {
        shape.add(d);
      }
      long bytes = 4L * e.getValue().values().length;
      t.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] h = JSON.writeValueAsBytes(header);
    int padded = (h.length + 7) / 8 * 8;
    try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
      out.write(h);
      for (int i = h.length; i < padded; i++) {
        out.write(' ');
      }
      for (Tensor t : tensors.values()) {
        ByteBuffer b = ByteBuffer.allocate(4 * t.values().length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(t.values());
        out.write(b.array());
      }
    }
  }

  /** IEEE 754 binary16 to float32 (exact: every half is a float). */
  static float halfToFloat(short h) {
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | mant << 13); // inf or NaN
    }
    if (exp == 0) {
      float sub = mant * 0x1p-24f; // subnormal (or zero): mant * 2^-24, exact in float
      return sign != 0 ? -sub : sub;
    }
    return Float.intBitsToFloat(sign | (exp + 112) << 23 | mant << 13);
  }

  /**
   * Reads every tensor of a file, in header order, as float32: F32 as it is, F16 and BF16 widened
   * exactly (adapters trained in half precision); any other dtype is refused.
   */
  public static Map<String, Tensor> read(Path file) throws IOException {
    byte[] all = Files.readAllBytes(file);
    if (all.length < 8) {
      throw new IOException(file + " is too short for a safetensors file");
    }
    long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    if (n <= 0 || 8 + n > all.length) {
      throw new IOException(file + ": header length " + n + " does not fit the file's " + all.length + " bytes");
    }
    JsonNode header = JSON.readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
    Map<String, Tensor> out = new LinkedHashMap<>();
    long dataStart = 8 + n;
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals("__metadata__")) {
        continue;
      }
      JsonNode t = e.getValue();
      String dtype = t.path("dtype").asText();
      int width = switch (dtype) {
        case "F32" -> 4;
        case "F16", "BF16" -> 2;
        default -> throw new IOException(file + ": tensor " + e.getKey() + " is " + dtype + "; F32, F16 and BF16 are read");
      };
      long[] shape = new long[t.path("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = t.path("shape").get(i).asLong();
      }
      long from = dataStart + t.path("data_offsets").get(0).asLong();
      long to = dataStart + t.path("data_offsets").get(1).asLong();
      if (from < dataStart || to > all.length || to < from || (to - from) % width != 0) {
        throw new IOException(file + ": tensor " + e.getKey() + " has byte range outside the file");
      }
      float[] v = new float[(int) ((to - from) / width)];
      ByteBuffer buf = ByteBuffer.wrap(all, (int) from, (int) (to - from)).order(ByteOrder.LITTLE_ENDIAN);
      if (width == 4) {
        buf.asFloatBuffer().get(v);
      } else {
        for (int i = 0; i < v.length; i++) {
          short h = buf.getShort();
          v[i] = dtype.equals("BF16") ? Float.intBitsToFloat((h & 0xffff) << 16) : halfToFloat(h);
        }
      }
      try {
        out.put(e.getKey(), new Tensor(shape, v));
      } catch (IllegalArgumentException bad) {
        throw new IOException(file + ": tensor " + e.getKey() + ": " + bad.getMessage(), bad);
      }
    }
    return out;
  }
}
