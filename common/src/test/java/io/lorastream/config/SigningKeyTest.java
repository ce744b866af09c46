package io.lorastream.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SigningKeyTest {
  private static final String HEX = "hex:000102030405060708090a0b0c0d0e0f";

  @Test
  void hexBase64AndTextGiveTheSameBytesEverywhere() {
    assertThat(SigningKey.parse(HEX)).get().satisfies(k -> assertThat(k).hasSize(16).startsWith(0, 1, 2));
    assertThat(SigningKey.parse("base64:AAECAwQFBgcICQoLDA0ODw==").get()).isEqualTo(SigningKey.parse(HEX).get());
    assertThat(SigningKey.parse("  a sixteen+ byte passphrase \n").get())
        .isEqualTo("a sixteen+ byte passphrase".getBytes(StandardCharsets.UTF_8));
    assertThat(SigningKey.parse("schlüssel-0123456").get()).isEqualTo("schlüssel-0123456".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void blankMeansNoKey() {
    assertThat(SigningKey.parse(null)).isEmpty();
    assertThat(SigningKey.parse(" ")).isEmpty();
  }

  @Test
  void badKeysAreRefusedWithoutEchoingThem() {
    assertThatThrownBy(() -> SigningKey.parse("short")).hasMessageContaining("5-byte key is too short");
    assertThatThrownBy(() -> SigningKey.parse("hex:zz")).hasMessageContaining("invalid hex:");
    // 12 bytes once decoded, though the text is longer than 16 characters
    assertThatThrownBy(() -> SigningKey.parse("hex:000102030405060708090a0b")).hasMessageContaining("12-byte");
  }

  @Test
  void configErrorsNameTheKeyAndRedactTheValue() {
    LayeredConfig c = LayeredConfig.of(Map.of("trainer.hmac.key", "hunter2"));
    assertThatThrownBy(() -> SigningKey.fromConfig(c, "trainer.hmac.key", "every inference consumer"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'trainer.hmac.key'")
        .hasMessageContaining("every inference consumer")
        .hasMessageNotContaining("hunter2");
  }
}
