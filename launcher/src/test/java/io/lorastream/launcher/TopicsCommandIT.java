package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.kafka.TopicCatalog;
import io.lorastream.localstack.EmbeddedKafka;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code lorastream topics} (the compose topic-init job) against a real broker that has no topics:
 * it creates every catalog topic with the catalog's partitions and cleanup policy, a second run
 * changes nothing and still exits 0, and {@code topic.*} renames are honoured.
 */
class TopicsCommandIT {
  private static EmbeddedKafka kafka;

  @BeforeAll
  static void start() {
    kafka = EmbeddedKafka.builder().build().start();
  }

  @AfterAll
  static void stop() {
    kafka.close();
  }

  private static int run(StringWriter out, String... args) {
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(out));
    return cl.execute(args);
  }

  @Test
  void createsTheCatalogIdempotentlyAndHonoursRenames() throws Exception {
    StringWriter out = new StringWriter();
    assertThat(run(out, "topics", "--bootstrap", kafka.bootstrapServers(), "--set", "topics.partitions=3")).as(out.toString()).isZero();
    TopicCatalog catalog = TopicCatalog.defaults(3);
    try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
      List<String> names = catalog.all().stream().map(TopicCatalog.TopicSpec::name).toList();
      Map<String, TopicDescription> d = admin.describeTopics(names).allTopicNames().get();
      for (TopicCatalog.TopicSpec t : catalog.all()) {
        assertThat(d.get(t.name()).partitions()).as(t.name()).hasSize(t.partitions());
      }
      String policy = admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, catalog.adapters.name())))
          .all().get().values().iterator().next().get(TopicConfig.CLEANUP_POLICY_CONFIG).value();
      assertThat(policy).isEqualTo(TopicConfig.CLEANUP_POLICY_COMPACT);
      assertThat(out.toString()).contains("topics ready", catalog.examplesRaw.name()).doesNotContain("differs");

      StringWriter again = new StringWriter();
      assertThat(run(again, "topics", "--bootstrap", kafka.bootstrapServers(), "--set", "topics.partitions=3")).isZero();
      assertThat(again.toString()).contains("topics ready").doesNotContain("differs");

      StringWriter other = new StringWriter();
      assertThat(run(other, "topics", "--bootstrap", kafka.bootstrapServers(), "--set", "topics.partitions=2",
          "--set", "topic.adapters=prod.adapters")).as(other.toString()).isZero();
      Set<String> all = admin.listTopics().names().get();
      assertThat(all).contains("prod.adapters");
      // the pre-existing 3-partition data topics are kept and reported, never changed
      assertThat(other.toString()).contains("differs from the catalog: partitions=2");
      assertThat(admin.describeTopics(List.of(catalog.examplesRaw.name())).allTopicNames().get()
          .get(catalog.examplesRaw.name()).partitions()).hasSize(3);
    }
  }
}
