package io.lorastream.stream.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.OffsetRange;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.stream.serving.BoundedModelHistory;
import io.lorastream.stream.serving.ScoringModel;
import io.lorastream.testing.LocalStackExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation service on a real embedded broker and HTTP registry (exactly-once v2) with a
 * scripted history: offsets come from the real partition, a version that "memorized" its training
 * offsets never scores them, and final window metrics reach the metrics topic with exact counts.
 */
class EvalIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(2);

  @TempDir Path stateDir;

  record Scripted(long version, Set<String> memorized) implements ScoringModel {
    @Override
    public int predict(LabeledExample e) {
      return memorized.contains(e.getId()) ? e.getLabel() : (e.getLabel() + 1) % 4;
    }
  }

  @Test
  void prequentialMetricsFromARealTopicNeverUseAVersionTrainedOnTheExample() throws Exception {
    String trainTopic = stack.catalog().examplesTrain.name();
    int n = 60;
    int trainedUpTo = 30;
    List<RecordMetadata> sent = new ArrayList<>();
    try (KafkaProducer<String, LabeledExample> producer = new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()), new StringSerializer(),
        stack.serdes().labeledExample().serializer())) {
      for (int i = 0; i < n; i++) {
        LabeledExample ex = LabeledExample.newBuilder().setId("e" + i).setTask("mlp")
            .setFeatures(Collections.nCopies(32, 0.1f)).setLabel(i % 4).setEventTime(Instant.now())
            .setAttributes(Map.of("phase", i < 45 ? "0" : "1")).build();
        sent.add(producer.send(new ProducerRecord<>(trainTopic, "mlp", ex)).get());
      }
    }
    int partition = sent.get(0).partition();
    assertThat(sent).allMatch(m -> m.partition() == partition);
    // v3 was trained on the first 30 offsets and knows their labels by heart; the base is always wrong.
    Set<String> memorized = new HashSet<>();
    for (int i = 0; i < n; i++) {
      if (sent.get(i).offset() < trainedUpTo) {
        memorized.add("e" + i);
      }
    }
    BoundedModelHistory history = new BoundedModelHistory(trainTopic, 8, new Scripted(0, Set.of()));
    history.record("mlp", 3, List.of(OffsetRange.newBuilder().setTopic(trainTopic).setPartition(partition)
        .setFromOffset(0).setUntilOffset(trainedUpTo).build()), new Scripted(3, memorized));

    CommonConfig common = new CommonConfig(LayeredConfig.load(CommonConfig.DEFAULTS, null, Map.of(), Map.of(
        CommonConfig.BOOTSTRAP, stack.bootstrapServers(), CommonConfig.REGISTRY_URL, stack.registryUrl())));
    StreamAppConfig config = StreamAppConfig.of(Map.of(
        StreamAppConfig.EVAL_APPLICATION_ID, "eval-it",
        StreamAppConfig.EVAL_STATE_DIR, stateDir.toString(),
        StreamAppConfig.EVAL_WINDOW_EXAMPLES, "20",
        StreamAppConfig.EVAL_EMIT_INTERVAL_MS, "200"));

    Map<String, PipelineMetric> finals = new HashMap<>();
    try (EvalService eval = new EvalService(common, config, stack.serdes(), history).start();
        KafkaConsumer<String, byte[]> metrics = new KafkaConsumer<>(Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
            ConsumerConfig.GROUP_ID_CONFIG, "eval-it-reader",
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), new StringDeserializer(), new ByteArrayDeserializer())) {
      metrics.subscribe(List.of(stack.catalog().metrics.name()));
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
        for (ConsumerRecord<String, byte[]> r : metrics.poll(Duration.ofMillis(200))) {
          PipelineMetric m = stack.serdes().pipelineMetric().deserializer().deserialize(r.topic(), r.value());
          Map<String, String> t = m.getTags();
          if (m.getName().equals(EvalMetrics.PREQUENTIAL_ACCURACY) && "true".equals(t.get(EvalMetrics.TAG_FINAL))) {
            finals.put(t.get(EvalMetrics.TAG_WINDOW) + "/" + t.get(EvalMetrics.TAG_PHASE) + "/" + t.get(EvalMetrics.TAG_VERSION)
                + "/" + t.get(EvalMetrics.TAG_MODEL), m);
          }
        }
        long adaptedCount = finals.entrySet().stream().filter(e -> e.getKey().endsWith("/adapted"))
            .mapToLong(e -> Long.parseLong(e.getValue().getTags().get(EvalMetrics.TAG_COUNT))).sum();
        assertThat(adaptedCount).isEqualTo(n);
      });
    }
    // Offsets 0-29 (windows 0 and the first half of 1) were scored by the base, 30-59 by v3, which never saw them.
    long v3Count = 0;
    long v3Correct = 0;
    long baseCount = 0;
    for (Map.Entry<String, PipelineMetric> e : finals.entrySet()) {
      Map<String, String> t = e.getValue().getTags();
      if (!e.getKey().endsWith("/adapted")) {
        continue;
      }
      if (t.get(EvalMetrics.TAG_VERSION).equals("3")) {
        v3Count += Long.parseLong(t.get(EvalMetrics.TAG_COUNT));
        v3Correct += Long.parseLong(t.get(EvalMetrics.TAG_CORRECT));
      } else {
        assertThat(t.get(EvalMetrics.TAG_VERSION)).isEqualTo("0");
        baseCount += Long.parseLong(t.get(EvalMetrics.TAG_COUNT));
      }
    }
    assertThat(v3Count).isEqualTo(n - trainedUpTo);
    assertThat(v3Correct).as("v3 is only right on examples it trained on, so it must score 0 here").isZero();
    assertThat(baseCount).isEqualTo(trainedUpTo);
    assertThat(finals).containsKeys("2/1/3/adapted", "2/1/3/frozen", "2/0/3/adapted", "0/0/0/frozen");
  }
}
