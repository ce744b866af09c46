package io.lorastream.serde;

import io.lorastream.avro.LabeledExample;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.Encoder;

/**
 * The writing half of {@link LabeledExampleReader}: encodes a {@link LabeledExample} with exactly
 * the schema this build carries, field by field, writing the feature array straight from its
 * {@code float[]} when it is {@link PackedFloats} (and with plain unboxing otherwise) instead of
 * dispatching every element through Avro's generic writer. The bytes are Avro's own encoding of
 * the record, one block per array and map; {@code LabeledExampleWriterTest} checks them against
 * Avro's writer byte for byte.
 */
final class LabeledExampleWriter implements DatumWriter<Object> {
  private static final Schema SCHEMA = LabeledExample.getClassSchema();

  /** Whether records of {@code schema} written as {@code target} can take this path. */
  static boolean handles(Schema schema, Schema target) {
    return schema.equals(SCHEMA) && target.equals(SCHEMA);
  }

  @Override
  public void setSchema(Schema schema) {
    if (!schema.equals(SCHEMA)) {
      throw new IllegalArgumentException("LabeledExampleWriter writes only " + SCHEMA.getFullName() + " as built");
    }
  }

  @Override
  public void write(Object datum, Encoder out) throws IOException {
    LabeledExample e = (LabeledExample) datum;
    out.writeString(required(e.getId(), "id"));
    out.writeString(required(e.getTask(), "task"));
    List<Float> features = e.getFeatures();
    if (features == null) {
      throw new NullPointerException("LabeledExample.features is null (use an empty list)");
    }
    out.writeArrayStart();
    out.setItemCount(features.size());
    if (features instanceof PackedFloats p && p.size() > 0 && plainBinary(out)) {
      // One bulk copy: the items of a float array are its values' 4-byte little-endian encodings
      // back to back, and startItem writes nothing in the plain binary encoding.
      byte[] bytes = new byte[4 * p.size()];
      java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(p.array());
      for (int i = 0; i < p.size(); i++) {
        out.startItem();
      }
      out.writeFixed(bytes);
    } else {
      for (Float v : features) {
        out.startItem();
        out.writeFloat(v);
      }
    }
    out.writeArrayEnd();
    List<Integer> tokens = e.getTokens();
    if (tokens == null) {
      throw new NullPointerException("LabeledExample.tokens is null (use an empty list)");
    }
    out.writeArrayStart();
    out.setItemCount(tokens.size());
    for (Integer t : tokens) {
      out.startItem();
      out.writeInt(t);
    }
    out.writeArrayEnd();
    out.writeInt(e.getLabel());
    Float w = e.getWeight();
    out.writeIndex(w == null ? 0 : 1);
    if (w != null) {
      out.writeFloat(w);
    }
    if (e.getEventTime() == null) {
      throw new NullPointerException("LabeledExample.eventTime is null");
    }
    out.writeLong(e.getEventTime().toEpochMilli());
    out.writeString(required(e.getSource(), "source"));
    Map<String, String> attributes = e.getAttributes();
    if (attributes == null) {
      throw new NullPointerException("LabeledExample.attributes is null (use an empty map)");
    }
    out.writeMapStart();
    out.setItemCount(attributes.size());
    for (Map.Entry<String, String> a : attributes.entrySet()) {
      out.startItem();
      out.writeString(a.getKey());
      out.writeString(required(a.getValue(), "attributes[" + a.getKey() + "]"));
    }
    out.writeMapEnd();
    String text = e.getText();
    out.writeIndex(text == null ? 0 : 1);
    if (text != null) {
      out.writeString(text);
    }
  }

  /** The plain binary encoders (not blocking, validating or JSON ones), for which an item is only its bytes. */
  private static boolean plainBinary(Encoder out) {
    Class<?> c = out.getClass();
    return c == org.apache.avro.io.BufferedBinaryEncoder.class || c == org.apache.avro.io.DirectBinaryEncoder.class;
  }

  private static String required(String v, String field) {
    if (v == null) {
      throw new NullPointerException("LabeledExample." + field + " is null");
    }
    return v;
  }
}
