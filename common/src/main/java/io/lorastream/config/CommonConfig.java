package io.lorastream.config;

import io.lorastream.kafka.TopicCatalog;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

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
  /** Where a service keeps local state (Kafka Streams stores) unless a {@code *.state.dir} says otherwise. */
  public static final String DATA_DIR = "data.dir";
  /**
   * Put in front of every catalog topic's default name, every consumer group and Streams
   * application id, and every transactional id, for shared clusters and prefixed ACLs (e.g.
   * {@code team.}). An explicit {@code topic.<logical>} name is taken as it is.
   */
  public static final String TOPIC_PREFIX = "topic.prefix";
  /**
   * The adapter (task) id every service uses when none is set: the trainer trains it, inference
   * serves it, the evaluator scores it and replay produces it, so a fresh setup fits together.
   */
  public static final String DEFAULT_ADAPTER_ID = "drift";

  public static final Map<String, String> DEFAULTS = Map.of(
      BOOTSTRAP, "127.0.0.1:9092",
      REGISTRY_URL, "http://127.0.0.1:8081",
      PARTITIONS, "2",
      REPLICATION, "1",
      TOPIC_PREFIX, "",
      DATA_DIR, "lorastream-data");

  /**
   * Prefixes of the Kafka clients' own nested settings (Kafka Streams passes these on to its
   * producer, consumers and admin client, and per-topic settings to its internal topics).
   */
  private static final List<String> KAFKA_NESTED_PREFIXES = List.of("producer.", "consumer.", "admin.",
      "main.consumer.", "restore.consumer.", "global.consumer.", "topic.");

  private final Map<String, String> kafka;
  private final Map<String, Object> registry;
  private final TopicCatalog catalog;
  private final short replicationFactor;
  private final String prefix;

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
    for (String placement : new String[] {io.lorastream.serde.AvroSerdeConfig.KEY_SCHEMA_ID_SERIALIZER,
        io.lorastream.serde.AvroSerdeConfig.VALUE_SCHEMA_ID_SERIALIZER}) {
      Object v = reg.get(placement);
      // The services hand pre-serialized bytes to their producers (snapshots are chunked and signed),
      // so they have no record headers to put a schema id in: they always write the prefix form,
      // which every reader of every form accepts.
      if (v != null && !String.valueOf(v).trim().toLowerCase(java.util.Locale.ROOT).matches("prefix|.*prefixschemaidserializer")) {
        throw c.invalid("registry." + placement, String.valueOf(v), "is not supported by lorastream's services, which"
            + " always write schema ids in the payload prefix (and read the header and GUID forms too); remove it, or"
            + " set prefix. Your own producers can write the header form with SpecificAvroSerializer and "
            + placement + "=header");
      }
    }
    this.registry = Map.copyOf(reg);
    this.prefix = topicPrefix(c);
    Map<String, String> names = new HashMap<>();
    Map<String, String> explicit = c.withPrefix("topic.");
    for (String logical : TopicCatalog.LOGICAL_NAMES) {
      names.put(logical, explicit.getOrDefault(logical, prefix + logical));
    }
    this.catalog = TopicCatalog.withNames(names, c.getInt(PARTITIONS, 1, 1024));
    this.replicationFactor = (short) c.getInt(REPLICATION, 1, 32);
  }

  /**
   * The open-prefix rules of {@link LayeredConfig#rejectUnknownKeys} for the shared settings:
   * {@code kafka.*} must name a producer, consumer or admin client setting (or one of
   * {@code extraKafkaNames}, e.g. Kafka Streams' own), {@code topic.*} a catalog topic, and
   * {@code registry.*} stays open (the registry client passes its settings on to HTTP and auth).
   */
  public static Map<String, Function<String, String>> openPrefixes(Set<String> extraKafkaNames) {
    Set<String> names = new HashSet<>(ProducerConfig.configNames());
    names.addAll(ConsumerConfig.configNames());
    names.addAll(AdminClientConfig.configNames());
    names.addAll(extraKafkaNames);
    Map<String, Function<String, String>> rules = new LinkedHashMap<>();
    rules.put("kafka.", rest -> {
      if (names.contains(rest)) {
        return null;
      }
      for (String p : KAFKA_NESTED_PREFIXES) {
        if (rest.startsWith(p) && rest.length() > p.length()) {
          return null;
        }
      }
      String near = LayeredConfig.nearest(rest, names);
      return "'" + rest + "' is not a Kafka client setting" + (near == null ? "" : " (nearest: kafka." + near + ")");
    });
    rules.put("topic.", rest -> rest.equals("prefix") || TopicCatalog.LOGICAL_NAMES.contains(rest) ? null
        : "'" + rest + "' is not a catalog topic (or topic.prefix); topics are " + TopicCatalog.LOGICAL_NAMES);
    rules.put("registry.", rest -> null);
    return rules;
  }

  /**
   * The validated {@value #TOPIC_PREFIX} of {@code c} ("" when unset), for services that name their
   * own groups and transactional ids.
   */
  public static String topicPrefix(LayeredConfig c) {
    String p = c.get(TOPIC_PREFIX, "").trim();
    if (!p.matches("[A-Za-z0-9._-]{0,100}")) {
      throw c.invalid(TOPIC_PREFIX, p, "may only hold letters, digits, '.', '_' and '-' (at most 100), e.g. team.");
    }
    return p;
  }

  /** {@code id} with the topic prefix in front: consumer groups, application and transactional ids. */
  public String prefixed(String id) {
    return prefix + id;
  }

  public String topicPrefix() {
    return prefix;
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
