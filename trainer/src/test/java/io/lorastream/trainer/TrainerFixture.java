package io.lorastream.trainer;

import ai.djl.Device;
import io.lorastream.avro.LabeledExample;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.train.Pretrainer;
import io.lorastream.testing.LocalStackExtension;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Shared set-up of the trainer reliability ITs: a small frozen base pretrained on phase 0 of a
 * rotating-subspace stream, the drifted stream itself, trainer and common configuration pointing
 * at a {@link LocalStackExtension}, and {@code LabeledExample} construction. Every IT uses the
 * same d=32, C=4 MLP base with one hidden layer of 32 so that the figures they print are
 * comparable.
 */
final class TrainerFixture {
  static final int D = 32;
  static final int CLASSES = 4;

  private TrainerFixture() {
  }

  /** Pretrains the base on {@code n} phase-0 examples and saves it to {@code file}. */
  static Path pretrainBase(RotatingSubspaceStream.Config sc, Path file, int n) throws Exception {
    ModelSpec spec = ModelSpec.mlp(sc.inputSize(), List.of(32), sc.numClasses(), 3L);
    try (RotatingSubspaceStream gen = new RotatingSubspaceStream(sc)) {
      Pretrainer.Result r = new Pretrainer(Pretrainer.Config.defaults().withEpochs(3))
          .train(spec, gen.phaseSource(0, n, 5L), n, Device.cpu());
      try (BaseModel m = r.model()) {
        m.save(file);
      }
    }
    return file;
  }

  /** The whole stream of {@code sc}, in order. */
  static List<Example> stream(RotatingSubspaceStream.Config sc) {
    List<Example> out = new ArrayList<>();
    try (RotatingSubspaceStream gen = new RotatingSubspaceStream(sc)) {
      gen.forEachRemaining(out::add);
    }
    return out;
  }

  static CommonConfig common(LocalStackExtension stack, Map<String, String> extraKafka) {
    Map<String, String> m = new HashMap<>(stack.kafkaSettings());
    m.put(CommonConfig.REGISTRY_URL, stack.registryUrl());
    m.putAll(extraKafka);
    return new CommonConfig(LayeredConfig.load(CommonConfig.DEFAULTS, null, Map.of(), m));
  }

  /** Trainer settings of the reliability ITs; {@code overrides} win. */
  static TrainerConfig config(String task, String trainerId, Path base, Map<String, String> overrides) {
    Map<String, String> m = new HashMap<>();
    m.put(TrainerConfig.ADAPTER_ID, task);
    m.put(TrainerConfig.ID, trainerId);
    m.put(TrainerConfig.BASE, base.toString());
    m.put(TrainerConfig.DEVICE, "cpu");
    m.put(TrainerConfig.MICROBATCH_SIZE, "16");
    m.put(TrainerConfig.ACCUMULATION_STEPS, "2");
    m.put(TrainerConfig.LR, "0.01");
    m.put(TrainerConfig.PUBLISH_STEPS, "10");
    m.put(TrainerConfig.PUBLISH_MIN_INTERVAL_MS, "0"); // snapshots cut by steps alone: the fault plans count them
    m.put(TrainerConfig.PUBLISH_INTERVAL_MS, "60000");
    m.put(TrainerConfig.POLL_TIMEOUT_MS, "50");
    m.put(TrainerConfig.METRICS_INTERVAL_MS, "5000");
    m.putAll(overrides);
    return TrainerConfig.of(m);
  }

  static Thread start(AdapterTrainer t) {
    Thread th = new Thread(t, "trainer-" + t.config().trainerId());
    th.setDaemon(true);
    th.start();
    return th;
  }

  static LabeledExample labeled(String id, String task, float[] features, int label, Float weight) {
    List<Float> f = new ArrayList<>(features.length);
    for (float v : features) {
      f.add(v);
    }
    return LabeledExample.newBuilder().setId(id).setTask(task).setFeatures(f).setLabel(label).setWeight(weight)
        .setEventTime(Instant.now()).setSource("reliability-it").build();
  }

  static LabeledExample labeled(Example e, String task) {
    return labeled(e.id(), task, e.features(), e.label(), null);
  }
}
