package io.lorastream.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * The single place that names every lorastream topic, with its partition count and topic
 * configuration. Every service, the demo, the compose topic-init job and the tests take topic
 * names from here, so a rename is one edit. Names default to those in ARCHITECTURE.md and can be
 * overridden per topic ({@code topic.<logical>=<name>}) or given a common prefix
 * ({@code topic.prefix}, applied by {@code CommonConfig}).
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
      "examples.dlq", "adapters", "adapters.control", "adapters.commands", "adapters.retained", "inference.requests", "inference.predictions", "inference.dlq", "metrics");

  public final TopicSpec examplesRaw;
  public final TopicSpec examplesTrain;
  public final TopicSpec examplesEval;
  public final TopicSpec examplesDlq;
  public final TopicSpec adapters;
  /** Rollout state per adapter (RolloutState), written only by the rollout controller. */
  public final TopicSpec adaptersControl;
  /** Rollout commands (RolloutCommand) from operators and the gate, read by the controller. */
  public final TopicSpec adaptersCommands;
  /**
   * Snapshots kept for rollback and pinning, keyed {@code <adapter>@<version>}: compaction of
   * {@code adapters} keeps only each adapter's newest, so the controller copies every valid
   * snapshot here and deletes (tombstones) those that leave its retention.
   */
  public final TopicSpec adaptersRetained;
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
    adaptersControl = new TopicSpec(names.getOrDefault("adapters.control", "adapters.control"), 1, COMPACT);
    adaptersCommands = new TopicSpec(names.getOrDefault("adapters.commands", "adapters.commands"), 1, DELETE_7D);
    adaptersRetained = new TopicSpec(names.getOrDefault("adapters.retained", "adapters.retained"), 1, COMPACT);
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
    return List.of(examplesRaw, examplesTrain, examplesEval, examplesDlq, adapters, adaptersControl, adaptersCommands,
        adaptersRetained,
        inferenceRequests, inferencePredictions, inferenceDlq, metrics);
  }

  /** How long {@link #createAll} waits for the new partitions to get a leader. */
  private static final Duration LEADER_WAIT = Duration.ofSeconds(30);

  /**
   * Creates every missing topic (existing topics are left as they are), then waits until every
   * partition has a leader. A producer that writes to a partition before it has one gets
   * NOT_LEADER_OR_FOLLOWER, and an idempotent producer's retry after that can loop on
   * OUT_OF_ORDER_SEQUENCE until its delivery timeout (seen on a loaded 2-core machine).
   */
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
    awaitLeaders(admin, all().stream().map(TopicSpec::name).toList(), LEADER_WAIT);
  }

  /** Waits until every partition of {@code names} has a leader, or fails naming those without one. */
  static void awaitLeaders(Admin admin, List<String> names, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<String> leaderless = List.of();
    while (true) {
      try {
        leaderless = new ArrayList<>();
        for (TopicDescription d : admin.describeTopics(names).allTopicNames().get().values()) {
          for (TopicPartitionInfo p : d.partitions()) {
            if (p.leader() == null || p.leader().isEmpty()) {
              leaderless.add(d.name() + "-" + p.partition());
            }
          }
        }
        if (leaderless.isEmpty()) {
          return;
        }
      } catch (ExecutionException e) {
        // Metadata of a just-created topic may not have reached this broker yet: ask again.
        leaderless = List.of(String.valueOf(e.getCause()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for topic leaders", e);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("topics created, but no leader within " + timeout + " for " + leaderless
            + "; is the broker healthy?");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for topic leaders", e);
      }
    }
  }
}
