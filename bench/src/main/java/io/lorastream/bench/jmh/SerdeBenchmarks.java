package io.lorastream.bench.jmh;

import io.lorastream.avro.LabeledExample;
import io.lorastream.localstack.registry.EmbeddedSchemaRegistry;
import io.lorastream.serde.LorastreamSerdes;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The serde round trip of one {@code LabeledExample} in Confluent wire format, against a real
 * (in-memory) registry: serialize (from a boxed feature list, and from a decoded record's packed
 * one, as ingest re-serializes), deserialize through lorastream's deserializer (the fast reader
 * for the build's own schema), and, as the reference in the same run, Avro's own
 * {@code SpecificDatumReader} on the same bytes (what the generic path costs, boxing every float).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SerdeBenchmarks {
  @Param({"64", "1024"})
  public int width;

  private EmbeddedSchemaRegistry registry;
  private Serializer<LabeledExample> serializer;
  private Deserializer<LabeledExample> deserializer;
  private SpecificDatumReader<LabeledExample> avroReader;
  private LabeledExample example;
  private byte[] bytes;
  private LabeledExample decoded;
  private BinaryDecoder decoder;

  @Setup(Level.Trial)
  public void setUp() {
    registry = EmbeddedSchemaRegistry.inMemory();
    LorastreamSerdes serdes = LorastreamSerdes.create(Map.of("schema.registry.url", registry.url()));
    serializer = serdes.labeledExample().serializer();
    deserializer = serdes.labeledExample().deserializer();
    avroReader = new SpecificDatumReader<>(LabeledExample.class);
    SplittableRandom rnd = new SplittableRandom(7);
    List<Float> f = new ArrayList<>(width);
    for (int i = 0; i < width; i++) {
      f.add((float) rnd.nextDouble(-1, 1));
    }
    example = LabeledExample.newBuilder().setId("bench-1").setTask("bench").setFeatures(f).setLabel(2)
        .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L)).setSource("jmh").build();
    bytes = serializer.serialize("bench.jmh", example);
    decoded = deserializer.deserialize("bench.jmh", bytes);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    registry.close();
  }

  @Benchmark
  public byte[] serialize() {
    return serializer.serialize("bench.jmh", example);
  }

  /** What ingest does for every valid record: write again an example it decoded (features packed). */
  @Benchmark
  public byte[] serializeDecoded() {
    return serializer.serialize("bench.jmh", decoded);
  }

  @Benchmark
  public LabeledExample deserialize() {
    return deserializer.deserialize("bench.jmh", bytes);
  }

  /** Avro's reader on the same Avro body (after the 5-byte prefix), without the registry lookup. */
  @Benchmark
  public LabeledExample deserializeAvroReader() throws IOException {
    decoder = DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, decoder);
    return avroReader.read(null, decoder);
  }

  @Benchmark
  public LabeledExample roundTrip() {
    return deserializer.deserialize("bench.jmh", serializer.serialize("bench.jmh", example));
  }
}
