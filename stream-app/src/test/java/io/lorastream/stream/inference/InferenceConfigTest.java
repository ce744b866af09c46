package io.lorastream.stream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.ConfigException;
import io.lorastream.config.LayeredConfig;
import io.lorastream.stream.serving.AdapterSwapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InferenceConfigTest {
  @TempDir
  Path dir;

  @Test
  void defaultsAreValidAndNeedNoBaseFileWhenTheCallerSuppliesTheBase() {
    InferenceConfig c = InferenceConfig.of(Map.of());
    assertThat(c.adapterId()).isEqualTo(io.lorastream.config.CommonConfig.DEFAULT_ADAPTER_ID);
    assertThat(c.basePath()).isEmpty();
    assertThat(c.hmacKey()).isEmpty();
    // Kafka Streams state lives under the service's data dir, one directory per consumer.
    assertThat(c.stateDir()).isEqualTo(Path.of("lorastream-data", "inference-" + c.consumerId()));
    assertThat(InferenceConfig.of(Map.of("data.dir", "/srv/ls", InferenceConfig.CONSUMER_ID, "c2")).stateDir())
        .isEqualTo(Path.of("/srv/ls", "inference-c2"));
    assertThat(InferenceConfig.of(Map.of(InferenceConfig.STATE_DIR, "/x")).stateDir()).isEqualTo(Path.of("/x"));
    assertThat(c.fetchMaxWaitMs()).isEqualTo(5);
    assertThat(c.pollTimeout()).isEqualTo(Duration.ofMillis(100));
    assertThat(c.historySize()).isEqualTo(32);
    assertThat(c.applicationId()).isEqualTo("lorastream-inference");
    assertThat(c.consumerId()).startsWith("inference-");
    assertThat(c.startupCatchUp()).isEqualTo(Duration.ofSeconds(15));
    assertThat(c.metricsInterval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(InferenceConfig.of(Map.of(InferenceConfig.ADAPTER_ID, "*")).adapterId()).isEqualTo(AdapterSwapper.ALL_ADAPTERS);
  }

  @Test
  void readsEverySetting() throws Exception {
    Path base = Files.writeString(dir.resolve("base.bin"), "x");
    InferenceConfig c = InferenceConfig.of(Map.of(
        InferenceConfig.ADAPTER_ID, "rotating",
        InferenceConfig.BASE_PATH, base.toString(),
        InferenceConfig.CONSUMER_ID, "inference-2",
        InferenceConfig.APPLICATION_ID, "serving",
        InferenceConfig.HMAC_KEY, "  0123456789abcdef-secret  ",
        InferenceConfig.FETCH_MAX_WAIT_MS, "10",
        InferenceConfig.HISTORY_SIZE, "8",
        InferenceConfig.DEVICE, "auto"));
    assertThat(c.adapterId()).isEqualTo("rotating");
    assertThat(c.basePath()).contains(base);
    assertThat(c.consumerId()).isEqualTo("inference-2");
    assertThat(c.applicationId()).isEqualTo("serving");
    assertThat(c.hmacKey()).contains("0123456789abcdef-secret".getBytes(StandardCharsets.UTF_8));
    assertThat(c.fetchMaxWaitMs()).isEqualTo(10);
    assertThat(c.historySize()).isEqualTo(8);
    assertThat(c.device()).isEqualTo("auto");
    assertThat(c.toString()).doesNotContain("secret").contains("<redacted>");
  }

  @Test
  void aHexKeyGivesTheDecodedBytesAsItDoesForTheTrainer() {
    InferenceConfig c = InferenceConfig.of(Map.of("inference.hmac.key", "hex:000102030405060708090a0b0c0d0e0f"));
    assertThat(c.hmacKey()).get().satisfies(k -> assertThat(k).hasSize(16).startsWith(0, 1, 2));
  }

  @Test
  void invalidValuesFailNamingTheKeyAndNeverEchoTheSecret() {
    assertInvalid(Map.of(InferenceConfig.BASE_PATH, dir.resolve("missing.bin").toString()), InferenceConfig.BASE_PATH,
        "lorastream pretrain");
    assertInvalid(Map.of(InferenceConfig.ADAPTER_ID, "has space"), InferenceConfig.ADAPTER_ID, "without spaces");
    assertInvalid(Map.of(InferenceConfig.CONSUMER_ID, "a/b"), InferenceConfig.CONSUMER_ID, "letters");
    assertInvalid(Map.of(InferenceConfig.FETCH_MAX_WAIT_MS, "-1"), InferenceConfig.FETCH_MAX_WAIT_MS, "between 0 and 500");
    assertInvalid(Map.of(InferenceConfig.FETCH_MAX_WAIT_MS, "fast"), InferenceConfig.FETCH_MAX_WAIT_MS, "whole number");
    assertInvalid(Map.of(InferenceConfig.HISTORY_SIZE, "0"), InferenceConfig.HISTORY_SIZE, "between 1");
    assertInvalid(Map.of(InferenceConfig.DEVICE, "tpu"), InferenceConfig.DEVICE, "auto, cpu, gpu");
    assertInvalid(Map.of(InferenceConfig.ENGINE, "onnx"), InferenceConfig.ENGINE, "java (host loops)");
    String shortSecret = "tiny-secret";
    ConfigException e = assertInvalid(Map.of(InferenceConfig.HMAC_KEY, shortSecret), InferenceConfig.HMAC_KEY, "16 bytes");
    assertThat(e.getMessage()).doesNotContain(shortSecret).contains("<redacted>");
  }

  @Test
  void streamsPropertiesPassKafkaSettingsThroughAndSeparateReplicas() {
    Map<String, String> common = new HashMap<>(CommonConfig.DEFAULTS);
    common.put("kafka.security.protocol", "SASL_PLAINTEXT");
    CommonConfig cc = new CommonConfig(LayeredConfig.of(common));
    InferenceConfig a = InferenceConfig.of(Map.of(InferenceConfig.CONSUMER_ID, "inference-1"));
    InferenceConfig b = InferenceConfig.of(Map.of(InferenceConfig.CONSUMER_ID, "inference-2"));
    Properties pa = InferenceService.streamsProperties(a, cc);
    Properties pb = InferenceService.streamsProperties(b, cc);
    assertThat(pa.get("security.protocol")).isEqualTo("SASL_PLAINTEXT");
    assertThat(pa.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG)).isEqualTo("127.0.0.1:9092");
    assertThat(pa.get(StreamsConfig.APPLICATION_ID_CONFIG)).isEqualTo(pb.get(StreamsConfig.APPLICATION_ID_CONFIG));
    assertThat(pa.get(StreamsConfig.CLIENT_ID_CONFIG)).isEqualTo("inference-1");
    assertThat(pa.get(StreamsConfig.STATE_DIR_CONFIG)).isNotEqualTo(pb.get(StreamsConfig.STATE_DIR_CONFIG));
  }

  private static ConfigException assertInvalid(Map<String, String> values, String key, String hint) {
    try {
      InferenceConfig.of(values);
    } catch (ConfigException e) {
      assertThat(e.key()).isEqualTo(key);
      assertThat(e.getMessage()).contains(key).contains(hint).contains("Fix:");
      return e;
    }
    throw new AssertionError("expected a ConfigException for " + values);
  }

  @Test
  void threadCountMustBePositive() {
    assertThatThrownBy(() -> InferenceConfig.of(Map.of(InferenceConfig.THREADS, "0")))
        .isInstanceOf(ConfigException.class).hasMessageContaining(InferenceConfig.THREADS);
  }
}
