package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.config.CommonConfig;
import io.lorastream.pipeline.LocalPipeline;
import io.lorastream.stream.ingest.IngestService;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.testing.LocalStackExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code topic.prefix} on a shared cluster: every catalog topic the pipeline creates, the Streams
 * application's group and its internal topics carry the prefix, so one prefixed ACL covers them.
 */
class TopicPrefixIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(1);

  @Test
  void everyTopicAndGroupOfAPrefixedPipelineCarriesThePrefix(@TempDir Path tmp) throws Exception {
    LocalPipeline pipeline = LocalPipeline.on(stack.bootstrapServers(), stack.registryUrl())
        .set(CommonConfig.TOPIC_PREFIX, "team.")
        .set(StreamAppConfig.INGEST_APPLICATION_ID, "prefix-it-ingest")
        .set("ingest.state.dir", tmp.resolve("ingest").toString()).build().createTopics();
    try (Admin admin = Admin.create(new HashMap<>(stack.clientProperties()));
        IngestService ingest = pipeline.startIngest()) {
      assertThat(ingest.awaitRunning(Duration.ofSeconds(60))).isTrue();
      await("the ingest group exists").atMost(Duration.ofSeconds(30)).until(() -> admin.listConsumerGroups().all().get()
          .stream().map(ConsumerGroupListing::groupId).anyMatch("team.prefix-it-ingest"::equals));
      Set<String> unprefixed = stack.catalog().all().stream().map(t -> t.name()).collect(Collectors.toSet());
      Set<String> ours = admin.listTopics().names().get().stream()
          .filter(t -> !t.startsWith("_")) // the broker's and the registry's own
          .filter(t -> !unprefixed.contains(t)) // what the test cluster created for other users of it
          .collect(Collectors.toSet());
      assertThat(ours).isNotEmpty().allSatisfy(t -> assertThat(t).startsWith("team."));
      assertThat(ours).contains("team.examples.raw", "team.adapters", "team.inference.predictions")
          .anyMatch(t -> t.startsWith("team.prefix-it-ingest-") && t.endsWith("-changelog"));
      assertThat(admin.listConsumerGroups().all().get()).extracting(ConsumerGroupListing::groupId)
          .allSatisfy(g -> assertThat(g).startsWith("team."));
    }
  }
}
