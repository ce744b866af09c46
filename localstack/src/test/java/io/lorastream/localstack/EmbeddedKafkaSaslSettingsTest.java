package io.lorastream.localstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.testing.LocalStackExtension;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The SASL settings the embedded broker hands to clients, and the accounts it refuses to create. */
class EmbeddedKafkaSaslSettingsTest {

  @Test
  void clientSettingsAreSaslPlaintextPlainWithAQuotedJaasLine() {
    Map<String, String> p = EmbeddedKafka.saslClientProperties("svc.a-1", "p\"w\\x y");
    assertThat(p).containsOnlyKeys("security.protocol", "sasl.mechanism", "sasl.jaas.config")
        .containsEntry("security.protocol", "SASL_PLAINTEXT")
        .containsEntry("sasl.mechanism", "PLAIN");
    assertThat(p.get("sasl.jaas.config")).isEqualTo(
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"svc.a-1\" password=\"p\\\"w\\\\x y\";");
  }

  @Test
  void accountsTheBrokerCouldNotParseAreRejectedUpFront() {
    assertThatThrownBy(() -> EmbeddedKafka.builder().saslPlain(Map.of())).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> EmbeddedKafka.builder().saslPlain(Map.of("bad user", "pw")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'bad user'");
    assertThatThrownBy(() -> EmbeddedKafka.builder().saslPlain(Map.of("u\"", "pw"))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> EmbeddedKafka.builder().saslPlain(Map.of("alice", ""))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("alice");
    assertThatThrownBy(() -> LocalCluster.builder().saslPlain(Map.of("x y", "pw"))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LocalStackExtension.withSasl("alice", "")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void withoutSaslTheClientSettingsAreJustTheBootstrapServers() {
    EmbeddedKafka k = EmbeddedKafka.builder().brokerPort(19092).build();
    try {
      assertThat(k.saslEnabled()).isFalse();
      assertThat(k.clientProperties()).containsExactly(Map.entry("bootstrap.servers", "127.0.0.1:19092"));
    } finally {
      k.close(); // never started: only removes the temporary directory
    }
    EmbeddedKafka s = EmbeddedKafka.builder().brokerPort(19093).saslPlain(Map.of("alice", "pw")).build();
    try {
      assertThat(s.saslEnabled()).isTrue();
      // Full rights come from the broker's admin account, whose generated password stays inside.
      assertThat(s.clientProperties()).containsEntry("bootstrap.servers", "127.0.0.1:19093")
          .containsEntry("security.protocol", "SASL_PLAINTEXT");
      assertThat(s.clientProperties().get("sasl.jaas.config")).contains("username=\"admin\"");
      assertThat(s.clientProperties("alice", "pw").get("sasl.jaas.config")).contains("username=\"alice\" password=\"pw\"");
    } finally {
      s.close();
    }
  }
}
