package io.lorastream.localstack;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.Prediction;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.registry.SchemaRegistryClient;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local cluster as {@code lorastream local} uses it: topics and the {@code _schemas} store are
 * created, the registry keeps answering reads while the broker restarts and writes again after, and
 * a whole new cluster on the same data directory serves the same schema ids.
 */
class LocalClusterIT {

  @TempDir Path dir;

  @Test
  void schemaIdsSurviveBrokerRestartAndAFullRestartOnTheSameDataDirectory() throws Exception {
    int exampleId;
    int predictionId;
    try (LocalCluster c = LocalCluster.builder().dataDir(dir).partitions(3).build().start()) {
      try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, c.bootstrapServers()))) {
        assertThat(admin.listTopics().names().get()).contains("_schemas")
            .containsAll(c.catalog().all().stream().map(TopicCatalog.TopicSpec::name).toList());
        TopicDescription schemas = admin.describeTopics(List.of("_schemas")).allTopicNames().get().get("_schemas");
        assertThat(schemas.partitions()).hasSize(1);
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, "_schemas");
        assertThat(admin.describeConfigs(List.of(res)).all().get().get(res).get("cleanup.policy").value())
            .isEqualTo("compact");
        TopicDescription raw = admin.describeTopics(List.of(c.catalog().examplesRaw.name())).allTopicNames().get()
            .get(c.catalog().examplesRaw.name());
        assertThat(raw.partitions()).hasSize(3);
      }
      exampleId = new SchemaRegistryClient(c.registryUrl()).register("examples.raw-value", LabeledExample.getClassSchema());

      c.kafka().stop();
      // Reads are served from the registry's memory while the broker is down.
      assertThat(new SchemaRegistryClient(c.registryUrl()).getSchemaById(exampleId))
          .isEqualTo(LabeledExample.getClassSchema());
      c.kafka().start();
      predictionId = new SchemaRegistryClient(c.registryUrl())
          .register("inference.predictions-value", Prediction.getClassSchema());
      assertThat(predictionId).isNotEqualTo(exampleId);
    }

    try (LocalCluster c = LocalCluster.builder().dataDir(dir).build().start()) {
      SchemaRegistryClient fresh = new SchemaRegistryClient(c.registryUrl());
      assertThat(fresh.listSubjects()).containsExactly("examples.raw-value", "inference.predictions-value");
      assertThat(fresh.lookup("examples.raw-value", LabeledExample.getClassSchema()).id()).isEqualTo(exampleId);
      assertThat(fresh.register("inference.predictions-value", Prediction.getClassSchema())).isEqualTo(predictionId);
      assertThat(fresh.listVersions("inference.predictions-value")).containsExactly(1);
    }
  }
}
