package io.lorastream.avro;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

/**
 * The {@code error} and {@code role} fields of {@code Prediction} are compatible changes in both
 * directions: readers of the schema before them read new predictions (errors look like class -1
 * without probabilities), and new readers read old predictions with {@code error = null} and
 * {@code role = active}.
 */
class PredictionEvolutionTest {

  /** The schema as it was before the error and role fields: the current one minus those fields. */
  private static Schema previous() {
    Schema now = Prediction.getClassSchema();
    List<Schema.Field> fields = now.getFields().stream().filter(f -> !f.name().equals("error")
        && !f.name().equals("role"))
        .map(f -> new Schema.Field(f, f.schema())).toList();
    return Schema.createRecord(now.getName(), now.getDoc(), now.getNamespace(), false, fields);
  }

  @Test
  void theErrorFieldIsBackwardAndForwardCompatible() throws Exception {
    Schema old = previous();
    Schema now = Prediction.getClassSchema();
    assertThat(old.getField("error")).isNull();
    assertThat(SchemaCompatibility.checkReaderWriterCompatibility(now, old).getType())
        .isEqualTo(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);
    assertThat(SchemaCompatibility.checkReaderWriterCompatibility(old, now).getType())
        .isEqualTo(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);

    Prediction error = Prediction.newBuilder().setRequestId("r").setTask("t").setAdapterId("").setAdapterVersion(-1)
        .setPredictedClass(-1).setProbabilities(List.of()).setLatencyMicros(0).setConsumerId("c")
        .setPredictedAt(Instant.ofEpochMilli(1)).setError("NON_FINITE: feature 0 is NaN").build();
    ByteArrayOutputStream specific = new ByteArrayOutputStream();
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(specific, null);
    new org.apache.avro.specific.SpecificDatumWriter<>(Prediction.class).write(error, enc);
    enc.flush();
    GenericRecord readByOld = read(specific.toByteArray(), now, old);
    assertThat(readByOld.get("predictedClass")).isEqualTo(-1);
    assertThat(readByOld.getSchema().getField("error")).isNull();

    GenericRecord oldRecord = new GenericData.Record(old);
    oldRecord.put("requestId", "r");
    oldRecord.put("task", "t");
    oldRecord.put("adapterId", "a");
    oldRecord.put("adapterVersion", 4L);
    oldRecord.put("predictedClass", 3);
    oldRecord.put("probabilities", List.of(0.1f, 0.9f));
    oldRecord.put("label", null);
    oldRecord.put("latencyMicros", 5L);
    oldRecord.put("consumerId", "c");
    oldRecord.put("predictedAt", 1L);
    GenericRecord readByNew = read(write(old, oldRecord), old, now);
    assertThat(readByNew.get("error")).isNull();
    assertThat(String.valueOf(readByNew.get("role"))).isEqualTo("active");
    assertThat(readByNew.get("predictedClass")).isEqualTo(3);
  }

  private static byte[] write(Schema schema, Object record) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<Object>(schema, GenericData.get()).write(record, enc);
    enc.flush();
    return out.toByteArray();
  }

  private static GenericRecord read(byte[] bytes, Schema writer, Schema reader) throws Exception {
    return new GenericDatumReader<GenericRecord>(writer, reader).read(null,
        DecoderFactory.get().binaryDecoder(bytes, null));
  }
}
