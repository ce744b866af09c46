package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.avro.LabeledExample;
import io.lorastream.registry.CompatibilityLevel;
import io.lorastream.registry.IncompatibleSchemaException;
import io.lorastream.registry.SchemaRegistryClient;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.testing.SampleRecords;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The project's registry client and serdes against the real Confluent Schema Registry (and a real
 * broker), in Docker: a schema registered by {@link SchemaRegistryClient} is served by the
 * registry's own REST API, records written by the project's serde through Kafka decode with the
 * writer schema fetched from {@code GET /schemas/ids/{id}}, and a 409 compatibility rejection
 * surfaces as {@link IncompatibleSchemaException}. Skipped when no Docker engine is available.
 */
@Testcontainers(disabledWithoutDocker = true)
class ConfluentRegistryIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void containers() {
    ConfluentContainers.start();
  }

  private JsonNode getJson(String path) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(ConfluentContainers.registryUrl() + path))
        .header("Accept", SchemaRegistryClient.CONTENT_TYPE).timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  @Test
  void schemaRegisteredByTheProjectClientIsServedByTheRegistryRestApi() throws Exception {
    SchemaRegistryClient client = new SchemaRegistryClient(ConfluentContainers.registryUrl());
    String subject = "it-" + UUID.randomUUID() + "-value";
    int id = client.register(subject, LabeledExample.getClassSchema());

    JsonNode byId = getJson("/schemas/ids/" + id);
    assertThat(new Schema.Parser().parse(byId.get("schema").asText())).isEqualTo(LabeledExample.getClassSchema());
    JsonNode latest = getJson("/subjects/" + subject + "/versions/latest");
    assertThat(latest.get("id").asInt()).isEqualTo(id);
    assertThat(latest.get("version").asInt()).isEqualTo(1);
    // registering the same schema again is idempotent on the real registry too
    assertThat(client.register(subject, LabeledExample.getClassSchema())).isEqualTo(id);
    assertThat(client.getSchemaById(id)).isEqualTo(LabeledExample.getClassSchema());
  }

  @Test
  void serdeWrittenRecordsThroughKafkaDecodeWithTheWriterSchemaFromTheRestApi() throws Exception {
    String topic = "it-examples-" + UUID.randomUUID();
    try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", ConfluentContainers.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
    }
    LorastreamSerdes serdes = LorastreamSerdes.create(Map.of("schema.registry.url", ConfluentContainers.registryUrl()));
    List<LabeledExample> sent = List.of(SampleRecords.labeledExample(1, 8), SampleRecords.labeledExample(2, 8),
        SampleRecords.labeledExample(3, 8));
    try (KafkaProducer<String, LabeledExample> p = new KafkaProducer<>(
        Map.<String, Object>of("bootstrap.servers", ConfluentContainers.bootstrapServers()), new StringSerializer(),
        serdes.labeledExample().serializer())) {
      for (LabeledExample e : sent) {
        p.send(new ProducerRecord<>(topic, e.getId(), e)).get();
      }
    }
    List<byte[]> raw = new java.util.ArrayList<>();
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.<String, Object>of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, ConfluentContainers.bootstrapServers(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new ByteArrayDeserializer())) {
      c.assign(List.of(new TopicPartition(topic, 0)));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (raw.size() < sent.size() && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          raw.add(r.value());
        }
      }
    }
    assertThat(raw).hasSize(sent.size());
    for (int i = 0; i < sent.size(); i++) {
      byte[] bytes = raw.get(i);
      assertThat(bytes[0]).as("magic byte").isZero();
      int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
      Schema writer = new Schema.Parser().parse(getJson("/schemas/ids/" + id).get("schema").asText());
      GenericRecord decoded = new GenericDatumReader<GenericRecord>(writer)
          .read(null, DecoderFactory.get().binaryDecoder(Arrays.copyOfRange(bytes, 5, bytes.length), null));
      LabeledExample e = sent.get(i);
      assertThat(decoded.get("id").toString()).isEqualTo(e.getId());
      assertThat(decoded.get("task").toString()).isEqualTo(e.getTask());
      assertThat(decoded.get("label")).isEqualTo(e.getLabel());
      assertThat(decoded.get("features").toString()).isEqualTo(e.getFeatures().toString());
      // TopicNameStrategy: the id is the latest version of <topic>-value on the real registry
      assertThat(getJson("/subjects/" + topic + "-value/versions/latest").get("id").asInt()).isEqualTo(id);
    }
  }

  @Test
  void incompatibleSchemaIs409AndSurfacesAsIncompatibleSchemaException() {
    SchemaRegistryClient client = new SchemaRegistryClient(ConfluentContainers.registryUrl());
    String subject = "it-compat-" + UUID.randomUUID() + "-value";
    client.setSubjectCompatibility(subject, CompatibilityLevel.BACKWARD);
    Schema v1 = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}");
    Schema incompatible = new Schema.Parser().parse(
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\"}]}");
    Schema compatible = new Schema.Parser().parse(
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\",\"default\":\"\"}]}");
    int id1 = client.register(subject, v1);

    assertThat(client.testCompatibility(subject, incompatible)).isFalse();
    assertThatThrownBy(() -> client.register(subject, incompatible))
        .isInstanceOf(IncompatibleSchemaException.class)
        .satisfies(e -> assertThat(((IncompatibleSchemaException) e).getMessage()).isNotBlank());
    assertThat(client.listVersions(subject)).containsExactly(1);

    assertThat(client.testCompatibility(subject, compatible)).isTrue();
    assertThat(client.register(subject, compatible)).isNotEqualTo(id1);
    assertThat(client.listVersions(subject)).containsExactly(1, 2);
  }
}
