package io.lorastream.localstack.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.registry.CompatibilityLevel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The {@code _schemas} record layout: Confluent-style JSON keys and values, and their decoding. */
class KafkaSchemaStoreFormatTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void schemaVersionsUseConfluentKeysAndValues() throws Exception {
    StoreEntry e = new StoreEntry.SchemaVersion("s-value", 2, 7, "\"string\"", false);
    byte[][] kv = KafkaSchemaStore.encode(e);
    assertThat(JSON.readTree(kv[0])).isEqualTo(JSON.readTree(
        "{\"keytype\":\"SCHEMA\",\"subject\":\"s-value\",\"version\":2,\"magic\":1}"));
    assertThat(JSON.readTree(kv[1])).isEqualTo(JSON.readTree(
        "{\"subject\":\"s-value\",\"version\":2,\"id\":7,\"schema\":\"\\\"string\\\"\",\"deleted\":false}"));
    assertThat(KafkaSchemaStore.decode(kv[0], kv[1], 0)).isEqualTo(e);
  }

  @Test
  void removalsAreTombstonesAndConfigsRoundTrip() {
    StoreEntry removed = new StoreEntry.SchemaVersionRemoved("s", 1);
    byte[][] kv = KafkaSchemaStore.encode(removed);
    assertThat(kv[1]).isNull();
    assertThat(KafkaSchemaStore.decode(kv[0], kv[1], 0)).isEqualTo(removed);

    for (StoreEntry c : new StoreEntry[] {new StoreEntry.Config(null, CompatibilityLevel.FULL),
        new StoreEntry.Config("s", CompatibilityLevel.NONE), new StoreEntry.Config("s", null)}) {
      byte[][] ckv = KafkaSchemaStore.encode(c);
      assertThat(KafkaSchemaStore.decode(ckv[0], ckv[1], 0)).isEqualTo(c);
    }
  }

  @Test
  void unknownOrUnreadableRecordsAreSkipped() {
    byte[] noop = "{\"keytype\":\"NOOP\",\"magic\":0}".getBytes(StandardCharsets.UTF_8);
    assertThat(KafkaSchemaStore.decode(noop, null, 0)).isNull();
    assertThat(KafkaSchemaStore.decode("not json".getBytes(StandardCharsets.UTF_8), null, 1)).isNull();
    byte[] config = "{\"keytype\":\"CONFIG\",\"subject\":null,\"magic\":0}".getBytes(StandardCharsets.UTF_8);
    assertThat(KafkaSchemaStore.decode(config, "{\"compatibilityLevel\":\"WEIRD\"}".getBytes(StandardCharsets.UTF_8), 2))
        .isNull();
  }
}
