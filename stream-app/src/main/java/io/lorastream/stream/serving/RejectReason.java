package io.lorastream.stream.serving;

import io.lorastream.lora.snapshot.SnapshotRejectedException;

/**
 * Why a consumer refused to serve an adapter snapshot: the verification failures of
 * {@link io.lorastream.lora.snapshot.SnapshotCodec} plus the failures that happen before or after it in a
 * consumer (bytes that are not an {@code AdapterSnapshot} at all, or a merge that fails). Each is
 * counted separately so that an operator can tell corruption from forgery from a base mismatch.
 */
public enum RejectReason {
  /** Missing checksum, or the content does not hash to it. */
  CHECKSUM,
  /** Trained for a different base model. */
  FINGERPRINT,
  /** Layers, ranks or byte lengths do not fit the base. */
  SHAPE,
  /** NaN or Inf in A, B or alpha. */
  NON_FINITE,
  /** A key is configured but the snapshot is unsigned. */
  UNSIGNED,
  /** The HMAC signature does not verify under the configured key. */
  BAD_SIGNATURE,
  /** The record value is not a decodable AdapterSnapshot (wire format, schema or Avro error). */
  UNDECODABLE,
  /** A tombstone (deletion) that is unsigned or wrongly signed while a key is configured: ignored. */
  FORGED_DELETION,
  /** A rollout state that is unsigned or wrongly signed while a key is configured: ignored. */
  FORGED_STATE,
  /** Anything else that made verification or merging fail. */
  INVALID;

  /** The consumer-side reason for a codec rejection. */
  public static RejectReason of(SnapshotRejectedException.Reason r) {
    try {
      return valueOf(r.name());
    } catch (IllegalArgumentException unknownNewReason) {
      return INVALID;
    }
  }
}
