package io.lorastream.launcher;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.kafka.TopicCatalog;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lorastream topics}: the one-shot job that creates every topic of the
 * {@link TopicCatalog} (names from {@code topic.*}, partitions from {@code topics.partitions},
 * replication from {@code topics.replication.factor}) on any broker, then describes them to prove
 * they exist as specified. Idempotent: existing topics are kept. Used by the compose {@code topics}
 * service before any lorastream service starts. It waits up to {@code --timeout} for the broker,
 * so it can start together with it; exit 0 = every topic exists, 1 = the broker never answered or
 * a topic could not be created, 2 = invalid configuration.
 */
@Command(name = "topics", mixinStandardHelpOptions = true,
    description = "Create the catalog topics (examples.*, adapters, inference.*, metrics) if missing, then list them.")
final class TopicsCommand implements Callable<Integer> {
  @Mixin ServiceOptions service = new ServiceOptions();

  @Option(names = "--timeout", defaultValue = "PT60S", paramLabel = "DURATION",
      description = "How long to wait for the broker, ISO-8601 (PT60S). Default: ${DEFAULT-VALUE}.")
  Duration timeout;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    LayeredConfig cfg = service.load(CommonConfig.DEFAULTS, Map.of());
    CommonConfig common = new CommonConfig(cfg);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    TopicCatalog catalog = common.catalog();
    Map<String, Object> props = new HashMap<>(common.kafkaProperties());
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "lorastream-topics");
    long deadline = System.nanoTime() + timeout.toNanos();
    Admin admin = Admin.create(props);
    try {
      awaitBroker(admin, deadline);
      catalog.createAll(admin, common.replicationFactor());
      List<String> names = catalog.all().stream().map(TopicCatalog.TopicSpec::name).toList();
      Map<String, TopicDescription> described = admin.describeTopics(names).allTopicNames()
          .get(remaining(deadline), TimeUnit.NANOSECONDS);
      Map<ConfigResource, Config> configs = admin.describeConfigs(names.stream()
              .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList()).all()
          .get(remaining(deadline), TimeUnit.NANOSECONDS);
      int mismatches = 0;
      for (TopicCatalog.TopicSpec t : catalog.all()) {
        TopicDescription d = described.get(t.name());
        String policy = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, t.name()))
            .get(TopicConfig.CLEANUP_POLICY_CONFIG).value();
        String wanted = t.configs().get(TopicConfig.CLEANUP_POLICY_CONFIG);
        boolean ok = d.partitions().size() == t.partitions() && (wanted == null || wanted.equals(policy));
        out.printf("%-24s partitions=%d replicas=%d cleanup.policy=%s%s%n", t.name(), d.partitions().size(),
            d.partitions().get(0).replicas().size(), policy,
            ok ? "" : "  (differs from the catalog: partitions=" + t.partitions() + " cleanup.policy=" + wanted
                + "; an existing topic is never changed)");
        if (!ok) {
          mismatches++;
        }
      }
      out.printf("topics ready on %s (%d topics%s)%n", common.bootstrapServers(), names.size(),
          mismatches == 0 ? "" : ", " + mismatches + " pre-existing with other settings");
      out.flush();
      return 0;
    } catch (TimeoutException e) {
      err.printf("lorastream topics: broker %s did not answer within %s. Fix: check kafka.bootstrap.servers (%s) and"
          + " that the broker is up, or raise --timeout.%n", common.bootstrapServers(), timeout,
          LayeredConfig.keyToEnv(CommonConfig.BOOTSTRAP));
      err.flush();
      return 1;
    } catch (ExecutionException | IllegalStateException e) {
      Throwable c = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      err.printf("lorastream topics: cannot create the catalog topics on %s: %s%n", common.bootstrapServers(), c.getMessage());
      err.flush();
      return 1;
    } finally {
      admin.close(Duration.ofSeconds(1)); // never wait out the default API timeout for calls to a dead broker
    }
  }

  /** Retries describeCluster until the broker answers or the deadline passes. */
  private static void awaitBroker(Admin admin, long deadline) throws TimeoutException, InterruptedException {
    while (true) {
      long left = remaining(deadline);
      if (left <= 0) {
        throw new TimeoutException("no broker");
      }
      try {
        admin.describeCluster().nodes().get(Math.min(left, TimeUnit.SECONDS.toNanos(5)), TimeUnit.NANOSECONDS);
        return;
      } catch (ExecutionException | TimeoutException e) {
        TimeUnit.MILLISECONDS.sleep(Math.min(500, Math.max(1, TimeUnit.NANOSECONDS.toMillis(remaining(deadline)))));
      }
    }
  }

  private static long remaining(long deadline) {
    return deadline - System.nanoTime();
  }
}
