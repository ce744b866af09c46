package io.lorastream.serde;

import io.lorastream.avro.LabeledExample;
import java.io.IOException;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.generic.PrimitivesArrays;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.Decoder;

/**
 * The trainer's hot path: decodes a {@link LabeledExample} written with exactly the schema this
 * build carries, field by field, reading the feature array in bulk into one {@code float[]}
 * ({@link PackedFloats}) instead of boxing every value as Avro's generic readers do. At 1024-float
 * examples that boxing was most of the trainer thread's time. Any other writer schema (an older or
 * newer version) still goes through Avro's resolving reader; {@code LabeledExampleReaderTest}
 * checks both give equal records.
 */
final class LabeledExampleReader implements DatumReader<Object> {
  private static final Schema SCHEMA = LabeledExample.getClassSchema();
  private static final float[] EMPTY = new float[0];
  private static final Schema TOKENS = SCHEMA.getField("tokens").schema();

  /** Whether records written with {@code writer} and read as {@code reader} can take this path. */
  static boolean handles(Schema writer, Schema reader) {
    return reader.equals(SCHEMA) && writer.equals(SCHEMA);
  }

  @Override
  public void setSchema(Schema schema) {
    if (!schema.equals(SCHEMA)) {
      throw new IllegalArgumentException("LabeledExampleReader reads only " + SCHEMA.getFullName() + " as built");
    }
  }

  @Override
  public Object read(Object reuse, Decoder in) throws IOException {
    String id = in.readString();
    String task = in.readString();
    PackedFloats features = new PackedFloats(readFloats(in));
    PrimitivesArrays.IntArray tokens = readInts(in);
    int label = in.readInt();
    Float weight = switch (in.readIndex()) {
      case 0 -> null;
      case 1 -> in.readFloat();
      default -> throw badUnion("weight");
    };
    Instant eventTime = Instant.ofEpochMilli(in.readLong());
    String source = in.readString();
    Map<String, String> attributes = new HashMap<>();
    for (long n = in.readMapStart(); n > 0; n = in.mapNext()) {
      for (long i = 0; i < n; i++) {
        String k = in.readString();
        attributes.put(k, in.readString());
      }
    }
    String text = switch (in.readIndex()) {
      case 0 -> null;
      case 1 -> in.readString();
      default -> throw badUnion("text");
    };
    return new LabeledExample(id, task, features, tokens, label, weight, eventTime, source, attributes, text);
  }

  private static float[] readFloats(Decoder in) throws IOException {
    float[] out = EMPTY;
    int size = 0;
    for (long n = in.readArrayStart(); n > 0; n = in.arrayNext()) {
      int add = Math.toIntExact(n);
      out = size == 0 ? new float[add] : java.util.Arrays.copyOf(out, Math.addExact(size, add)); // mostly one block
      if (in instanceof BoundedDecoder b) {
        b.readFloats(out, size, add);
      } else {
        for (int i = 0; i < add; i++) {
          out[size + i] = in.readFloat();
        }
      }
      size += add;
    }
    return out;
  }

  private static PrimitivesArrays.IntArray readInts(Decoder in) throws IOException {
    long n = in.readArrayStart();
    PrimitivesArrays.IntArray out = new PrimitivesArrays.IntArray((int) Math.min(n, 1 << 16), TOKENS);
    for (; n > 0; n = in.arrayNext()) {
      for (long i = 0; i < n; i++) {
        out.add(out.size(), in.readInt());
      }
    }
    return out;
  }

  private static AvroRuntimeException badUnion(String field) {
    return new AvroRuntimeException("malformed data: union index of " + field + " is neither 0 (null) nor 1");
  }
}
