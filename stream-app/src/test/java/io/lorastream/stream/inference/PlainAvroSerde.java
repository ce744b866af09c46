package io.lorastream.stream.inference;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Plain Avro binary (no registry, no wire-format header) for TopologyTestDriver tests, where the
 * point is the topology's logic and not the serde; the ITs use the real registry serdes.
 */
final class PlainAvroSerde<T extends SpecificRecord> implements Serde<T> {
  private final Class<T> type;

  PlainAvroSerde(Class<T> type) {
    this.type = type;
  }

  @Override
  public Serializer<T> serializer() {
    return (topic, value) -> {
      if (value == null) {
        return null;
      }
      try {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
        new SpecificDatumWriter<>(type).write(value, enc);
        enc.flush();
        return out.toByteArray();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    };
  }

  @Override
  public Deserializer<T> deserializer() {
    return (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      try {
        return new SpecificDatumReader<>(type).read(null, DecoderFactory.get().binaryDecoder(bytes, null));
      } catch (IOException | RuntimeException e) {
        throw new SerializationException("not a " + type.getSimpleName() + ": " + e, e);
      }
    };
  }
}
