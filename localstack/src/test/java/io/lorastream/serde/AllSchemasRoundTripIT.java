package io.lorastream.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.avro.Prediction;
import io.lorastream.registry.SchemaRegistryClient;
import io.lorastream.registry.SubjectNotFoundException;
import io.lorastream.testing.LocalStackExtension;
import io.lorastream.testing.SampleRecords;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every lorastream record type goes through the real path: serde, embedded registry over HTTP
 * (Kafka-backed), a real broker, and back; then the registry is replaced by a new instance over the
 * same {@code _schemas} topic and must serve the same ids.
 */
class AllSchemasRoundTripIT {

  @RegisterExtension static LocalStackExtension stack = new LocalStackExtension();

  @Test
  void everyRecordTypeRoundTripsThroughBrokerAndRegistryAndIdsSurviveRegistryRestart() {
    LorastreamSerdes serdes = stack.serdes();
    var catalog = stack.catalog();
    roundTrip(catalog.examplesRaw.name(), serdes.labeledExample(), SampleRecords.labeledExample(3, 64));
    roundTrip(catalog.adapters.name(), serdes.adapterSnapshot(), SampleRecords.adapterSnapshot(7));
    roundTrip(catalog.inferenceRequests.name(), serdes.inferenceRequest(), SampleRecords.inferenceRequest(1));
    roundTrip(catalog.inferencePredictions.name(), serdes.prediction(), SampleRecords.prediction(2));
    roundTrip(catalog.metrics.name(), serdes.pipelineMetric(), SampleRecords.pipelineMetric(5));

    SchemaRegistryClient before = stack.newRegistryClient();
    String subject = catalog.examplesRaw.name() + "-value";
    int idBefore = before.getLatestVersion(subject).id();
    List<String> subjectsBefore = before.listSubjects();

    stack.restartRegistry();

    // A fresh client: nothing cached, everything comes from the new registry instance.
    SchemaRegistryClient after = stack.newRegistryClient();
    assertThat(after.listSubjects()).containsExactlyInAnyOrderElementsOf(subjectsBefore);
    assertThat(after.register(subject, LabeledExample.getClassSchema())).isEqualTo(idBefore);
    assertThat(after.lookup(subject, LabeledExample.getClassSchema()).id()).isEqualTo(idBefore);
    assertThat(after.getSchemaById(idBefore)).isEqualTo(LabeledExample.getClassSchema());
    assertThat(after.listVersions(subject)).containsExactly(1);
    assertThatThrownBy(() -> after.listVersions("no-such-subject")).isInstanceOf(SubjectNotFoundException.class);

    // Serdes built after the restart read records written before it.
    LorastreamSerdes fresh = LorastreamSerdes.create(stack.registryConfig());
    List<LabeledExample> again = consumeAll(catalog.examplesRaw.name(), fresh.labeledExample(), 1);
    assertThat(again).containsExactly(SampleRecords.labeledExample(3, 64));
  }

  private static <T extends SpecificRecord> void roundTrip(String topic, Serde<T> serde, T record) {
    try (KafkaProducer<String, T> p = new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()), new StringSerializer(), serde.serializer())) {
      p.send(new ProducerRecord<>(topic, 0, "k", record)).get();
    } catch (Exception e) {
      throw new AssertionError("produce to " + topic + " failed", e);
    }
    List<T> got = consumeAll(topic, serde, 1);
    assertThat(got).containsExactly(record);
  }

  private static <T> List<T> consumeAll(String topic, Serde<T> serde, int expected) {
    List<T> out = new ArrayList<>();
    try (KafkaConsumer<String, T> c = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()), new StringDeserializer(), serde.deserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (out.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, T> r : c.poll(Duration.ofMillis(200))) {
          out.add(r.value());
        }
      }
    }
    return out;
  }
}
