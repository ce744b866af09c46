package io.lorastream.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayeredConfigTest {
  @TempDir Path tmp;

  @Test
  void laterLayersWinAndSourcesAreTracked() throws Exception {
    Path file = tmp.resolve("app.properties");
    Files.writeString(file, "trainer.lr=0.01\ntrainer.rank=4\nkafka.acks=all\n");
    LayeredConfig c = LayeredConfig.load(
        Map.of("trainer.lr", "0.001", "trainer.rank", "2", "trainer.alpha", "16"),
        file,
        Map.of("LORASTREAM_TRAINER_RANK", "8", "PATH", "/bin", "LORASTREAM_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
        Map.of("trainer.alpha", "32"));
    assertThat(c.getDouble("trainer.lr", 0, 1)).isEqualTo(0.01);
    assertThat(c.sourceOf("trainer.lr")).contains("file");
    assertThat(c.getInt("trainer.rank", 1, 16)).isEqualTo(8);
    assertThat(c.sourceOf("trainer.rank")).contains("LORASTREAM_TRAINER_RANK");
    assertThat(c.getInt("trainer.alpha", 1, 1000)).isEqualTo(32);
    assertThat(c.sourceOf("trainer.alpha")).isEqualTo("command line");
    assertThat(c.withPrefix("kafka.")).containsEntry("acks", "all").containsEntry("security.protocol", "SASL_PLAINTEXT");
    assertThat(c.has("path")).isFalse();
  }

  @Test
  void errorsNameTheKeySourceAndFix() {
    LayeredConfig c = LayeredConfig.load(Map.of(), null, Map.of("LORASTREAM_TRAINER_LR", "-1"), Map.of("trainer.rank", "x"));
    assertThatThrownBy(() -> c.getDouble("trainer.lr", 0, 1))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'trainer.lr'")
        .hasMessageContaining("LORASTREAM_TRAINER_LR")
        .hasMessageContaining("between")
        .hasMessageContaining("Fix:");
    assertThatThrownBy(() -> c.getInt("trainer.rank", 1, 16)).hasMessageContaining("not a whole number");
    assertThatThrownBy(() -> c.get("trainer.missing"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("Missing required setting 'trainer.missing'");
  }

  @Test
  void theEnvironmentCanSpellEveryKeyWithKafkasConvention() {
    for (String key : java.util.List.of("trainer.lr", "topic.my-topic", "kafka.sasl_x.y", "a-b_c.d")) {
      String env = LayeredConfig.keyToEnv(key);
      assertThat(LayeredConfig.envToKey(env)).as(env).isEqualTo(key);
      assertThat(LayeredConfig.load(Map.of(), null, Map.of(env, "v"), Map.of()).find(key)).as(env).hasValue("v");
    }
    assertThat(LayeredConfig.keyToEnv("topic.my-topic")).isEqualTo("LORASTREAM_TOPIC_MY__TOPIC");
    assertThat(LayeredConfig.keyToEnv("a_b")).isEqualTo("LORASTREAM_A___B");
    // The launcher script's JVM options are not a setting.
    assertThat(LayeredConfig.load(Map.of(), null, Map.of("LORASTREAM_JAVA_OPTS", "-Xmx1g"), Map.of()).redactedView())
        .isEmpty();
  }

  @Test
  void unknownKeysFailNamingTheKeyItsSourceAndTheNearestKnownKey() {
    java.util.Set<String> known = java.util.Set.of("trainer.lr", "trainer.alpha", "kafka.bootstrap.servers");
    var rules = CommonConfig.openPrefixes(java.util.Set.of());
    // Defaults and known keys pass; so do real Kafka client settings and catalog topics.
    LayeredConfig.load(Map.of("anything.at.all", "1"), null, Map.of("LORASTREAM_TRAINER_LR", "0.1"),
        Map.of("kafka.security.protocol", "SASL_SSL", "kafka.producer.linger.ms", "5", "topic.adapters", "a",
            "registry.basic.auth.user.info", "u:p")).rejectUnknownKeys(known, rules);

    assertThatThrownBy(() -> LayeredConfig.of(Map.of("trainer.lrr", "0.01")).rejectUnknownKeys(known, rules))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("Unknown setting 'trainer.lrr' (from command line)")
        .hasMessageContaining("Did you mean 'trainer.lr'?");
    assertThatThrownBy(() -> LayeredConfig.load(Map.of(), null, Map.of("LORASTREAM_TRAINER_ALPAH", "8"), Map.of())
        .rejectUnknownKeys(known, rules))
        .hasMessageContaining("'trainer.alpah' (from environment LORASTREAM_TRAINER_ALPAH)")
        .hasMessageContaining("'trainer.alpha'");
    assertThatThrownBy(() -> LayeredConfig.of(Map.of("kafka.securty.protocol", "SSL")).rejectUnknownKeys(known, rules))
        .hasMessageContaining("is not a Kafka client setting").hasMessageContaining("kafka.security.protocol");
    assertThatThrownBy(() -> LayeredConfig.of(Map.of("topic.adapter", "x")).rejectUnknownKeys(known, rules))
        .hasMessageContaining("not a catalog topic");
  }

  @Test
  void aTopicPrefixNamesEveryDefaultTopicAndEveryIdButNotExplicitNames() {
    Map<String, String> cli = new HashMap<>(CommonConfig.DEFAULTS);
    cli.put(CommonConfig.TOPIC_PREFIX, "team.");
    cli.put("topic.adapters", "shared-adapters");
    CommonConfig cc = new CommonConfig(LayeredConfig.of(cli));
    assertThat(cc.catalog().all()).allSatisfy(t -> assertThat(t.name()).satisfiesAnyOf(
        n -> assertThat(n).startsWith("team."), n -> assertThat(n).isEqualTo("shared-adapters")));
    assertThat(cc.catalog().examplesRaw.name()).isEqualTo("team.examples.raw");
    assertThat(cc.prefixed("lorastream-ingest")).isEqualTo("team.lorastream-ingest");
    assertThat(new CommonConfig(LayeredConfig.of(new HashMap<>(CommonConfig.DEFAULTS))).prefixed("x")).isEqualTo("x");
    LayeredConfig.of(Map.of(CommonConfig.TOPIC_PREFIX, "team.")).rejectUnknownKeys(java.util.Set.of(),
        CommonConfig.openPrefixes(java.util.Set.of()));
    cli.put(CommonConfig.TOPIC_PREFIX, "team/");
    assertThatThrownBy(() -> new CommonConfig(LayeredConfig.of(cli))).isInstanceOf(ConfigException.class)
        .hasMessageContaining("topic.prefix").hasMessageContaining("letters, digits");
  }

  @Test
  void secretsAreNeverEchoed() {
    LayeredConfig c = LayeredConfig.of(Map.of("kafka.sasl.jaas.config", "user=alice password=hunter2", "registry.basic.auth.user.info", "u:p"));
    assertThat(c.redactedView().toString()).doesNotContain("hunter2").doesNotContain("u:p");
    assertThat(c.invalid("kafka.sasl.jaas.config", "hunter2", "bad").getMessage()).doesNotContain("hunter2");
  }

  @Test
  void missingFileIsAClearError() {
    assertThatThrownBy(() -> LayeredConfig.load(Map.of(), tmp.resolve("nope.properties"), Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("does not exist");
  }

  @Test
  void commonConfigValidatesAndPassesThrough() {
    Map<String, String> cli = new HashMap<>(CommonConfig.DEFAULTS);
    cli.put("kafka.bootstrap.servers", "broker:9093");
    cli.put("registry.url", "http://reg:8081");
    cli.put("registry.basic.auth.user.info", "u:p");
    cli.put("topic.adapters", "my-adapters");
    CommonConfig cc = new CommonConfig(LayeredConfig.of(cli));
    assertThat(cc.bootstrapServers()).isEqualTo("broker:9093");
    assertThat(cc.registryConfig()).containsEntry("schema.registry.url", "http://reg:8081").containsEntry("basic.auth.user.info", "u:p");
    assertThat(cc.catalog().adapters.name()).isEqualTo("my-adapters");
    assertThat(cc.catalog().examplesRaw.name()).isEqualTo("examples.raw");

    cli.put("registry.url", "reg:8081");
    assertThatThrownBy(() -> new CommonConfig(LayeredConfig.of(cli))).hasMessageContaining("registry.url").hasMessageContaining("http://");
    cli.put("registry.url", "http://reg:8081");
    cli.put("kafka.bootstrap.servers", "nohostport");
    assertThatThrownBy(() -> new CommonConfig(LayeredConfig.of(cli))).hasMessageContaining("kafka.bootstrap.servers");
  }
}
