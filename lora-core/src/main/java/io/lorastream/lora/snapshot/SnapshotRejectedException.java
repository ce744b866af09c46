package io.lorastream.lora.snapshot;

/**
 * A snapshot failed verification and must not be served or restored. Unchecked so it can cross
 * Kafka Streams processors; callers that keep serving the previous version catch it, count
 * {@link #reason()} and log {@link #getMessage()}.
 */
public final class SnapshotRejectedException extends RuntimeException {

  /** Why a snapshot was rejected. */
  public enum Reason {
    /** Missing checksum, or the content does not hash to it (corruption or tampering). */
    CHECKSUM,
    /** Trained for a different base model. */
    FINGERPRINT,
    /** Unknown or duplicate layer, wrong in/out, bad rank, byte lengths not 4*r*in / 4*out*r. */
    SHAPE,
    /** A or B (or alpha) contains NaN or Inf. */
    NON_FINITE,
    /** A signing key is configured but the snapshot carries no signature. */
    UNSIGNED,
    /** The signature does not match the checksum under the configured key. */
    BAD_SIGNATURE
  }

  private final Reason reason;

  public SnapshotRejectedException(Reason reason, String message) {
    super(reason + ": " + message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
