package io.lorastream.registry;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class RegistryOutageTest {
  @Test
  void aDownOrErroringRegistryIsAnOutageAnywhereInTheCauseChain() {
    assertThat(RegistryException.isOutage(new RegistryUnavailableException(-1, -1, "down", null))).isTrue();
    assertThat(RegistryException.isOutage(new SerializationException("topic t: lookup failed",
        RegistryException.of(500, 50001, "boom")))).isTrue();
  }

  @Test
  void anUnknownSchemaIdIsTheRecordsFaultNotAnOutage() {
    assertThat(RegistryException.isOutage(new SerializationException("topic t: unknown id",
        RegistryException.of(404, SchemaNotFoundException.CODE, "no schema 99")))).isFalse();
    assertThat(RegistryException.isOutage(new SerializationException("garbage"))).isFalse();
    assertThat(RegistryException.isOutage(null)).isFalse();
  }
}
