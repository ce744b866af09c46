package io.lorastream.serde;

/**
 * The Confluent wire format shared by every serde here and by Confluent's: byte 0 is the magic byte
 * 0, bytes 1-4 the big-endian global schema id, the rest the Avro binary encoding of the record.
 */
public final class WireFormat {
  public static final byte MAGIC_BYTE = 0;
  /** Magic byte plus schema id. */
  public static final int HEADER_SIZE = 5;

  private WireFormat() {
  }

  /** True when {@code payload} is long enough and starts with the magic byte. */
  public static boolean looksFramed(byte[] payload) {
    return payload != null && payload.length >= HEADER_SIZE && payload[0] == MAGIC_BYTE;
  }

  /** The schema id in a framed payload; call {@link #looksFramed} first. */
  public static int schemaId(byte[] payload) {
    return (payload[1] & 0xff) << 24 | (payload[2] & 0xff) << 16 | (payload[3] & 0xff) << 8 | (payload[4] & 0xff);
  }
}
