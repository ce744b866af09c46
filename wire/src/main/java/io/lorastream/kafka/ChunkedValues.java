package io.lorastream.kafka;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Utils;

/**
 * Values larger than a broker accepts, split into parts on a compacted topic and put back together
 * by its readers. A value of more than {@code chunkBytes} is written as parts 0..n-2 under the keys
 * {@code <key>/part/<i>}, then the last part under the key itself, whose headers give the part
 * count and the SHA-256 of the whole value; every part carries that digest too. Written in one
 * transaction and to one partition (the key's), they become visible together and in order.
 *
 * <p>Compaction keeps the newest value per key, so the parts of the newest version survive under
 * their own keys, ahead of its last part. An older head can lose its parts to compaction while the
 * head itself stays a little longer; the digest shows the parts do not belong to it, and a reader
 * skips it as superseded (a newer, complete version follows). Adapter ids cannot contain
 * {@code /} (they are {@code [A-Za-z0-9._-]}), so a part's key never names an adapter.
 */
public final class ChunkedValues {
  /** Between a key and a part's index: {@code adapter-1/part/0}. */
  public static final String PART_MARK = "/part/";
  /** On the last part: how many parts the value has (decimal). */
  public static final String PARTS_HEADER = "lorastream.parts";
  /** On every part: lower-case hex SHA-256 of the whole value. */
  public static final String DIGEST_HEADER = "lorastream.parts.sha256";
  /** Default largest record value: half of a broker's default {@code message.max.bytes} (1 MB), so any broker takes it. */
  public static final int DEFAULT_PART_BYTES = 512 * 1024;

  private ChunkedValues() {
  }

  /** The key of part {@code i} of {@code key}'s value. */
  public static String partKey(String key, int i) {
    return key + PART_MARK + i;
  }

  /** The key a part belongs to, or empty when {@code key} is not a part's. */
  public static Optional<String> ownerOf(String key) {
    int at = key.lastIndexOf(PART_MARK);
    if (at <= 0 || at + PART_MARK.length() == key.length()
        || !key.substring(at + PART_MARK.length()).chars().allMatch(Character::isDigit)) {
      return Optional.empty();
    }
    return Optional.of(key.substring(0, at));
  }

  /** The key a record's value belongs to: a part's owner, or the key itself (null for a null key). */
  public static String valueKey(byte[] key) {
    if (key == null) {
      return null;
    }
    String k = new String(key, StandardCharsets.UTF_8);
    return ownerOf(k).orElse(k);
  }

  /**
   * The records that carry {@code value} under {@code key}: itself when it fits, else its parts,
   * all addressed to the key's partition (the default partitioner's choice among
   * {@code partitions}) so that they stay in order.
   */
  public static List<ProducerRecord<String, byte[]>> records(String topic, String key, byte[] value, int partBytes,
      int partitions) {
    if (partBytes <= 0) {
      throw new IllegalArgumentException("partBytes must be > 0, got " + partBytes);
    }
    if (value == null || value.length <= partBytes) {
      return List.of(new ProducerRecord<>(topic, key, value));
    }
    int partition = Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
    int n = (value.length + partBytes - 1) / partBytes;
    byte[] digest = hex(sha256(value, 0, value.length)).getBytes(StandardCharsets.US_ASCII);
    List<ProducerRecord<String, byte[]>> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int from = i * partBytes;
      byte[] part = java.util.Arrays.copyOfRange(value, from, Math.min(value.length, from + partBytes));
      Headers h = new RecordHeaders().add(DIGEST_HEADER, digest);
      boolean last = i == n - 1;
      if (last) {
        h.add(PARTS_HEADER, Integer.toString(n).getBytes(StandardCharsets.US_ASCII));
      }
      out.add(new ProducerRecord<>(topic, partition, last ? key : partKey(key, i), part, h));
    }
    return out;
  }

  /**
   * Puts values back together on one reader's thread. Offer every record in log order: a part is
   * kept (the newest per part key) and answered with {@link Offered#part()}; a last part comes
   * back as one record holding the whole value; any other record comes back as it is.
   */
  public static final class Assembler {
    private final Map<String, byte[][]> parts = new HashMap<>(); // part key -> {digest, bytes}

    /** What became of an offered record. */
    public record Offered(ConsumerRecord<byte[], byte[]> record, String missing) {
      /** A part, kept for its value's last part: nothing to handle yet. */
      public boolean part() {
        return record == null && missing == null;
      }
    }

    /** Keys of the parts kept now: parts offered and not yet tombstoned. */
    public java.util.Set<String> partKeys() {
      return java.util.Set.copyOf(parts.keySet());
    }

    public Offered offer(ConsumerRecord<byte[], byte[]> r) {
      if (r.key() == null) {
        return new Offered(r, null);
      }
      String key = new String(r.key(), StandardCharsets.UTF_8);
      if (ownerOf(key).isPresent()) {
        if (r.value() == null) {
          parts.remove(key);
        } else {
          parts.put(key, new byte[][] {header(r.headers(), DIGEST_HEADER), r.value()});
        }
        return new Offered(null, null);
      }
      byte[] count = header(r.headers(), PARTS_HEADER);
      if (count == null || r.value() == null) {
        return new Offered(r, null);
      }
      int n;
      try {
        n = Integer.parseInt(new String(count, StandardCharsets.US_ASCII));
      } catch (NumberFormatException e) {
        n = -1;
      }
      byte[] digest = header(r.headers(), DIGEST_HEADER);
      if (n < 2 || digest == null) {
        return new Offered(null, "a last part with a bad " + PARTS_HEADER + " or no " + DIGEST_HEADER + " header");
      }
      String want = new String(digest, StandardCharsets.US_ASCII);
      List<byte[]> pieces = new ArrayList<>(n);
      long size = 0;
      for (int i = 0; i < n - 1; i++) {
        byte[][] p = parts.get(partKey(key, i));
        if (p == null || p[0] == null || !want.equals(new String(p[0], StandardCharsets.US_ASCII))) {
          return new Offered(null, "part " + i + " of " + n + " is " + (p == null ? "missing" : "from another value")
              + " (superseded: compaction keeps only a newer value's parts)");
        }
        pieces.add(p[1]);
        size += p[1].length;
      }
      pieces.add(r.value());
      size += r.value().length;
      if (size > Integer.MAX_VALUE - 8) {
        return new Offered(null, "the parts add up to " + size + " bytes");
      }
      byte[] whole = new byte[(int) size];
      int at = 0;
      for (byte[] p : pieces) {
        System.arraycopy(p, 0, whole, at, p.length);
        at += p.length;
      }
      if (!want.equals(hex(sha256(whole, 0, whole.length)))) {
        return new Offered(null, "the " + n + " parts do not hash to their " + DIGEST_HEADER);
      }
      return new Offered(new ConsumerRecord<>(r.topic(), r.partition(), r.offset(), r.timestamp(), r.timestampType(),
          r.serializedKeySize(), whole.length, r.key(), whole, r.headers(), r.leaderEpoch()), null);
    }
  }

  private static byte[] header(Headers h, String name) {
    Header x = h.lastHeader(name);
    return x == null ? null : x.value();
  }

  private static byte[] sha256(byte[] b, int from, int len) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(b, from, len);
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
