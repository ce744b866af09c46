package io.lorastream.testing;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.LayerAdapter;
import io.lorastream.avro.OffsetRange;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.avro.Prediction;
import io.lorastream.avro.ScalingMode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Deterministic, fully populated sample records for tests: the same seed always gives an equal
 * record, so a test can rebuild the expected value instead of keeping the sent one around. Every
 * optional field is set, so a round trip exercises unions, maps, arrays, enums, bytes and logical
 * timestamps.
 */
public final class SampleRecords {
  private SampleRecords() {
  }

  /** A labeled example with {@code features} dense floats drawn from the seed. */
  public static LabeledExample labeledExample(long seed, int features) {
    Random r = new Random(seed);
    List<Float> f = new ArrayList<>(features);
    for (int i = 0; i < features; i++) {
      f.add((float) r.nextGaussian());
    }
    return LabeledExample.newBuilder()
        .setId("ex-" + seed)
        .setTask("task-" + (seed % 3))
        .setFeatures(f)
        .setTokens(List.of(1, 2, (int) seed))
        .setLabel(r.nextInt(10))
        .setWeight(0.5f + r.nextFloat())
        .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L + seed))
        .setSource("sample")
        .setAttributes(Map.of("phase", "p" + (seed % 2)))
        .build();
  }

  /** A snapshot with two layers of rank 2 and real float32 little-endian A/B bytes. */
  public static AdapterSnapshot adapterSnapshot(long seed) {
    Random r = new Random(seed);
    List<LayerAdapter> layers = new ArrayList<>();
    for (String name : List.of("fc1", "fc2")) {
      int rank = 2;
      int in = 8;
      int out = 4;
      layers.add(LayerAdapter.newBuilder()
          .setName(name).setRank(rank).setInFeatures(in).setOutFeatures(out)
          .setAlpha(16f).setScaling(ScalingMode.RSLORA)
          .setA(floats(r, rank * in)).setB(floats(r, out * rank))
          .build());
    }
    return AdapterSnapshot.newBuilder()
        .setAdapterId("task-" + seed)
        .setVersion(seed)
        .setBaseModelId("mlp-base")
        .setBaseFingerprint("ab".repeat(32))
        .setCreatedAt(Instant.ofEpochMilli(1_700_000_000_000L + seed))
        .setTrainerId("trainer-1")
        .setOptimizerStep(100 * seed)
        .setExamplesSeen(1000 * seed)
        .setAlpha(16f)
        .setScalingMode(ScalingMode.STANDARD)
        .setLayers(layers)
        .setSourceOffsets(List.of(OffsetRange.newBuilder().setTopic("examples.train").setPartition(0)
            .setFromOffset(0).setUntilOffset(42 + seed).build()))
        .setMetrics(Map.of("loss_ema", 0.25, "grad_norm", 1.5))
        .setChecksum(ByteBuffer.wrap(new byte[] {1, 2, 3, (byte) seed}))
        .setSignature(ByteBuffer.wrap(new byte[] {9, 8, 7}))
        .build();
  }

  public static InferenceRequest inferenceRequest(long seed) {
    return InferenceRequest.newBuilder()
        .setRequestId("req-" + seed)
        .setTask("task-0")
        .setFeatures(List.of(0.5f, -1.25f, (float) seed))
        .setTokens(List.of())
        .setLabel((int) (seed % 10))
        .setSentAt(Instant.ofEpochMilli(1_700_000_000_000L + seed))
        .build();
  }

  public static Prediction prediction(long seed) {
    return Prediction.newBuilder()
        .setRequestId("req-" + seed)
        .setTask("task-0")
        .setAdapterId("task-0")
        .setAdapterVersion(seed)
        .setPredictedClass(1)
        .setProbabilities(List.of(0.25f, 0.75f))
        .setLabel(1)
        .setLatencyMicros(123 + seed)
        .setConsumerId("inference-1")
        .setPredictedAt(Instant.ofEpochMilli(1_700_000_000_000L + seed))
        .build();
  }

  public static PipelineMetric pipelineMetric(long seed) {
    return PipelineMetric.newBuilder()
        .setName("trainer.loss_ema")
        .setTask("task-0")
        .setValue(0.125 * seed)
        .setAdapterVersion(seed)
        .setWindowStart(Instant.ofEpochMilli(1_700_000_000_000L))
        .setWindowEnd(Instant.ofEpochMilli(1_700_000_060_000L))
        .setTags(Map.of("layer", "fc1"))
        .setService("trainer-1")
        .setTimestamp(Instant.ofEpochMilli(1_700_000_000_000L + seed))
        .build();
  }

  private static ByteBuffer floats(Random r, int n) {
    ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      b.putFloat((float) r.nextGaussian());
    }
    return b.flip();
  }
}
