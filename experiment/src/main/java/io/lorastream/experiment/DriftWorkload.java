package io.lorastream.experiment;

import io.lorastream.avro.LabeledExample;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.ExampleSource;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.ModelSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The synthetic rotating-subspace stream as an experiment workload: the base is pretrained on a
 * sample of concept 0, and the stream is concepts 1..P-1 in order (concept 0 is the "pretraining
 * period"): rotations of 1, 4 and 8 input planes, then a simpler one of 2, then concept 2 again
 * ({@link RotatingSubspaceStream.Config#withRecurringConcept}), so the stream tests forgetting as
 * well as growing capacity. Dense features, the demo's
 * MLP base (d=32, hidden 64-64, 6 classes), macro-F1.
 */
public final class DriftWorkload implements Workload {
  private static final Instant EPOCH = Instant.parse("2026-01-01T00:00:00Z");

  private final RotatingSubspaceStream.Config config;
  private final int pretrainExamples;
  private final long seed;
  private List<Example> pretrain;
  private List<LabeledExample> stream;

  /**
   * @param streamExamples examples streamed in total (split evenly over concepts 1..P-1)
   * @param pretrainExamples concept-0 examples the base is pretrained on
   */
  public DriftWorkload(long seed, long streamExamples, int pretrainExamples) {
    RotatingSubspaceStream.Config d = RotatingSubspaceStream.Config.defaults(seed).withRecurringConcept();
    if (streamExamples < d.phases() - 1 || pretrainExamples < 2) {
      throw new IllegalArgumentException("drift workload needs >= " + (d.phases() - 1) + " stream and >= 2 pretraining examples");
    }
    this.config = d.withExamplesPerPhase(Math.max(1, streamExamples / (d.phases() - 1)));
    this.pretrainExamples = pretrainExamples;
    this.seed = seed;
  }

  @Override
  public String name() {
    return "drift";
  }

  @Override
  public String task() {
    return "drift";
  }

  @Override
  public ModelSpec baseSpec(long s) {
    return ModelSpec.mlp(config.inputSize(), List.of(64, 64), config.numClasses(), s);
  }

  @Override
  public synchronized List<Example> pretrain() {
    if (pretrain == null) {
      ExampleSource src = new RotatingSubspaceStream(config).phaseSource(0, pretrainExamples, seed + 1);
      List<Example> out = new ArrayList<>(pretrainExamples);
      while (src.hasNext()) {
        out.add(src.next());
      }
      pretrain = List.copyOf(out);
    }
    return pretrain;
  }

  @Override
  public synchronized List<LabeledExample> stream() {
    if (stream == null) {
      RotatingSubspaceStream gen = new RotatingSubspaceStream(config);
      List<LabeledExample> out = new ArrayList<>();
      long i = 0;
      while (gen.hasNext()) {
        Example e = gen.next();
        i++;
        if (e.phase() == 0) {
          continue; // the pretraining period
        }
        out.add(e.toLabeledExample(task(), "rotating-subspace", EPOCH.plusSeconds(i)));
      }
      stream = List.copyOf(out);
    }
    return stream;
  }

  @Override
  public boolean tokens() {
    return false;
  }

  @Override
  public int ingestInputSize() {
    return config.inputSize();
  }

  @Override
  public int numClasses() {
    return config.numClasses();
  }

  @Override
  public List<String> classNames() {
    List<String> n = new ArrayList<>();
    for (int c = 0; c < config.numClasses(); c++) {
      n.add("class " + c);
    }
    return n;
  }

  @Override
  public int positiveClass() {
    return -1;
  }

  @Override
  public Map<String, Object> summary() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("source", "rotating-subspace generator (seed " + seed + ")");
    m.put("inputSize", config.inputSize());
    m.put("classes", config.numClasses());
    m.put("concepts", config.phases());
    m.put("rotatedPlanesPerConcept", config.planesPerPhase());
    m.put("recurring", "phase 4 is simpler (m=2); phase 5 brings back phase 2's concept (the same rotation)");
    m.put("pretrainExamples", pretrainExamples + " (concept 0)");
    m.put("streamExamples", stream().size() + " (concepts 1.." + (config.phases() - 1) + ", "
        + config.examplesPerPhase() + " each)");
    java.util.List<Map<String, Object>> segments = new java.util.ArrayList<>();
    io.lorastream.lora.data.RotatingSubspaceStream names = new io.lorastream.lora.data.RotatingSubspaceStream(config);
    for (int c = 1; c < config.phases(); c++) {
      Map<String, Object> seg = new LinkedHashMap<>();
      seg.put("start", (long) (c - 1) * config.examplesPerPhase());
      seg.put("label", names.phaseName(c)); // e.g. "phase-5 (m=4, phase 2 again)": a recurring concept says so
      segments.add(seg);
    }
    m.put(ExperimentCharts.SEGMENTS, segments);
    return m;
  }
}
