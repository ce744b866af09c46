package io.lorastream.serde.bench;

import io.lorastream.avro.LabeledExample;
import io.lorastream.localstack.registry.EmbeddedSchemaRegistry;
import io.lorastream.registry.RegistryClientConfig;
import io.lorastream.serde.SpecificAvroSerde;
import io.lorastream.testing.SampleRecords;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Benchmark, not a test: how many {@code LabeledExample} records with 64 floats the
 * {@link SpecificAvroSerde} round-trips (serialize then deserialize) per second on one core,
 * against a real in-process registry over HTTP (only the first record reaches it; the rest hit the
 * caches, which is the point). Single thread, with a warm-up so the JIT has compiled the hot path.
 * Prints the figure and writes it to {@code target/bench/serde.json}.
 *
 * <p>Run: {@code mvn -q -o -pl schemas test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.lorastream.serde.bench.SerdeBenchmark [-Dexec.args="2000000 500000"]}
 * (arguments: measured records, warm-up records).
 */
public final class SerdeBenchmark {
  private static final String TOPIC = "examples.raw";

  private SerdeBenchmark() {
  }

  public static void main(String[] args) throws IOException {
    long measured = args.length > 0 ? Long.parseLong(args[0]) : 2_000_000L;
    long warmup = args.length > 1 ? Long.parseLong(args[1]) : 500_000L;
    int distinct = 1024;
    LabeledExample[] records = new LabeledExample[distinct];
    for (int i = 0; i < distinct; i++) {
      records[i] = SampleRecords.labeledExample(i, 64);
    }
    try (EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.inMemory()) {
      SpecificAvroSerde<LabeledExample> serde = new SpecificAvroSerde<>(LabeledExample.class);
      serde.configure(Map.of(RegistryClientConfig.URL, registry.url()), false);
      Serializer<LabeledExample> ser = serde.serializer();
      Deserializer<LabeledExample> de = serde.deserializer();

      long sink = run(ser, de, records, warmup);
      ThreadMXBean mx = ManagementFactory.getThreadMXBean();
      long cpu0 = mx.getCurrentThreadCpuTime();
      long t0 = System.nanoTime();
      sink += run(ser, de, records, measured);
      long wallNanos = System.nanoTime() - t0;
      long cpuNanos = mx.getCurrentThreadCpuTime() - cpu0;

      int bytesPerRecord = ser.serialize(TOPIC, records[0]).length;
      double perSecWall = measured / (wallNanos / 1e9);
      double perSecCpu = cpuNanos > 0 ? measured / (cpuNanos / 1e9) : perSecWall;
      String json = String.format(Locale.ROOT,
          "{\"benchmark\":\"SpecificAvroSerde<LabeledExample> round trip\",\"features\":64,\"bytesPerRecord\":%d,"
              + "\"records\":%d,\"warmupRecords\":%d,\"wallSeconds\":%.3f,\"cpuSeconds\":%.3f,"
              + "\"recordsPerSecondWall\":%.0f,\"recordsPerSecondPerCore\":%.0f,\"threads\":1,"
              + "\"availableProcessors\":%d,\"jvm\":\"%s\",\"timestamp\":\"%s\",\"checksum\":%d}",
          bytesPerRecord, measured, warmup, wallNanos / 1e9, cpuNanos / 1e9, perSecWall, perSecCpu,
          Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.version"), Instant.now(), sink);
      Path out = outputDir().resolve("serde.json");
      Files.createDirectories(out.getParent());
      Files.writeString(out, json + System.lineSeparator(), StandardCharsets.UTF_8);
      System.out.printf(Locale.ROOT, "SerdeBenchmark: %,d LabeledExample(64 floats, %d bytes) round trips: "
              + "%,.0f records/s per core (CPU time), %,.0f records/s wall; written to %s%n",
          measured, bytesPerRecord, perSecCpu, perSecWall, out);
    }
  }

  /** Round-trips {@code n} records; returns a value derived from the results so nothing is optimized away. */
  private static long run(Serializer<LabeledExample> ser, Deserializer<LabeledExample> de, LabeledExample[] records,
      long n) {
    long acc = 0;
    for (long i = 0; i < n; i++) {
      byte[] bytes = ser.serialize(TOPIC, records[(int) (i & (records.length - 1))]);
      LabeledExample back = de.deserialize(TOPIC, bytes);
      acc += back.getLabel() + bytes.length;
    }
    return acc;
  }

  /** {@code <module>/target/bench} when run from the build tree, else {@code ./target/bench}. */
  private static Path outputDir() {
    try {
      Path classes = Path.of(SerdeBenchmark.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (Files.isDirectory(classes) && classes.getParent() != null
          && classes.getParent().getFileName().toString().equals("target")) {
        return classes.getParent().resolve("bench");
      }
    } catch (URISyntaxException | RuntimeException ignored) {
      // fall back to the working directory
    }
    return Path.of("target", "bench");
  }
}
