package io.lorastream.stream.ingest;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Names of the headers the ingest topology adds to every record it dead-letters to
 * {@code examples.dlq}. Values are UTF-8 text (partition and offset in decimal) so that any
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

  /** The last value of header {@code name} as text, or null when absent. */
  public static String text(Headers headers, String name) {
    Header h = headers.lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
