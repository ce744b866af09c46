package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TrainerClientsTest {
  private static final Map<String, String> PASS_THROUGH = Map.of(
      "bootstrap.servers", "broker:9093",
      "security.protocol", "SASL_SSL",
      "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";",
      "isolation.level", "read_uncommitted",
      "enable.auto.commit", "true",
      "transactional.id", "someone-elses",
      "max.request.size", "2000000");

  private final TrainerConfig cfg = TrainerConfig.of(Map.of("trainer.adapter.id", "fraud", "trainer.id", "t1"));

  @Test
  void everyClientGetsThePassThroughSettings() {
    for (Map<String, Object> p : java.util.List.of(TrainerClients.inputConsumer(PASS_THROUGH, cfg),
        TrainerClients.snapshotReader(PASS_THROUGH, cfg, true), TrainerClients.producer(PASS_THROUGH, cfg))) {
      assertThat(p).containsEntry("bootstrap.servers", "broker:9093").containsEntry("security.protocol", "SASL_SSL")
          .containsKey("sasl.jaas.config");
    }
  }

  @Test
  void exactlyOnceSettingsCannotBeOverridden() {
    Map<String, Object> in = TrainerClients.inputConsumer(PASS_THROUGH, cfg);
    assertThat(in).containsEntry("isolation.level", "read_committed").containsEntry("enable.auto.commit", false)
        .containsEntry("group.id", "lorastream-trainer-fraud");
    assertThat(TrainerClients.snapshotReader(PASS_THROUGH, cfg, true)).containsEntry("isolation.level", "read_committed")
        .doesNotContainKey("group.id");
    assertThat(TrainerClients.snapshotReader(PASS_THROUGH, cfg, false)).containsEntry("isolation.level",
        "read_uncommitted");
    Map<String, Object> prod = TrainerClients.producer(PASS_THROUGH, cfg);
    assertThat(prod).containsEntry("transactional.id", "lorastream-trainer-fraud")
        .containsEntry("enable.idempotence", true).containsEntry("acks", "all")
        .containsEntry("max.request.size", "2000000"); // tuning may be overridden
  }

  @Test
  void restoreAttemptsAreBoundedByTheOperatorsApiTimeout() {
    assertThat(TrainerClients.apiTimeout(Map.of())).isEqualTo(java.time.Duration.ofSeconds(60));
    assertThat(TrainerClients.apiTimeout(Map.of("default.api.timeout.ms", "2500")))
        .isEqualTo(java.time.Duration.ofMillis(2500));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> TrainerClients.apiTimeout(Map.of("default.api.timeout.ms",
        "soon"))).isInstanceOf(io.lorastream.config.ConfigException.class)
        .hasMessageContaining("kafka.default.api.timeout.ms");
    assertThat(TrainerClients.maxBlock(Map.of("max.block.ms", "2000"))).isEqualTo(java.time.Duration.ofMillis(2000));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> TrainerClients.maxBlock(Map.of("max.block.ms", "-1")))
        .hasMessageContaining("kafka.max.block.ms");
  }
}
