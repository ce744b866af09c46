package io.lorastream.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.config.CommonConfig;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.trainer.TrainerConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LocalPipelineTest {
  private static final String BOOTSTRAP = "localhost:1";
  private static final String REGISTRY = "http://localhost:2";

  @Test
  void settingsAreEveryServicesDefaultsUnderTheCallersOverrides() {
    LocalPipeline p = LocalPipeline.on(BOOTSTRAP, REGISTRY).set(TrainerConfig.MICROBATCH_SIZE, "32").build();
    assertThat(p.common().kafkaProperties()).containsEntry("bootstrap.servers", BOOTSTRAP);
    assertThat(p.config().get(CommonConfig.REGISTRY_URL)).isEqualTo(REGISTRY);
    assertThat(p.trainerConfig().microBatchSize()).isEqualTo(32);
    assertThat(p.trainerConfig().publishSteps())
        .isEqualTo(Long.parseLong(TrainerConfig.DEFAULTS.get(TrainerConfig.PUBLISH_STEPS)));
    assertThat(LocalPipeline.DEFAULTS).containsAllEntriesOf(CommonConfig.DEFAULTS)
        .containsAllEntriesOf(TrainerConfig.DEFAULTS);
  }

  @Test
  void aTopicPrefixRenamesEveryCatalogTopicAndLaterSettingsWin() {
    LocalPipeline p = LocalPipeline.on(BOOTSTRAP, REGISTRY).topicPrefix("run7.")
        .set("topic.adapters", "run7.adapters.lora-r4").build();
    TopicCatalog c = p.common().catalog();
    assertThat(c.all()).allSatisfy(t -> assertThat(t.name()).startsWith("run7."));
    assertThat(c.all()).hasSize(TopicCatalog.LOGICAL_NAMES.size());
    assertThat(c.examplesTrain.name()).isEqualTo("run7.examples.train");
    assertThat(c.adapters.name()).isEqualTo("run7.adapters.lora-r4");
  }

  @Test
  void withDerivesWithoutChangingTheOriginal() {
    LocalPipeline p = LocalPipeline.on(BOOTSTRAP, REGISTRY).set(TrainerConfig.ADAPTER_ID, "a").build();
    LocalPipeline q = p.with(Map.of(TrainerConfig.ADAPTER_ID, "b"));
    assertThat(p.trainerConfig().adapterId()).isEqualTo("a");
    assertThat(q.trainerConfig().adapterId()).isEqualTo("b");
    assertThat(q.common().kafkaProperties()).containsEntry("bootstrap.servers", BOOTSTRAP);
  }

  @Test
  void theEnvironmentSitsBelowExplicitSettings() {
    Map<String, String> env = Map.of("LORASTREAM_TRAINER_MICROBATCH_SIZE", "8", "LORASTREAM_TRAINER_LR", "0.5");
    LocalPipeline p = LocalPipeline.on(BOOTSTRAP, REGISTRY).environment(env).set(TrainerConfig.LR, "0.25").build();
    assertThat(p.trainerConfig().microBatchSize()).isEqualTo(8);
    assertThat(p.trainerConfig().learnerConfig().lr()).isEqualTo(0.25);
  }
}
