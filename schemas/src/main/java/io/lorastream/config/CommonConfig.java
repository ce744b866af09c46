package io.lorastream.config;

import io.lorastream.kafka.TopicCatalog;
import java.util.HashMap;
import java.util.Map;

/**
 * Settings every lorastream service shares: where Kafka and the schema registry are, client
 * pass-through ({@code kafka.*} goes to every Kafka client, {@code registry.*} to the registry
 * client and serdes) and topic names ({@code topic.<logical-name>}). Built once at startup from a
 * {@link LayeredConfig}; constructing it validates the values.
 */
public final class CommonConfig {
  public static final String BOOTSTRAP = "kafka.bootstrap.servers";
  public static final String REGISTRY_URL = "registry.url";
  public static final String PARTITIONS = "topics.partitions";
  public static final String REPLICATION = "topics.replication.factor";

  public static final Map<String, String> DEFAULTS = Map.of(
      BOOTSTRAP, "127.0.0.1:9092",
      REGISTRY_URL, "http://127.0.0.1:8081",
      PARTITIONS, "2",
      REPLICATION, "1");

  private final Map<String, String> kafka;
  private final Map<String, Object> registry;
  private final TopicCatalog catalog;
  private final short replicationFactor;

  public CommonConfig(LayeredConfig c) {
    String bootstrap = c.get(BOOTSTRAP);
    if (!bootstrap.matches("[^,\\s]+:\\d+(,[^,\\s]+:\\d+)*")) {
      throw c.invalid(BOOTSTRAP, bootstrap, "must be host:port[,host:port...]");
    }
    String url = c.get(REGISTRY_URL);
    if (!url.matches("https?://.+")) {
      throw c.invalid(REGISTRY_URL, url, "must start with http:// or https://");
    }
    this.kafka = Map.copyOf(c.withPrefix("kafka."));
    Map<String, Object> reg = new HashMap<>();
    c.withPrefix("registry.").forEach((k, v) -> reg.put(k.equals("url") ? "schema.registry.url" : k, v));
    this.registry = Map.copyOf(reg);
    this.catalog = TopicCatalog.withNames(c.withPrefix("topic."), c.getInt(PARTITIONS, 1, 1024));
    this.replicationFactor = (short) c.getInt(REPLICATION, 1, 32);
  }

  /** Every {@code kafka.*} setting with the prefix removed, including bootstrap.servers. */
  public Map<String, String> kafkaProperties() {
    return kafka;
  }

  /** Registry client and serde settings (schema.registry.url, basic.auth.*, ...). */
  public Map<String, Object> registryConfig() {
    return registry;
  }

  public String bootstrapServers() {
    return kafka.get("bootstrap.servers");
  }

  public String registryUrl() {
    return (String) registry.get("schema.registry.url");
  }

  public TopicCatalog catalog() {
    return catalog;
  }

  public short replicationFactor() {
    return replicationFactor;
  }
}
