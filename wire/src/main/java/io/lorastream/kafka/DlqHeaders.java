package io.lorastream.kafka;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Names of the headers added to every dead-lettered record: by ingest ({@code examples.raw} to
 * {@code examples.dlq}), by the trainer ({@code examples.train} to {@code examples.dlq}) and by
 * inference ({@code inference.requests} to {@code inference.dlq}). Values are UTF-8 text (partition and offset in decimal) so that any
 * console consumer can read them. The record's own key, value and headers are kept unchanged
 * next to these, so a fixed record can be replayed from the DLQ byte for byte.
 */
public final class DlqHeaders {
  public static final String PREFIX = "lorastream.dlq.";
  /** Stable machine-readable {@link DlqReason} code. */
  public static final String REASON = PREFIX + "reason";
  /** Human-readable explanation. */
  public static final String DETAIL = PREFIX + "detail";
  public static final String SOURCE_TOPIC = PREFIX + "source.topic";
  public static final String SOURCE_PARTITION = PREFIX + "source.partition";
  public static final String SOURCE_OFFSET = PREFIX + "source.offset";
  /** Fully qualified class of the exception that rejected the record. */
  public static final String EXCEPTION_CLASS = PREFIX + "exception.class";

  private DlqHeaders() {
  }

  /**
   * The dead letter's headers: the record's own headers (except any that claim to be ours, so a
   * producer cannot forge a verdict) followed by the reason code, detail, source coordinates and
   * the class of the exception that rejected it (may be null).
   */
  public static Headers deadLetter(Headers original, String reason, String detail, String topic, int partition,
      long offset, String exceptionClass) {
    Headers headers = new RecordHeaders();
    if (original != null) {
      for (Header h : original) {
        if (!h.key().startsWith(PREFIX)) {
          headers.add(h);
        }
      }
    }
    add(headers, REASON, reason);
    add(headers, DETAIL, detail == null ? "" : detail);
    add(headers, SOURCE_TOPIC, topic == null ? "" : topic);
    add(headers, SOURCE_PARTITION, String.valueOf(partition));
    add(headers, SOURCE_OFFSET, String.valueOf(offset));
    if (exceptionClass != null) {
      add(headers, EXCEPTION_CLASS, exceptionClass);
    }
    return headers;
  }

  private static void add(Headers h, String name, String value) {
    h.add(name, value.getBytes(StandardCharsets.UTF_8));
  }

  /** Longest detail put into a dead letter's header, an error answer or a log line. */
  public static final int MAX_DETAIL = 300;

  /**
   * {@code detail} capped at {@link #MAX_DETAIL} characters (null as empty): details reach headers,
   * clients and logs, and a decoder's message can embed whole schemas.
   */
  public static String brief(String detail) {
    if (detail == null) {
      return "";
    }
    return detail.length() <= MAX_DETAIL ? detail
        : detail.substring(0, MAX_DETAIL) + "... (" + detail.length() + " characters)";
  }

  /** The last value of header {@code name} as text, or null when absent. */
  public static String text(Headers headers, String name) {
    Header h = headers.lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
