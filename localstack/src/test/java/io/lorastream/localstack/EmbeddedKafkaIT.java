package io.lorastream.localstack;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.kafka.TopicCatalog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaIT {

  @TempDir Path tmp;

  @Test
  void createsCatalogTopicsAndKeepsDataAcrossRestart() throws Exception {
    Path dir = tmp.resolve("kafka");
    TopicCatalog catalog = TopicCatalog.defaults(2);
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().dataDir(dir).build().start()) {
      int port = kafka.brokerPort();
      try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
        catalog.createAll(admin, (short) 1);
        catalog.createAll(admin, (short) 1); // idempotent
        Set<String> names = admin.listTopics().names().get();
        catalog.all().forEach(t -> assertThat(names).contains(t.name()));
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, catalog.adapters.name());
        ConfigEntry policy = admin.describeConfigs(List.of(res)).all().get().get(res).get("cleanup.policy");
        assertThat(policy.value()).isEqualTo("compact");
      }
      try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of(
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()), new StringSerializer(), new StringSerializer())) {
        for (int i = 0; i < 10; i++) {
          p.send(new ProducerRecord<>(catalog.metrics.name(), 0, "k" + i, "v" + i)).get();
        }
      }
      kafka.stop();
      assertThat(kafka.isRunning()).isFalse();
      kafka.start();
      assertThat(kafka.brokerPort()).isEqualTo(port);
      try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.of(
          ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()), new StringDeserializer(), new StringDeserializer())) {
        TopicPartition tp = new TopicPartition(catalog.metrics.name(), 0);
        c.assign(List.of(tp));
        c.seekToBeginning(List.of(tp));
        List<String> values = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 30_000;
        while (values.size() < 10 && System.currentTimeMillis() < deadline) {
          for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
            values.add(r.value());
          }
        }
        assertThat(values).hasSize(10).startsWith("v0").endsWith("v9");
      }
    }
    assertThat(Files.exists(dir.resolve("kraft/meta.properties"))).isTrue();
  }
}
