package io.lorastream.localstack;

import io.lorastream.kafka.TopicCatalog;
import io.lorastream.localstack.registry.EmbeddedSchemaRegistry;
import io.lorastream.registry.RegistryClientConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;

/**
 * A developer's whole Kafka side in one JVM: an {@link EmbeddedKafka} broker, an
 * {@link EmbeddedSchemaRegistry} persisting to the broker's {@code _schemas} topic, and every
 * {@link TopicCatalog} topic created. Backs {@code lorastream local} and {@code demo} and the test
 * fixture. With a data directory, a restart keeps topics, offsets and schema ids. With
 * {@link Builder#saslPlain(Map)} the broker requires SASL/PLAIN, and the cluster's own clients (topic
 * creation, the registry's {@code _schemas} store) authenticate as the broker admin.
 *
 * <p>Usage: {@code try (LocalCluster c = LocalCluster.builder().dataDir(dir).build().start()) {
 * c.bootstrapServers(); c.registryUrl(); }}
 */
public final class LocalCluster implements AutoCloseable {
  private final EmbeddedKafka kafka;
  private final int registryPort;
  private final TopicCatalog catalog;
  private EmbeddedSchemaRegistry registry;

  private LocalCluster(Builder b) {
    EmbeddedKafka.Builder kb = EmbeddedKafka.builder().brokerPort(b.kafkaPort);
    if (b.dataDir != null) {
      kb.dataDir(b.dataDir);
    }
    if (b.saslUsers != null) {
      kb.saslPlain(b.saslUsers);
    }
    this.kafka = kb.build();
    this.registryPort = b.registryPort;
    this.catalog = b.catalog != null ? b.catalog : TopicCatalog.defaults(b.partitions);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Starts a cluster: {@code dataDir} null means a temporary directory deleted on close; ports 0
   * mean free ones.
   */
  public static LocalCluster start(Path dataDir, int kafkaPort, int registryPort) {
    return builder().dataDir(dataDir).kafkaPort(kafkaPort).registryPort(registryPort).build().start();
  }

  /** Starts the broker, creates the catalog topics, then starts the registry over {@code _schemas}. */
  public synchronized LocalCluster start() {
    if (registry != null) {
      return this;
    }
    kafka.start();
    try {
      try (Admin admin = Admin.create(new HashMap<String, Object>(kafka.clientProperties()))) {
        catalog.createAll(admin, (short) 1);
      }
      registry = EmbeddedSchemaRegistry.kafkaBacked(kafka.bootstrapServers(), registryPort, kafka.clientProperties());
    } catch (RuntimeException e) {
      // Do not leave a broker running behind a failed start (e.g. the registry port is taken).
      kafka.close();
      throw e;
    }
    return this;
  }

  public String bootstrapServers() {
    return kafka.bootstrapServers();
  }

  /**
   * Settings for a client with full rights: {@code bootstrap.servers}, plus the broker admin's SASL
   * settings when SASL is on. Clients that should act as a particular user use
   * {@code kafka().clientProperties(user, password)} instead.
   */
  public Map<String, String> clientProperties() {
    return kafka.clientProperties();
  }

  public boolean saslEnabled() {
    return kafka.saslEnabled();
  }

  public synchronized String registryUrl() {
    return requireRegistry().url();
  }

  /** Settings for serdes and registry clients: {@code schema.registry.url}. */
  public Map<String, Object> registryConfig() {
    return Map.of(RegistryClientConfig.URL, registryUrl());
  }

  public TopicCatalog catalog() {
    return catalog;
  }

  /** The broker, e.g. to stop and restart it in a test. */
  public EmbeddedKafka kafka() {
    return kafka;
  }

  public synchronized EmbeddedSchemaRegistry registry() {
    return requireRegistry();
  }

  /**
   * Replaces the registry with a new instance on the same port over the same {@code _schemas}
   * topic, as a process restart would.
   */
  public synchronized EmbeddedSchemaRegistry restartRegistry() {
    int port = requireRegistry().port();
    registry.close();
    registry = EmbeddedSchemaRegistry.kafkaBacked(kafka.bootstrapServers(), port, kafka.clientProperties());
    return registry;
  }

  /** Stops the registry and the broker; the temporary data directory (if any) is deleted. */
  @Override
  public synchronized void close() {
    try {
      if (registry != null) {
        registry.close();
        registry = null;
      }
    } finally {
      kafka.close();
    }
  }

  private EmbeddedSchemaRegistry requireRegistry() {
    if (registry == null) {
      throw new IllegalStateException("the local cluster is not started");
    }
    return registry;
  }

  /** Builder: ports 0 mean free ones; no data directory means a temporary one. */
  public static final class Builder {
    private Path dataDir;
    private int kafkaPort;
    private int registryPort;
    private int partitions = 2;
    private TopicCatalog catalog;
    private Map<String, String> saslUsers;

    public Builder dataDir(Path dir) {
      this.dataDir = dir;
      return this;
    }

    public Builder kafkaPort(int port) {
      this.kafkaPort = port;
      return this;
    }

    public Builder registryPort(int port) {
      this.registryPort = port;
      return this;
    }

    /** Partitions of the data topics when the default catalog is used (default 2). */
    public Builder partitions(int partitions) {
      if (partitions < 1) {
        throw new IllegalArgumentException("partitions must be at least 1, got " + partitions);
      }
      this.partitions = partitions;
      return this;
    }

    /** A custom catalog (names/partitions); overrides {@link #partitions(int)}. */
    public Builder catalog(TopicCatalog catalog) {
      this.catalog = catalog;
      return this;
    }

    /**
     * Requires SASL/PLAIN on the broker's client listener with these accounts (username to
     * password); see {@link EmbeddedKafka.Builder#saslPlain(Map)}.
     */
    public Builder saslPlain(Map<String, String> users) {
      // Validate now, where the caller made the mistake, rather than at start().
      EmbeddedKafka.builder().saslPlain(users);
      this.saslUsers = Map.copyOf(users);
      return this;
    }

    public LocalCluster build() {
      return new LocalCluster(this);
    }
  }
}
