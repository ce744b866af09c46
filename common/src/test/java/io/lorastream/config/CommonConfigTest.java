package io.lorastream.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The services' schema-id placement: prefix always, and a header placement refused at startup naming the key. */
class CommonConfigTest {
  private static CommonConfig with(String key, String value) {
    Map<String, String> o = new HashMap<>();
    o.put(key, value);
    return new CommonConfig(LayeredConfig.load(CommonConfig.DEFAULTS, null, Map.of(), o));
  }

  @Test
  void theServicesWriteThePrefixFormAndRefuseTheHeaderPlacementNamingTheKeyAndTheFix() {
    assertThat(with("registry.value.schema.id.serializer", "prefix").registryConfig())
        .containsEntry("value.schema.id.serializer", "prefix");
    assertThat(with("registry.key.schema.id.serializer",
        "io.confluent.kafka.serializers.schema.id.PrefixSchemaIdSerializer").registryConfig()).isNotEmpty();
    assertThatThrownBy(() -> with("registry.value.schema.id.serializer", "header"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("registry.value.schema.id.serializer")
        .hasMessageContaining("payload prefix").hasMessageContaining("remove it");
    assertThatThrownBy(() -> with("registry.key.schema.id.serializer",
        "io.confluent.kafka.serializers.schema.id.HeaderSchemaIdSerializer"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("registry.key.schema.id.serializer");
  }
}
