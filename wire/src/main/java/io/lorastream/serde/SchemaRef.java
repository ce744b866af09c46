package io.lorastream.serde;

import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.UUID;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Where a record names its writer schema, in the forms Confluent's clients write: the classic
 * payload prefix (magic byte 0, 4-byte id), a GUID prefix (magic byte 1, 16-byte GUID), or a
 * record header ({@code __value_schema_id} / {@code __key_schema_id}, as Confluent's
 * {@code HeaderSchemaIdSerializer} writes it: magic byte 1 and the GUID, or magic byte 0 and the
 * id), in which case the payload is the bare Avro encoding. A header wins over the payload, as in
 * Confluent's dual deserializer. Anything else is an {@link UnsupportedSchemaIdFormException}
 * naming the form it found.
 *
 * @param id the global schema id, or null when the record names a GUID
 * @param guid the schema GUID, or null when the record names an id
 * @param form how the record named it
 */
public record SchemaRef(Integer id, UUID guid, Form form) {
  /** Where a record names its schema, and so where its Avro encoding starts in the payload. */
  public enum Form {
    /** Magic byte 0 and the 4-byte id before the Avro encoding. */
    PREFIX("prefix", WireFormat.HEADER_SIZE),
    /** Magic byte 1 and the 16-byte GUID before the Avro encoding. */
    GUID_PREFIX("guid-prefix", SchemaRef.GUID_PREFIX_SIZE),
    /** A record header; the payload is the bare Avro encoding. */
    HEADER("header", 0);

    private final String label;
    private final int avroOffset;

    Form(String label, int avroOffset) {
      this.label = label;
      this.avroOffset = avroOffset;
    }
  }

  public static final String KEY_HEADER = "__key_schema_id";
  public static final String VALUE_HEADER = "__value_schema_id";
  /** Payload prefix of a GUID-named record: magic byte 1, then 16 bytes of GUID. */
  public static final byte MAGIC_BYTE_GUID = 1;
  public static final int GUID_PREFIX_SIZE = 17;

  /** The header that carries the schema id of a key or value. */
  public static String header(boolean isKey) {
    return isKey ? KEY_HEADER : VALUE_HEADER;
  }

  /**
   * The schema a record names, from its headers (may be null) or its payload.
   *
   * @throws UnsupportedSchemaIdFormException for a header or payload prefix in no known form
   */
  public static SchemaRef of(Headers headers, boolean isKey, byte[] payload) {
    Header h = headers == null ? null : headers.lastHeader(header(isKey));
    if (h != null) {
      byte[] v = h.value();
      if (v != null && v.length == GUID_PREFIX_SIZE && v[0] == MAGIC_BYTE_GUID) {
        return new SchemaRef(null, guid(v, 1), Form.HEADER);
      }
      if (v != null && v.length == WireFormat.HEADER_SIZE && v[0] == WireFormat.MAGIC_BYTE) {
        return new SchemaRef(WireFormat.schemaId(v), null, Form.HEADER); // same layout as the prefix
      }
      throw new UnsupportedSchemaIdFormException(String.format(Locale.ROOT, "record header %s holds %s; supported:"
          + " magic byte 0x01 + 16-byte GUID (Confluent's HeaderSchemaIdSerializer) or 0x00 + 4-byte schema id",
          header(isKey), v == null ? "no value" : v.length + " byte(s) starting 0x" + (v.length == 0 ? "" : hex(v[0]))));
    }
    if (payload.length >= WireFormat.HEADER_SIZE && payload[0] == WireFormat.MAGIC_BYTE) {
      return new SchemaRef(WireFormat.schemaId(payload), null, Form.PREFIX);
    }
    if (payload.length >= GUID_PREFIX_SIZE && payload[0] == MAGIC_BYTE_GUID) {
      return new SchemaRef(null, guid(payload, 1), Form.GUID_PREFIX);
    }
    throw new UnsupportedSchemaIdFormException(String.format(Locale.ROOT, "payload of %d byte(s) starts 0x%s and the"
            + " record has no %s header; supported: magic byte 0x00 + 4-byte schema id, 0x01 + 16-byte GUID, or the id"
            + " in header %s", payload.length, payload.length == 0 ? "" : hex(payload[0]), header(isKey), header(isKey)));
  }

  /** Where the Avro encoding starts in the payload. */
  public int avroOffset() {
    return form.avroOffset;
  }

  /** "schema id 7" or "schema GUID 1b4e28ba-..." with the form when it is not the classic prefix. */
  public String describe() {
    String what = id != null ? "schema id " + id : "schema GUID " + guid;
    return form == Form.PREFIX ? what : what + " (" + form.label + ")";
  }

  static UUID guid(byte[] b, int off) {
    ByteBuffer bb = ByteBuffer.wrap(b, off, 16);
    return new UUID(bb.getLong(), bb.getLong());
  }

  /** The 17 bytes of a GUID header or prefix: magic byte 1, then the GUID big-endian. */
  public static byte[] guidBytes(UUID guid) {
    return ByteBuffer.allocate(GUID_PREFIX_SIZE).put(MAGIC_BYTE_GUID).putLong(guid.getMostSignificantBits())
        .putLong(guid.getLeastSignificantBits()).array();
  }

  private static String hex(byte b) {
    return String.format(Locale.ROOT, "%02x", b & 0xff);
  }
}
