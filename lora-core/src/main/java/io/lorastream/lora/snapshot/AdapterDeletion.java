package io.lorastream.lora.snapshot;

import io.lorastream.serde.TrustedAvroClasses;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * What a tombstone on the {@code adapters} topic means. A deletion written by
 * {@code lorastream adapters delete} is a tombstone (so compaction drops the adapter) whose
 * headers say which versions it deletes ({@code lorastream.delete.through}: every version up to
 * and including N) and, with a signing key, HMAC-SHA256 over the adapter id and N. Binding the
 * signature to N makes a copied deletion harmless later: it cannot delete versions newer than
 * the ones its signer saw. A bare tombstone from any other producer carries none of this.
 */
public final class AdapterDeletion {
  static {
    TrustedAvroClasses.install(); // Avro >= 1.12.2 loads only trusted classes by name
  }

  public static final String THROUGH_HEADER = "lorastream.delete.through";
  public static final String SIGNATURE_HEADER = "lorastream.delete.signature";
  private static final String TAG = "lorastream.AdapterDeletion.v1";

  /** How a reader must treat one tombstone. */
  public enum Kind {
    /** Signed with the reader's key (or, without a key, written with the deletion headers). */
    AUTHENTIC,
    /** No key is configured and the tombstone names no range: honoured, but it is not authenticated. */
    UNAUTHENTICATED,
    /** A key is configured and the tombstone carries no signature: ignore it. */
    UNSIGNED,
    /** A key is configured and the signature does not verify, or the headers are malformed: ignore it. */
    FORGED
  }

  /**
   * One tombstone's verdict. {@code through} is the highest deleted version for
   * {@link Kind#AUTHENTIC} deletions, {@link Long#MAX_VALUE} for an {@link Kind#UNAUTHENTICATED} one
   * (everything before it), and 0 for ignored ones.
   */
  public record Verdict(Kind kind, long through, String detail) {
    public boolean honoured() {
      return kind == Kind.AUTHENTIC || kind == Kind.UNAUTHENTICATED;
    }

    /**
     * The highest version an honoured deletion covers, for a reader whose newest version so far is
     * {@code newestSeen}: a bare tombstone names no version and covers everything before it.
     */
    public long coveredThrough(long newestSeen) {
      return kind == Kind.UNAUTHENTICATED ? newestSeen : through;
    }
  }

  private AdapterDeletion() {
  }

  /** Headers of a deletion of versions {@code <= through}, signed when {@code hmacKeyOrNull} is set. */
  public static Headers headers(String adapterId, long through, byte[] hmacKeyOrNull) {
    if (through < 0) {
      throw new IllegalArgumentException("through must be >= 0, got " + through);
    }
    RecordHeaders h = new RecordHeaders();
    h.add(THROUGH_HEADER, Long.toString(through).getBytes(StandardCharsets.UTF_8));
    if (hmacKeyOrNull != null) {
      h.add(SIGNATURE_HEADER, HexFormat.of().formatHex(signature(adapterId, through, hmacKeyOrNull))
          .getBytes(StandardCharsets.UTF_8));
    }
    return h;
  }

  /** Classifies a tombstone keyed {@code adapterId}, for a reader whose signing key is {@code hmacKeyOrNull}. */
  public static Verdict classify(String adapterId, Headers headers, byte[] hmacKeyOrNull) {
    String through = text(headers, THROUGH_HEADER);
    String sig = text(headers, SIGNATURE_HEADER);
    Long n = null;
    if (through != null) {
      try {
        n = Long.parseLong(through);
      } catch (NumberFormatException e) {
        n = null;
      }
      if (n != null && n < 0) {
        n = null;
      }
    }
    if (hmacKeyOrNull == null) {
      if (n != null) {
        return new Verdict(Kind.AUTHENTIC, n, "deletion of versions <= " + n + " (signing is off: not authenticated)");
      }
      return new Verdict(Kind.UNAUTHENTICATED, Long.MAX_VALUE, "bare tombstone (no " + THROUGH_HEADER + " header)");
    }
    if (sig == null) {
      return new Verdict(Kind.UNSIGNED, 0, "unsigned tombstone, but a signing key is configured");
    }
    if (n == null) {
      return new Verdict(Kind.FORGED, 0, "signed tombstone without a valid " + THROUGH_HEADER + " header");
    }
    byte[] given;
    try {
      given = HexFormat.of().parseHex(sig);
    } catch (IllegalArgumentException e) {
      return new Verdict(Kind.FORGED, 0, "signature header is not hex");
    }
    if (!MessageDigest.isEqual(given, signature(adapterId, n, hmacKeyOrNull))) {
      return new Verdict(Kind.FORGED, 0, "deletion signature does not verify with the configured key");
    }
    return new Verdict(Kind.AUTHENTIC, n, "signed deletion of versions <= " + n);
  }

  private static byte[] signature(String adapterId, long through, byte[] key) {
    String payload = TAG + "\n" + adapterId + "\n" + through;
    return SnapshotCodec.hmac(key, payload.getBytes(StandardCharsets.UTF_8));
  }

  private static String text(Headers headers, String name) {
    if (headers == null) {
      return null;
    }
    Header h = headers.lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8).trim();
  }
}
