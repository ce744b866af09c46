package io.lorastream.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.avro.LabeledExample;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.FastReaderBuilder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fast {@code LabeledExample} reader decodes exactly what Avro's own reader decodes: random
 * records (empty and 1024-float features, tokens, weights, non-finite values, attributes, text),
 * arrays in one block and in many size-prefixed blocks, and it refuses truncated or malformed
 * input the way the bounded decoder does.
 */
class LabeledExampleReaderTest {
  static {
    TrustedAvroClasses.install();
  }

  static LabeledExample random(Random rnd, int width) {
    List<Float> f = new ArrayList<>();
    for (int i = 0; i < width; i++) {
      f.add(i == 3 ? Float.NaN : i == 5 ? Float.NEGATIVE_INFINITY : (float) rnd.nextGaussian());
    }
    List<Integer> t = new ArrayList<>();
    for (int i = 0, n = width == 0 ? 1 + rnd.nextInt(300) : 0; i < n; i++) {
      t.add(rnd.nextInt(30_000) - (i == 0 ? 40_000 : 0)); // one negative id: validation is the trainer's job
    }
    Map<String, String> attrs = new HashMap<>();
    for (int i = 0, n = rnd.nextInt(4); i < n; i++) {
      attrs.put("k" + i, "välue-" + rnd.nextInt());
    }
    return new LabeledExample("id-" + rnd.nextLong(), "task-é", f, t, rnd.nextInt(8),
        rnd.nextBoolean() ? null : (float) rnd.nextDouble(), Instant.ofEpochMilli(rnd.nextLong() >>> 20), "src",
        attrs, rnd.nextBoolean() ? null : "some text ✓ " + rnd.nextInt());
  }

  private static byte[] encode(LabeledExample e, boolean blocked) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder enc = blocked ? new EncoderFactory().configureBlockSize(64).blockingBinaryEncoder(out, null)
        : EncoderFactory.get().binaryEncoder(out, null);
    new SpecificDatumWriter<LabeledExample>(LabeledExample.getClassSchema(), SpecificData.getForClass(LabeledExample.class))
        .write(e, enc);
    enc.flush();
    return out.toByteArray();
  }

  private static Object readFast(byte[] b) throws IOException {
    return new LabeledExampleReader().read(null, new BoundedDecoder(b, 0, b.length));
  }

  private static Object readAvro(byte[] b) throws IOException {
    DatumReader<Object> r = new FastReaderBuilder(SpecificData.getForClass(LabeledExample.class))
        .createDatumReader(LabeledExample.getClassSchema(), LabeledExample.getClassSchema());
    return r.read(null, new BoundedDecoder(b, 0, b.length));
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void decodesWhatAvroDecodes(boolean blocked) throws IOException {
    Random rnd = new Random(11);
    for (int width : new int[] {0, 1, 64, 1024}) {
      for (int rep = 0; rep < 20; rep++) {
        LabeledExample e = random(rnd, width);
        byte[] bytes = encode(e, blocked);
        BoundedDecoder in = new BoundedDecoder(bytes, 0, bytes.length);
        Object fast = new LabeledExampleReader().read(null, in);
        assertThat(in.remaining()).isZero();
        assertThat(fast).isEqualTo(readAvro(bytes)).isEqualTo(e);
        LabeledExample got = (LabeledExample) fast;
        assertThat(got.getFeatures()).isInstanceOf(PackedFloats.class);
        float[] packed = ((PackedFloats) got.getFeatures()).array();
        for (int i = 0; i < width; i++) {
          assertThat(Float.floatToRawIntBits(packed[i])).isEqualTo(Float.floatToRawIntBits(e.getFeatures().get(i)));
        }
      }
    }
  }

  @Test
  void blockedEncodingReallyWritesSeveralBlocks() throws IOException {
    LabeledExample e = random(new Random(3), 1024);
    byte[] b = encode(e, true);
    BoundedDecoder in = new BoundedDecoder(b, 0, b.length);
    in.readString();
    in.readString();
    long first = in.readLong(); // a size-prefixed block has a negative count, and fewer items than the array
    assertThat(first).isNegative().isGreaterThan(-1024);
  }

  @Test
  void truncatedOrMalformedInputFailsInsteadOfReadingPastTheEnd() throws IOException {
    byte[] bytes = encode(random(new Random(5), 1024), false);
    for (int cut : new int[] {1, 10, 100, bytes.length / 2, bytes.length - 1}) {
      byte[] part = java.util.Arrays.copyOf(bytes, cut);
      assertThatThrownBy(() -> readFast(part)).isInstanceOfAny(EOFException.class, AvroRuntimeException.class);
    }
    LabeledExample e = random(new Random(6), 4);
    e.setWeight(null);
    e.setText(null);
    byte[] ok = encode(e, false);
    byte[] bad = ok.clone();
    bad[bad.length - 1] = 4; // text's union index 2 (zig-zag 4): no such branch
    assertThatThrownBy(() -> readFast(bad)).isInstanceOf(AvroRuntimeException.class).hasMessageContaining("text");
  }

  @Test
  void onlyTheExactSchemaTakesTheFastPath() {
    org.apache.avro.Schema now = LabeledExample.getClassSchema();
    org.apache.avro.Schema parsed = new org.apache.avro.Schema.Parser().parse(now.toString());
    assertThat(LabeledExampleReader.handles(parsed, now)).isTrue();
    List<org.apache.avro.Schema.Field> fewer = now.getFields().stream().filter(f -> !f.name().equals("text"))
        .map(f -> new org.apache.avro.Schema.Field(f, f.schema())).toList();
    org.apache.avro.Schema old = org.apache.avro.Schema.createRecord(now.getName(), now.getDoc(), now.getNamespace(),
        false, fewer);
    assertThat(LabeledExampleReader.handles(old, now)).isFalse();
  }
}
