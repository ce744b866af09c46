package io.lorastream.stream.control;

import static io.lorastream.stream.serving.VersionedAdapters.X;
import static io.lorastream.stream.serving.VersionedAdapters.snapshot;
import static io.lorastream.stream.serving.VersionedAdapters.targetClass;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.RolloutAction;
import io.lorastream.avro.RolloutState;
import io.lorastream.avro.VersionStatus;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.stream.rollout.RolloutConfig;
import io.lorastream.stream.serving.VersionedAdapters;
import io.lorastream.testing.LocalStackExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A controller restarted in the middle of gating a candidate goes on from the gate's recorded counts. */
class RolloutControllerRestartIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension();

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int GATE_EXAMPLES = 40;

  @Test
  void aRestartedControllerGoesOnFromTheGatesRecordedCountsAndKeepsTheStates() throws Exception {
    CommonConfig common = new CommonConfig(LayeredConfig.load(CommonConfig.DEFAULTS, null, Map.of(), Map.of(
        CommonConfig.BOOTSTRAP, stack.bootstrapServers(), CommonConfig.REGISTRY_URL, stack.registryUrl())));
    Map<String, String> settings = new HashMap<>(RolloutConfig.DEFAULTS);
    settings.put(RolloutConfig.MODE, "gated");
    settings.put(RolloutConfig.GATE_EXAMPLES, String.valueOf(GATE_EXAMPLES));
    RolloutConfig cfg = RolloutConfig.from(LayeredConfig.of(settings));
    String id = "restart-gate";
    try (BaseModel base = VersionedAdapters.zeroBase();
        KafkaProducer<String, AdapterSnapshot> trainer = new KafkaProducer<>(new HashMap<>(Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(), ProducerConfig.TRANSACTIONAL_ID_CONFIG,
            "restart-gate-trainer")), new StringSerializer(), stack.serdes().adapterSnapshot().serializer());
        KafkaProducer<String, LabeledExample> examples = new KafkaProducer<>(Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()), new StringSerializer(),
            stack.serdes().labeledExample().serializer())) {
      RolloutController first = RolloutController.start(cfg, common, stack.serdes(), base);
      assertThat(first.awaitReady(WAIT)).isTrue();
      trainer.initTransactions();
      trainer.beginTransaction();
      trainer.send(new ProducerRecord<>(stack.catalog().adapters.name(), id, snapshot(id, 1, base)));
      trainer.commitTransaction();
      await().atMost(WAIT).until(() -> first.state(id).map(s -> Long.valueOf(1).equals(s.getCandidateVersion()))
          .orElse(false));
      holdout(examples, id, 20);
      await().atMost(WAIT).until(() -> first.state(id).map(s -> s.getGate() != null && s.getGate().getExamples() == 20)
          .orElse(false));
      first.close();

      RolloutController second = RolloutController.start(cfg, common, stack.serdes(), base);
      try {
        assertThat(second.awaitReady(WAIT)).isTrue();
        RolloutState restored = second.state(id).orElseThrow();
        assertThat(restored.getGate().getExamples()).as("the recorded progress is restored").isEqualTo(20);
        // The gate has 20 of its 40 examples: 20 more decide, where starting from zero would need 40.
        holdout(examples, id, 20);
        await().atMost(WAIT).until(() -> second.state(id).map(s -> s.getCandidateVersion() == null).orElse(false));
        RolloutState s = second.state(id).orElseThrow();
        assertThat(s.getActiveVersion()).isEqualTo(1);
        assertThat(s.getVersions().get(0).getStatus()).isEqualTo(VersionStatus.ACTIVE);
        var decision = s.getDecisions().get(s.getDecisions().size() - 1);
        assertThat(decision.getAction()).isEqualTo(RolloutAction.PROMOTE.name());
        assertThat(decision.getFigures().get(CandidateGate.N)).isEqualTo((double) GATE_EXAMPLES);
        assertThat(s.getGate()).isNull();
      } finally {
        second.close();
      }
    }
  }

  private static void holdout(KafkaProducer<String, LabeledExample> p, String task, int n) {
    List<Float> f = new ArrayList<>();
    for (float x : X) {
      f.add(x);
    }
    for (int i = 0; i < n; i++) {
      String exId = task + "-eval-" + System.nanoTime();
      p.send(new ProducerRecord<>(stack.catalog().examplesEval.name(), exId, LabeledExample.newBuilder().setId(exId)
          .setTask(task).setFeatures(f).setLabel(targetClass(1)).setEventTime(Instant.now()).build()));
    }
    p.flush();
  }
}
