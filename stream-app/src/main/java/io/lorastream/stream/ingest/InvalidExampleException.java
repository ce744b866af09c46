package io.lorastream.stream.ingest;

/**
 * A record that decoded fine but breaks a content rule (feature size, label range, ...). It only
 * exists so that every dead-lettered record names an exception class in its
 * {@code lorastream.dlq.exception.class} header, whether the failure was thrown by a decoder or
 * found by a check; it is never thrown across the topology, so it skips the stack trace.
 */
public final class InvalidExampleException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final DlqReason reason;

  public InvalidExampleException(DlqReason reason, String detail) {
    super(detail, null, false, false);
    this.reason = reason;
  }

  public DlqReason reason() {
    return reason;
  }
}
