package io.lorastream.kafka;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * The single place that names every lorastream topic, with its partition count and topic
 * configuration. Every service, the demo, the compose topic-init job and the tests take topic
 * names from here, so a rename is one edit. Names default to those in ARCHITECTURE.md and can be
 * overridden with a prefix or per-topic settings ({@code topic.<logical>=<name>}).
 */
public final class TopicCatalog {

  /** One topic: its configurable name, partitions and configs. */
  public record TopicSpec(String name, int partitions, Map<String, String> configs) {
    public NewTopic newTopic(short replicationFactor) {
      return new NewTopic(name, partitions, replicationFactor).configs(configs);
    }
  }

  private static final Map<String, String> DELETE_7D = Map.of(
      TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
      TopicConfig.RETENTION_MS_CONFIG, String.valueOf(7L * 24 * 3600 * 1000));
  private static final Map<String, String> DELETE_DEFAULT = Map.of(
      TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE);
  // Compaction keeps the latest snapshot per adapter forever; the small segment and dirty ratio
  // make superseded versions go away quickly, since each one can be megabytes.
  private static final Map<String, String> COMPACT = Map.of(
      TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
      TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG, "0.1",
      TopicConfig.SEGMENT_MS_CONFIG, String.valueOf(10L * 60 * 1000),
      TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(16 * 1024 * 1024));

  public static final String SCHEMAS_TOPIC_DEFAULT = "_schemas";
  /** The logical names that {@code topic.<logical>=<name>} may rename. */
  public static final List<String> LOGICAL_NAMES = List.of("examples.raw", "examples.train", "examples.eval",
      "examples.dlq", "adapters", "inference.requests", "inference.predictions", "inference.dlq", "metrics");

  public final TopicSpec examplesRaw;
  public final TopicSpec examplesTrain;
  public final TopicSpec examplesEval;
  public final TopicSpec examplesDlq;
  public final TopicSpec adapters;
  public final TopicSpec inferenceRequests;
  public final TopicSpec inferencePredictions;
  /** Undecodable inference requests, with {@link DlqHeaders}; each also gets an error prediction when keyed. */
  public final TopicSpec inferenceDlq;
  public final TopicSpec metrics;

  private TopicCatalog(Map<String, String> names, int partitions) {
    examplesRaw = new TopicSpec(names.getOrDefault("examples.raw", "examples.raw"), partitions, DELETE_7D);
    examplesTrain = new TopicSpec(names.getOrDefault("examples.train", "examples.train"), partitions, DELETE_DEFAULT);
    examplesEval = new TopicSpec(names.getOrDefault("examples.eval", "examples.eval"), partitions, DELETE_DEFAULT);
    examplesDlq = new TopicSpec(names.getOrDefault("examples.dlq", "examples.dlq"), 1, DELETE_DEFAULT);
    adapters = new TopicSpec(names.getOrDefault("adapters", "adapters"), 1, COMPACT);
    inferenceRequests = new TopicSpec(names.getOrDefault("inference.requests", "inference.requests"), partitions, DELETE_DEFAULT);
    inferencePredictions = new TopicSpec(names.getOrDefault("inference.predictions", "inference.predictions"), partitions, DELETE_DEFAULT);
    inferenceDlq = new TopicSpec(names.getOrDefault("inference.dlq", "inference.dlq"), 1, DELETE_DEFAULT);
    metrics = new TopicSpec(names.getOrDefault("metrics", "metrics"), 1, DELETE_DEFAULT);
  }

  /** The default names from ARCHITECTURE.md, with {@code partitions} for the data topics. */
  public static TopicCatalog defaults(int partitions) {
    return new TopicCatalog(Map.of(), partitions);
  }

  /** Default names with the given logical-name → topic-name overrides. */
  public static TopicCatalog withNames(Map<String, String> overrides, int partitions) {
    return new TopicCatalog(overrides, partitions);
  }

  public List<TopicSpec> all() {
    return List.of(examplesRaw, examplesTrain, examplesEval, examplesDlq, adapters,
        inferenceRequests, inferencePredictions, inferenceDlq, metrics);
  }

  /** Creates every missing topic; existing topics are left as they are. */
  public void createAll(Admin admin, short replicationFactor) {
    List<NewTopic> topics = new ArrayList<>();
    for (TopicSpec t : all()) {
      topics.add(t.newTopic(replicationFactor));
    }
    var result = admin.createTopics(topics);
    result.values().forEach((name, f) -> {
      try {
        f.get();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new IllegalStateException("cannot create topic " + name + ": " + e.getCause().getMessage(), e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while creating topic " + name, e);
      }
    });
  }
}
