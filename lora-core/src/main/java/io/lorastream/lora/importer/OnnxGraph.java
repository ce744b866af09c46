package io.lorastream.lora.importer;

import com.google.protobuf.CodedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The part of an ONNX model that an importer needs: the graph's float initializers (name, dims,
 * values) and its nodes (op type, inputs, outputs). Read with protobuf's wire decoder, field by
 * field, from the numbers of onnx.proto ({@code ModelProto.graph = 7}; {@code GraphProto.node = 1},
 * {@code initializer = 5}; {@code NodeProto.input = 1, output = 2, op_type = 4};
 * {@code TensorProto.dims = 1, data_type = 2, float_data = 4, name = 8, raw_data = 9,
 * data_location = 14}). Everything else is skipped. Tensors stored outside the file (external
 * data) and non-float initializers that a model needs are refused by the importer, not here:
 * they are simply not float tensors.
 */
public final class OnnxGraph {
  /** ONNX {@code TensorProto.DataType.FLOAT}. */
  private static final int FLOAT = 1;
  private static final int EXTERNAL = 1;

  /** A float initializer; {@code values} row-major in {@code dims} order. */
  public record Tensor(String name, long[] dims, float[] values) {
    public long size() {
      long n = 1;
      for (long d : dims) {
        n *= d;
      }
      return n;
    }
  }

  /** One graph node. */
  public record Node(String opType, List<String> inputs, List<String> outputs) {
  }

  private final Map<String, Tensor> initializers;
  private final List<Node> nodes;
  private final List<String> otherInitializers;

  private OnnxGraph(Map<String, Tensor> initializers, List<Node> nodes, List<String> otherInitializers) {
    this.initializers = initializers;
    this.nodes = nodes;
    this.otherInitializers = otherInitializers;
  }

  /** Float initializers by name, in file order. */
  public Map<String, Tensor> initializers() {
    return initializers;
  }

  public List<Node> nodes() {
    return nodes;
  }

  /** Names of initializers that are not in-file float tensors (ints, external data). */
  public List<String> otherInitializers() {
    return otherInitializers;
  }

  /** Reads a whole {@code .onnx} file (models up to the 2 GB protobuf limit). */
  public static OnnxGraph read(InputStream in) throws IOException {
    CodedInputStream model = CodedInputStream.newInstance(in);
    model.setSizeLimit(Integer.MAX_VALUE);
    Map<String, Tensor> inits = new LinkedHashMap<>();
    List<Node> nodes = new ArrayList<>();
    List<String> others = new ArrayList<>();
    boolean sawGraph = false;
    while (true) {
      int tag = model.readTag();
      if (tag == 0) {
        break;
      }
      if (tag >>> 3 == 7 && (tag & 7) == 2) {
        sawGraph = true;
        int limit = model.pushLimit(model.readRawVarint32());
        readGraph(model, inits, nodes, others);
        model.popLimit(limit);
      } else {
        model.skipField(tag);
      }
    }
    if (!sawGraph) {
      throw new IOException("not an ONNX model: no graph (ModelProto field 7)");
    }
    return new OnnxGraph(inits, List.copyOf(nodes), List.copyOf(others));
  }

  private static void readGraph(CodedInputStream g, Map<String, Tensor> inits, List<Node> nodes, List<String> others)
      throws IOException {
    while (!g.isAtEnd()) {
      int tag = g.readTag();
      int field = tag >>> 3;
      if (field == 1 && (tag & 7) == 2) {
        int limit = g.pushLimit(g.readRawVarint32());
        nodes.add(readNode(g));
        g.popLimit(limit);
      } else if (field == 5 && (tag & 7) == 2) {
        int limit = g.pushLimit(g.readRawVarint32());
        Tensor t = readTensor(g, others);
        g.popLimit(limit);
        if (t != null) {
          inits.put(t.name(), t);
        }
      } else {
        g.skipField(tag);
      }
    }
  }

  private static Node readNode(CodedInputStream n) throws IOException {
    List<String> inputs = new ArrayList<>();
    List<String> outputs = new ArrayList<>();
    String op = "";
    while (!n.isAtEnd()) {
      int tag = n.readTag();
      switch (tag >>> 3) {
        case 1 -> inputs.add(n.readString());
        case 2 -> outputs.add(n.readString());
        case 4 -> op = n.readString();
        default -> n.skipField(tag);
      }
    }
    return new Node(op, List.copyOf(inputs), List.copyOf(outputs));
  }

  /** The tensor if it is an in-file float tensor, else null (its name goes to {@code others}). */
  private static Tensor readTensor(CodedInputStream t, List<String> others) throws IOException {
    List<Long> dims = new ArrayList<>();
    int type = 0;
    String name = "";
    byte[] raw = null;
    List<Float> floats = new ArrayList<>();
    int location = 0;
    while (!t.isAtEnd()) {
      int tag = t.readTag();
      int field = tag >>> 3;
      int wire = tag & 7;
      if (field == 1 && wire == 0) {
        dims.add(t.readInt64());
      } else if (field == 1 && wire == 2) { // packed dims
        int limit = t.pushLimit(t.readRawVarint32());
        while (!t.isAtEnd()) {
          dims.add(t.readInt64());
        }
        t.popLimit(limit);
      } else if (field == 2) {
        type = t.readInt32();
      } else if (field == 4 && wire == 5) {
        floats.add(t.readFloat());
      } else if (field == 4 && wire == 2) { // packed float_data
        int limit = t.pushLimit(t.readRawVarint32());
        while (!t.isAtEnd()) {
          floats.add(t.readFloat());
        }
        t.popLimit(limit);
      } else if (field == 8) {
        name = t.readString();
      } else if (field == 9) {
        raw = t.readByteArray();
      } else if (field == 14) {
        location = t.readInt32();
      } else {
        t.skipField(tag);
      }
    }
    if (type != FLOAT || location == EXTERNAL) {
      others.add(name);
      return null;
    }
    long[] d = dims.stream().mapToLong(Long::longValue).toArray();
    float[] values;
    if (raw != null) {
      values = new float[raw.length / 4];
      ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
    } else {
      values = new float[floats.size()];
      for (int i = 0; i < values.length; i++) {
        values[i] = floats.get(i);
      }
    }
    Tensor tensor = new Tensor(name, d, values);
    if (tensor.size() != values.length) {
      throw new IOException("initializer " + name + ": dims " + dims + " hold " + tensor.size() + " values, the file "
          + values.length);
    }
    return tensor;
  }
}
