package io.lorastream.experiment;

import io.lorastream.avro.LabeledExample;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.RotatingHyperplaneStream;
import io.lorastream.lora.model.ModelSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rotating-hyperplane stream (MOA / River definition, {@link RotatingHyperplaneStream}) as an
 * experiment workload: one generator run, whose first examples are the pretraining period and the
 * rest the stream, so the concept keeps moving across the boundary as it does in those libraries'
 * prequential evaluations. Dense features, an MLP base (hidden 32-32, 2 classes), F1 of class 1.
 */
public final class HyperplaneWorkload implements Workload {
  private static final Instant EPOCH = Instant.parse("2026-01-01T00:00:00Z");

  private final RotatingHyperplaneStream.Config config;
  private final int pretrainExamples;
  private List<Example> pretrain;
  private List<LabeledExample> stream;

  public HyperplaneWorkload(RotatingHyperplaneStream.Config generator, int pretrainExamples) {
    if (pretrainExamples < 2 || generator.examples() <= pretrainExamples) {
      throw new IllegalArgumentException("hyperplane: need >= 2 pretraining examples and more examples than that in all");
    }
    this.config = generator;
    this.pretrainExamples = pretrainExamples;
  }

  private synchronized void generate() {
    if (stream != null) {
      return;
    }
    RotatingHyperplaneStream gen = new RotatingHyperplaneStream(config);
    List<Example> pre = new ArrayList<>(pretrainExamples);
    List<LabeledExample> str = new ArrayList<>();
    long i = 0;
    while (gen.hasNext()) {
      Example e = gen.next();
      if (i < pretrainExamples) {
        pre.add(e);
      } else {
        str.add(e.toLabeledExample(task(), "rotating-hyperplane", EPOCH.plusSeconds(i)));
      }
      i++;
    }
    pretrain = List.copyOf(pre);
    stream = List.copyOf(str);
  }

  @Override
  public String name() {
    return "hyperplane";
  }

  @Override
  public String task() {
    return "hyperplane";
  }

  @Override
  public ModelSpec baseSpec(long seed) {
    return ModelSpec.mlp(config.features(), List.of(32, 32), 2, seed);
  }

  @Override
  public List<Example> pretrain() {
    generate();
    return pretrain;
  }

  @Override
  public List<LabeledExample> stream() {
    generate();
    return stream;
  }

  @Override
  public boolean tokens() {
    return false;
  }

  @Override
  public int ingestInputSize() {
    return config.features();
  }

  @Override
  public int numClasses() {
    return 2;
  }

  @Override
  public List<String> classNames() {
    return List.of("class 0", "class 1");
  }

  @Override
  public int positiveClass() {
    return 1;
  }

  @Override
  public Map<String, Object> summary() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("source", "rotating hyperplane as MOA's HyperplaneGenerator / River's synth.Hyperplane define it (seed "
        + config.seed() + ")");
    m.put("features", config.features() + " (uniform in [0, 1)), " + config.driftFeatures() + " drifting");
    m.put("drift", "magnitude " + config.magnitude() + " per example, direction flips with probability "
        + config.sigma());
    m.put("label noise", config.noise());
    m.put("pretrainExamples", pretrainExamples + " (the generator's first examples)");
    m.put("streamExamples", stream().size() + " (the examples after them, the concept still moving)");
    return m;
  }
}
