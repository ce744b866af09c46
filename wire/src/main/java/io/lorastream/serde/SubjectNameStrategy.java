package io.lorastream.serde;

import java.util.Locale;
import org.apache.avro.Schema;

/**
 * How a serde names the registry subject of a record. TOPIC is Confluent's default
 * ({@code <topic>-key} / {@code <topic>-value}); RECORD uses the record's full name and
 * TOPIC_RECORD {@code <topic>-<full name>}, for topics that carry several record types.
 */
public enum SubjectNameStrategy {
  TOPIC, RECORD, TOPIC_RECORD;

  public String subject(String topic, boolean isKey, Schema schema) {
    return switch (this) {
      case TOPIC -> topic + (isKey ? "-key" : "-value");
      case RECORD -> schema.getFullName();
      case TOPIC_RECORD -> topic + "-" + schema.getFullName();
    };
  }

  /**
   * Accepts Confluent's class names ({@code io.confluent.kafka.serializers.subject.TopicNameStrategy}
   * etc.), their simple names, or this enum's names.
   */
  static SubjectNameStrategy parse(String text) {
    String simple = text.substring(text.lastIndexOf('.') + 1).toUpperCase(Locale.ROOT);
    return switch (simple) {
      case "TOPICNAMESTRATEGY", "TOPIC" -> TOPIC;
      case "RECORDNAMESTRATEGY", "RECORD" -> RECORD;
      case "TOPICRECORDNAMESTRATEGY", "TOPIC_RECORD" -> TOPIC_RECORD;
      default -> null;
    };
  }
}
