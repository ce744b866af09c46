package io.lorastream.testing;

import io.lorastream.kafka.TopicCatalog;
import io.lorastream.localstack.EmbeddedKafka;
import io.lorastream.localstack.LocalCluster;
import io.lorastream.localstack.registry.EmbeddedSchemaRegistry;
import io.lorastream.registry.SchemaRegistryClient;
import io.lorastream.serde.LorastreamSerdes;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit 5 fixture for integration tests: a real in-process KRaft broker, the embedded Schema
 * Registry persisting to its {@code _schemas} topic, every catalog topic created, and configured
 * serdes. Register it on a static field so that one stack serves the whole class:
 *
 * <pre>{@code
 * @RegisterExtension static LocalStackExtension stack = new LocalStackExtension();
 * }</pre>
 *
 * On an instance field it starts before and stops after each test instead. Nested test classes
 * reuse the outer class's stack.
 *
 * <p>{@link #withSasl(String, String)} makes the broker require SASL/PLAIN; the test's clients then
 * take {@link #clientProperties()} (or {@link #kafkaSettings()} as {@code kafka.*} pass-through).
 */
public final class LocalStackExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
    AfterEachCallback {
  private final int partitions;
  /** The SASL account clients use; null when SASL is off. */
  private final String saslUser;
  private final String saslPassword;
  private LocalCluster cluster;
  private LorastreamSerdes serdes;
  private ExtensionContext owner;

  /** Data topics with 2 partitions. */
  public LocalStackExtension() {
    this(2);
  }

  /** Data topics with {@code partitions} partitions. */
  public LocalStackExtension(int partitions) {
    this(partitions, null, null);
  }

  private LocalStackExtension(int partitions, String saslUser, String saslPassword) {
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be at least 1, got " + partitions);
    }
    if (saslUser != null) {
      // Fails here, at registration, on a name or password the broker could not accept.
      EmbeddedKafka.saslClientProperties(saslUser, saslPassword);
    }
    this.partitions = partitions;
    this.saslUser = saslUser;
    this.saslPassword = saslPassword;
  }

  /**
   * A stack whose broker requires SASL/PLAIN on its client listener, with one account
   * {@code user}/{@code password} for the test's clients (2 data partitions).
   */
  public static LocalStackExtension withSasl(String user, String password) {
    return withSasl(2, user, password);
  }

  /** As {@link #withSasl(String, String)} with {@code partitions} data partitions. */
  public static LocalStackExtension withSasl(int partitions, String user, String password) {
    return new LocalStackExtension(partitions, user, password);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    startIfNeeded(context);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    stopIfOwner(context);
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    startIfNeeded(context);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    stopIfOwner(context);
  }

  private synchronized void startIfNeeded(ExtensionContext context) {
    if (cluster != null) {
      return;
    }
    LocalCluster.Builder b = LocalCluster.builder().partitions(partitions);
    if (saslUser != null) {
      b.saslPlain(Map.of(saslUser, saslPassword));
    }
    cluster = b.build().start();
    serdes = LorastreamSerdes.create(cluster.registryConfig());
    owner = context;
  }

  private synchronized void stopIfOwner(ExtensionContext context) {
    if (cluster != null && owner == context) {
      try {
        cluster.close();
      } finally {
        cluster = null;
        serdes = null;
        owner = null;
      }
    }
  }

  public String bootstrapServers() {
    return require().bootstrapServers();
  }

  /** True for a stack made by {@link #withSasl(String, String)}. */
  public boolean saslEnabled() {
    return saslUser != null;
  }

  /**
   * Kafka client settings for this stack: {@code bootstrap.servers} and, with SASL, the test
   * account's {@code security.protocol}, {@code sasl.mechanism} and {@code sasl.jaas.config}.
   */
  public Map<String, String> clientProperties() {
    EmbeddedKafka k = require().kafka();
    return saslUser == null ? Map.of("bootstrap.servers", k.bootstrapServers())
        : k.clientProperties(saslUser, saslPassword);
  }

  /** {@link #clientProperties()} as service configuration: every key prefixed with {@code kafka.}. */
  public Map<String, String> kafkaSettings() {
    Map<String, String> m = new TreeMap<>();
    clientProperties().forEach((k, v) -> m.put("kafka." + k, v));
    return m;
  }

  public String registryUrl() {
    return require().registryUrl();
  }

  /** {@code schema.registry.url} for serdes and clients. */
  public Map<String, Object> registryConfig() {
    return require().registryConfig();
  }

  public TopicCatalog catalog() {
    return require().catalog();
  }

  /** The broker, so a test can {@code stop()} and {@code start()} it (ports and data are kept). */
  public EmbeddedKafka kafka() {
    return require().kafka();
  }

  /** The running registry. */
  public EmbeddedSchemaRegistry registry() {
    return require().registry();
  }

  /** Replaces the registry by a new instance on the same port over the same {@code _schemas} topic. */
  public EmbeddedSchemaRegistry restartRegistry() {
    return require().restartRegistry();
  }

  /** Configured value serdes sharing one registry client. */
  public synchronized LorastreamSerdes serdes() {
    require();
    return serdes;
  }

  /** A fresh registry client (its own caches) for this stack's registry. */
  public SchemaRegistryClient newRegistryClient() {
    return new SchemaRegistryClient(registryUrl());
  }

  /** The underlying cluster. */
  public synchronized LocalCluster cluster() {
    return require();
  }

  private synchronized LocalCluster require() {
    if (cluster == null) {
      throw new IllegalStateException("LocalStackExtension is not started: register it with @RegisterExtension "
          + "(on a static field to share it across the class)");
    }
    return cluster;
  }
}
