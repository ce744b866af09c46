package io.lorastream.serde;

import io.lorastream.registry.RegistryClientConfig;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;

/**
 * Typed serde options, read from Confluent's keys so the same properties configure these serdes and
 * Confluent's: {@code auto.register.schemas} (default true), {@code use.latest.version} (default
 * false), {@code latest.cache.ttl.sec} (default -1: keep the fetched latest version for the life of
 * the serde), {@code key.subject.name.strategy} / {@code value.subject.name.strategy} (default
 * TopicNameStrategy), and {@code key.schema.id.serializer} / {@code value.schema.id.serializer}:
 * where the serializer writes the schema id, {@code prefix} (default: magic byte 0 and the 4-byte id
 * in front of the payload) or {@code header} (the schema GUID in record header
 * {@code __value_schema_id}, the payload bare Avro), also accepting Confluent's class names
 * {@code PrefixSchemaIdSerializer} and {@code HeaderSchemaIdSerializer}. Registry connection keys
 * are read by {@link RegistryClientConfig}.
 *
 * <p>One deliberate difference: Confluent ignores {@code use.latest.version} while {@code
 * auto.register.schemas} is true; here {@code use.latest.version=true} always wins (and nothing is
 * registered), so setting it is never silently ignored.
 */
public final class AvroSerdeConfig {
  public static final String AUTO_REGISTER_SCHEMAS = "auto.register.schemas";
  public static final String USE_LATEST_VERSION = "use.latest.version";
  public static final String LATEST_CACHE_TTL_SEC = "latest.cache.ttl.sec";
  public static final String KEY_SUBJECT_NAME_STRATEGY = "key.subject.name.strategy";
  public static final String VALUE_SUBJECT_NAME_STRATEGY = "value.subject.name.strategy";
  public static final String KEY_SCHEMA_ID_SERIALIZER = "key.schema.id.serializer";
  public static final String VALUE_SCHEMA_ID_SERIALIZER = "value.schema.id.serializer";

  /** Where a serializer puts the schema id. */
  public enum SchemaIdPlacement {
    /** Magic byte 0 and the 4-byte schema id before the Avro payload (the classic wire format). */
    PREFIX,
    /** Magic byte 1 and the schema GUID in record header {@code __key_schema_id}/{@code __value_schema_id}. */
    HEADER
  }

  private final boolean autoRegister;
  private final boolean useLatestVersion;
  private final Duration latestCacheTtl;
  private final SubjectNameStrategy subjectNameStrategy;
  private final SchemaIdPlacement schemaIdPlacement;

  private AvroSerdeConfig(Map<String, ?> c, boolean isKey) {
    this.autoRegister = bool(c, AUTO_REGISTER_SCHEMAS, true);
    this.useLatestVersion = bool(c, USE_LATEST_VERSION, false);
    String ttlText = text(c, LATEST_CACHE_TTL_SEC);
    long ttl;
    try {
      ttl = ttlText == null ? -1 : Long.parseLong(ttlText);
    } catch (NumberFormatException e) {
      throw new ConfigException(LATEST_CACHE_TTL_SEC, ttlText, "must be a number of seconds (-1 = never expire)");
    }
    this.latestCacheTtl = ttl < 0 ? null : Duration.ofSeconds(ttl);
    String key = isKey ? KEY_SUBJECT_NAME_STRATEGY : VALUE_SUBJECT_NAME_STRATEGY;
    String strategy = text(c, key);
    if (strategy == null) {
      this.subjectNameStrategy = SubjectNameStrategy.TOPIC;
    } else {
      SubjectNameStrategy s = SubjectNameStrategy.parse(strategy);
      if (s == null) {
        throw new ConfigException(key, strategy,
            "is not supported; use TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy");
      }
      this.subjectNameStrategy = s;
    }
    String placementKey = isKey ? KEY_SCHEMA_ID_SERIALIZER : VALUE_SCHEMA_ID_SERIALIZER;
    String placement = text(c, placementKey);
    this.schemaIdPlacement = placement == null ? SchemaIdPlacement.PREFIX : placement(placementKey, placement);
  }

  private static SchemaIdPlacement placement(String key, String v) {
    String simple = v.trim().substring(v.trim().lastIndexOf('.') + 1).toLowerCase(java.util.Locale.ROOT);
    return switch (simple) {
      case "prefix", "prefixschemaidserializer" -> SchemaIdPlacement.PREFIX;
      case "header", "headerschemaidserializer" -> SchemaIdPlacement.HEADER;
      default -> throw new ConfigException(key, v, "is not supported; use prefix (PrefixSchemaIdSerializer) or header"
          + " (HeaderSchemaIdSerializer)");
    };
  }

  /** Reads the options for a key ({@code isKey}) or value serde; throws naming a bad key. */
  public static AvroSerdeConfig from(Map<String, ?> configs, boolean isKey) {
    return new AvroSerdeConfig(configs, isKey);
  }

  public boolean autoRegister() {
    return autoRegister;
  }

  public boolean useLatestVersion() {
    return useLatestVersion;
  }

  /** How long a fetched latest version is reused; null means for the life of the serde. */
  public Duration latestCacheTtl() {
    return latestCacheTtl;
  }

  public SubjectNameStrategy subjectNameStrategy() {
    return subjectNameStrategy;
  }

  public SchemaIdPlacement schemaIdPlacement() {
    return schemaIdPlacement;
  }

  private static String text(Map<String, ?> c, String key) {
    Object v = c.get(key);
    return v == null || v.toString().isBlank() ? null : v.toString().trim();
  }

  private static boolean bool(Map<String, ?> c, String key, boolean def) {
    String v = text(c, key);
    if (v == null) {
      return def;
    }
    return switch (v.toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new ConfigException(key, v, "must be true or false");
    };
  }
}
