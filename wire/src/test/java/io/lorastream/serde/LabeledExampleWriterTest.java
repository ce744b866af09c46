package io.lorastream.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.avro.LabeledExample;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Random;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;

/**
 * The bulk {@code LabeledExample} writer produces Avro's own bytes for the same record, byte for
 * byte: boxed feature lists and {@link PackedFloats} (a decoded record written again), empty and
 * 1024-float features, tokens, weights, attributes and text; a missing required field is refused.
 */
class LabeledExampleWriterTest {
  static {
    TrustedAvroClasses.install();
  }

  private static byte[] encode(DatumWriter<Object> w, Object datum) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
    w.write(datum, enc);
    enc.flush();
    return out.toByteArray();
  }

  private static byte[] encodeBlocking(DatumWriter<Object> w, Object datum) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder enc = new EncoderFactory().configureBlockSize(64).blockingBinaryEncoder(out, null);
    w.write(datum, enc);
    enc.flush();
    return out.toByteArray();
  }

  @SuppressWarnings("unchecked")
  private static DatumWriter<Object> avro() {
    return (DatumWriter<Object>) (DatumWriter<?>) new SpecificDatumWriter<LabeledExample>(LabeledExample.getClassSchema(),
        SpecificData.getForClass(LabeledExample.class));
  }

  @Test
  void writesAvrosBytesForEveryRecord() throws IOException {
    Random rnd = new Random(21);
    LabeledExampleWriter fast = new LabeledExampleWriter();
    for (int width : new int[] {0, 1, 64, 1024}) {
      for (int rep = 0; rep < 20; rep++) {
        LabeledExample e = LabeledExampleReaderTest.random(rnd, width);
        byte[] expected = encode(avro(), e);
        assertThat(encode(fast, e)).isEqualTo(expected);
        // the trainer's case: a record decoded by the fast reader (PackedFloats) is written again unchanged
        Object decoded = new LabeledExampleReader().read(null, new BoundedDecoder(expected, 0, expected.length));
        assertThat(((LabeledExample) decoded).getFeatures()).isInstanceOf(PackedFloats.class);
        assertThat(encode(fast, decoded)).isEqualTo(expected);
        // a blocking encoder (size-prefixed blocks) gets the per-item path, again Avro's bytes
        assertThat(encodeBlocking(fast, decoded)).isEqualTo(encodeBlocking(avro(), e));
      }
    }
  }

  @Test
  void aMissingRequiredFieldIsRefusedNamingIt() {
    LabeledExample e = LabeledExampleReaderTest.random(new Random(4), 4);
    e.setSource(null);
    assertThatThrownBy(() -> encode(new LabeledExampleWriter(), e)).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("LabeledExample.source");
    assertThat(LabeledExampleWriter.handles(LabeledExample.getClassSchema(), LabeledExample.getClassSchema())).isTrue();
  }
}
