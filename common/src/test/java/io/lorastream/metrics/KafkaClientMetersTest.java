package io.lorastream.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * Binding real (unconnected) Kafka clients: their metrics appear under the role's tag, a role
 * bound again replaces its old client's meters, and closing a role removes them. NONE binds nothing.
 */
class KafkaClientMetersTest {
  private static final Map<String, Object> CLIENT = Map.of("bootstrap.servers", "127.0.0.1:1");

  private static long meters(SimpleMeterRegistry r, String role, String prefix) {
    return r.getMeters().stream().map(Meter::getId)
        .filter(id -> id.getName().startsWith(prefix) && role.equals(id.getTag("client.role"))).count();
  }

  @Test
  void clientsAreBoundUnderTheirRoleReplacedAndRemoved() {
    SimpleMeterRegistry r = new SimpleMeterRegistry();
    try (KafkaClientMeters m = KafkaClientMeters.on(r);
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(CLIENT, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        KafkaProducer<byte[], byte[]> p1 = new KafkaProducer<>(CLIENT, new ByteArraySerializer(), new ByteArraySerializer());
        KafkaProducer<byte[], byte[]> p2 = new KafkaProducer<>(CLIENT, new ByteArraySerializer(), new ByteArraySerializer())) {
      m.opened("input", c);
      m.opened("snapshots", p1);
      assertThat(meters(r, "input", "kafka.consumer.")).isPositive();
      assertThat(r.find("kafka.consumer.fetch.manager.fetch.rate").tag("client.role", "input").gauge()).isNotNull();
      long producerMeters = meters(r, "snapshots", "kafka.producer.");
      assertThat(producerMeters).isPositive();
      assertThat(m.roles()).containsExactlyInAnyOrder("input", "snapshots");

      m.opened("snapshots", p2); // a recreated producer replaces the old one's meters
      String p2Id = p2.metrics().keySet().iterator().next().tags().get("client-id");
      assertThat(r.getMeters().stream().map(Meter::getId).filter(id -> "snapshots".equals(id.getTag("client.role")))
          .map(id -> id.getTag("client.id")).distinct()).containsExactly(p2Id);

      m.closing("input");
      assertThat(meters(r, "input", "kafka.")).isZero();
      assertThat(m.roles()).containsExactly("snapshots");
    }
    assertThat(meters(r, "snapshots", "kafka.")).as("close unbinds every role").isZero();
  }

  @Test
  void aClientIsBoundWhileItsWorkRunsAndUnboundWhenTheWorkFails() {
    SimpleMeterRegistry r = new SimpleMeterRegistry();
    try (KafkaClientMeters m = KafkaClientMeters.on(r);
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(CLIENT, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      long[] during = new long[1];
      m.whileBound("adapters", c, () -> during[0] = meters(r, "adapters", "kafka.consumer."));
      assertThat(during[0]).isPositive();
      assertThat(meters(r, "adapters", "kafka.")).isZero();
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> m.whileBound("adapters", c, () -> {
        throw new java.io.IOException("boom");
      })).isInstanceOf(java.io.IOException.class);
      assertThat(meters(r, "adapters", "kafka.")).isZero();
      assertThat(m.roles()).isEmpty();
    }
  }

  @Test
  void noneBindsNothing() {
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(CLIENT, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      KafkaClientMeters.NONE.opened("input", c);
      assertThat(KafkaClientMeters.NONE.roles()).isEmpty();
      KafkaClientMeters.NONE.closing("input");
    }
  }
}
