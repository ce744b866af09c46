package io.lorastream.avro;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The optional {@code text} field of {@code LabeledExample} and {@code InferenceRequest} is a
 * compatible change both ways: producers on the schema before it keep working (their records read
 * with {@code text = null}), and readers of the old schema skip the field.
 */
class TextFieldEvolutionTest {

  private static Schema without(Schema now, String field) {
    List<Schema.Field> fields = now.getFields().stream().filter(f -> !f.name().equals(field))
        .map(f -> new Schema.Field(f, f.schema())).toList();
    return Schema.createRecord(now.getName(), now.getDoc(), now.getNamespace(), false, fields);
  }

  @ParameterizedTest
  @ValueSource(strings = {"LabeledExample", "InferenceRequest"})
  void theTextFieldIsBackwardAndForwardCompatible(String type) {
    Schema now = type.equals("LabeledExample") ? LabeledExample.getClassSchema() : InferenceRequest.getClassSchema();
    Schema old = without(now, "text");
    assertThat(now.getField("text").schema().getTypes()).extracting(Schema::getType)
        .containsExactly(Schema.Type.NULL, Schema.Type.STRING);
    assertThat(SchemaCompatibility.checkReaderWriterCompatibility(now, old).getType())
        .isEqualTo(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);
    assertThat(SchemaCompatibility.checkReaderWriterCompatibility(old, now).getType())
        .isEqualTo(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);
  }

  @Test
  void anOldProducersExampleReadsWithNoText() throws Exception {
    io.lorastream.serde.TrustedAvroClasses.install(); // as the serdes do before any specific read
    Schema old = without(LabeledExample.getClassSchema(), "text");
    GenericRecord r = new GenericData.Record(old);
    r.put("id", "e1");
    r.put("task", "t");
    r.put("features", List.of());
    r.put("tokens", List.of(101, 7592, 102));
    r.put("label", 1);
    r.put("weight", null);
    r.put("eventTime", Instant.ofEpochMilli(5).toEpochMilli());
    r.put("source", "old");
    r.put("attributes", java.util.Map.of());
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(bytes, null);
    new GenericDatumWriter<GenericRecord>(old).write(r, enc);
    enc.flush();
    LabeledExample e = new SpecificDatumReader<LabeledExample>(old, LabeledExample.getClassSchema())
        .read(null, DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null));
    assertThat(e.getText()).isNull();
    assertThat(e.getTokens()).containsExactly(101, 7592, 102);
  }
}
