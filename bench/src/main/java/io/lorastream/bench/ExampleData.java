package io.lorastream.bench;

import io.lorastream.avro.LabeledExample;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.RotatingSubspaceStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.Serializer;

/**
 * The benchmark's examples: 64-float vectors labeled by the rotating-subspace teacher (two phases,
 * so the adapter has a real shift to learn), as plain {@link Example}s for the in-memory
 * references, as Avro {@link LabeledExample}s in Confluent wire format for Kafka, and packed into
 * row-major micro-batches exactly as the trainer's assembler packs them. The same list feeds both
 * sides of every comparison, so the reference does identical arithmetic.
 */
final class ExampleData {
  private ExampleData() {
  }

  /** {@code n} examples of width {@link BenchPlan#INPUT_SIZE}; ids are unique per seed. */
  static List<Example> generate(int n, long seed) {
    return generate(n, BenchPlan.INPUT_SIZE, seed);
  }

  /** {@code n} examples of width {@code width}. */
  static List<Example> generate(int n, int width, long seed) {
    RotatingSubspaceStream.Config cfg = new RotatingSubspaceStream.Config(width, BenchPlan.CLASSES, seed,
        List.of(0, 8), Math.PI / 2, Math.max(1, (n + 1) / 2), 32);
    RotatingSubspaceStream gen = new RotatingSubspaceStream(cfg);
    List<Example> out = new ArrayList<>(n);
    for (int i = 0; i < n && gen.hasNext(); i++) {
      out.add(gen.next());
    }
    return out;
  }

  /** Wire-format values (registered under {@code topic}'s subject). */
  static List<byte[]> serialize(List<Example> examples, String task, Serializer<LabeledExample> ser, String topic) {
    List<byte[]> out = new ArrayList<>(examples.size());
    for (Example e : examples) {
      out.add(ser.serialize(topic, e.toLabeledExample(task, "bench", Instant.now())));
    }
    return out;
  }

  /** Examples grouped into full micro-batches of {@code b}: features row-major (b x d) and labels. */
  record Batches(int size, List<float[]> features, List<int[]> labels) {
    int count() {
      return labels.size();
    }
  }

  static Batches batches(List<Example> examples, int b) {
    int d = examples.get(0).features().length;
    List<float[]> xs = new ArrayList<>();
    List<int[]> ys = new ArrayList<>();
    for (int start = 0; start + b <= examples.size(); start += b) {
      float[] x = new float[b * d];
      int[] y = new int[b];
      for (int i = 0; i < b; i++) {
        Example e = examples.get(start + i);
        System.arraycopy(e.features(), 0, x, i * d, d);
        y[i] = e.label();
      }
      xs.add(x);
      ys.add(y);
    }
    return new Batches(b, xs, ys);
  }
}
