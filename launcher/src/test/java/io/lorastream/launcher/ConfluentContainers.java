package io.lorastream.launcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * A real Kafka broker ({@code apache/kafka}, KRaft) and a real Confluent Schema Registry
 * ({@code confluentinc/cp-schema-registry}) in Docker, shared by every Testcontainers IT of this
 * JVM and started on first use (Testcontainers' reaper removes them afterwards). The image tags
 * are read from the repository's docker-compose.yml, so the ITs test exactly what compose runs.
 * Only touch this from classes annotated {@code @Testcontainers(disabledWithoutDocker = true)}.
 */
final class ConfluentContainers {
  private static final String BROKER_ALIAS = "kafka";
  private static final int BROKER_INTERNAL_PORT = 19092;
  private static final int REGISTRY_PORT = 8081;

  private static KafkaContainer kafka;
  private static GenericContainer<?> registry;

  private ConfluentContainers() {
  }

  static synchronized void start() {
    if (kafka != null) {
      return;
    }
    ComposeFile compose;
    try {
      compose = ComposeFile.repository();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Network network = Network.newNetwork();
    KafkaContainer k = new KafkaContainer(DockerImageName.parse(compose.imageStartingWith(ComposeGuard.KAFKA_IMAGE)))
        .withNetwork(network)
        // a second listener the registry container reaches by name, as in compose
        .withListener(BROKER_ALIAS + ":" + BROKER_INTERNAL_PORT)
        .withEnv("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false");
    k.start();
    GenericContainer<?> r = new GenericContainer<>(DockerImageName.parse(compose.imageStartingWith(ComposeGuard.REGISTRY_IMAGE)))
        .withNetwork(network)
        .withEnv("SCHEMA_REGISTRY_HOST_NAME", "schema-registry")
        .withEnv("SCHEMA_REGISTRY_LISTENERS", "http://0.0.0.0:" + REGISTRY_PORT)
        .withEnv("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "PLAINTEXT://" + BROKER_ALIAS + ":" + BROKER_INTERNAL_PORT)
        .withEnv("SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR", "1")
        .withExposedPorts(REGISTRY_PORT)
        .waitingFor(Wait.forHttp("/subjects").forStatusCode(200).withStartupTimeout(Duration.ofMinutes(3)));
    r.start();
    kafka = k;
    registry = r;
  }

  /** Bootstrap servers reachable from this JVM (the mapped host port). */
  static String bootstrapServers() {
    start();
    return kafka.getBootstrapServers();
  }

  /** Registry base URL reachable from this JVM, e.g. {@code http://localhost:32768}. */
  static String registryUrl() {
    start();
    return "http://" + registry.getHost() + ":" + registry.getMappedPort(REGISTRY_PORT);
  }
}
