package io.lorastream.serde;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.io.Decoder;
import org.apache.avro.util.Utf8;

/**
 * An Avro binary decoder over one byte-array slice that refuses to read past its end. Avro's own
 * decoder trusts length prefixes, so a garbage or truncated payload can make it allocate gigabytes
 * before noticing; here every string, bytes, fixed and collection length is checked against the
 * bytes that remain, and running out raises {@link EOFException}. It also lets the serde verify
 * that a record consumed the payload exactly ({@link #remaining()}).
 */
final class BoundedDecoder extends Decoder {
  /**
   * Items of zero encoded size (null, empty records) may legitimately outnumber the remaining bytes;
   * allow that up to this many before calling a block count corrupt.
   */
  private static final long MAX_ZERO_SIZE_ITEMS = 1 << 16;

  private final byte[] buf;
  private int pos;
  private final int limit;

  BoundedDecoder(byte[] buf, int offset, int length) {
    this.buf = buf;
    this.pos = offset;
    this.limit = offset + length;
  }

  int remaining() {
    return limit - pos;
  }

  private void require(long n) throws EOFException {
    if (n > limit - pos) {
      throw new EOFException("payload truncated: needs " + n + " more byte(s) at offset " + pos + ", "
          + (limit - pos) + " remain");
    }
  }

  @Override
  public void readNull() {
    // null takes no bytes
  }

  @Override
  public boolean readBoolean() throws IOException {
    require(1);
    byte b = buf[pos++];
    if (b == 0 || b == 1) {
      return b == 1;
    }
    throw new AvroRuntimeException("malformed boolean byte " + b + " at offset " + (pos - 1));
  }

  @Override
  public int readInt() throws IOException {
    int shift = 0;
    int acc = 0;
    for (int i = 0; i < 5; i++) {
      require(1);
      int b = buf[pos++] & 0xff;
      acc |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return (acc >>> 1) ^ -(acc & 1);
      }
      shift += 7;
    }
    throw new AvroRuntimeException("malformed varint (int longer than 5 bytes) before offset " + pos);
  }

  @Override
  public long readLong() throws IOException {
    int shift = 0;
    long acc = 0;
    for (int i = 0; i < 10; i++) {
      require(1);
      long b = buf[pos++] & 0xff;
      acc |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return (acc >>> 1) ^ -(acc & 1);
      }
      shift += 7;
    }
    throw new AvroRuntimeException("malformed varint (long longer than 10 bytes) before offset " + pos);
  }

  @Override
  public float readFloat() throws IOException {
    require(4);
    int bits = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8 | (buf[pos + 2] & 0xff) << 16 | (buf[pos + 3] & 0xff) << 24;
    pos += 4;
    return Float.intBitsToFloat(bits);
  }

  /**
   * Reads {@code n} consecutive floats (Avro's 4-byte little-endian encoding) into {@code dst} from
   * {@code off}, as one bulk copy: on a little-endian machine that is a plain memory copy.
   */
  void readFloats(float[] dst, int off, int n) throws IOException {
    require(4L * n);
    ByteBuffer.wrap(buf, pos, 4 * n).slice().order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(dst, off, n);
    pos += 4 * n;
  }

  @Override
  public double readDouble() throws IOException {
    require(8);
    long lo = (buf[pos] & 0xffL) | (buf[pos + 1] & 0xffL) << 8 | (buf[pos + 2] & 0xffL) << 16 | (buf[pos + 3] & 0xffL) << 24;
    long hi = (buf[pos + 4] & 0xffL) | (buf[pos + 5] & 0xffL) << 8 | (buf[pos + 6] & 0xffL) << 16 | (buf[pos + 7] & 0xffL) << 24;
    pos += 8;
    return Double.longBitsToDouble(lo | hi << 32);
  }

  private int readLength() throws IOException {
    long len = readLong();
    if (len < 0) {
      throw new AvroRuntimeException("malformed data: negative length " + len + " before offset " + pos);
    }
    require(len);
    return (int) len;
  }

  @Override
  public Utf8 readString(Utf8 old) throws IOException {
    int len = readLength();
    Utf8 result = old != null ? old : new Utf8();
    result.setByteLength(len);
    System.arraycopy(buf, pos, result.getBytes(), 0, len);
    pos += len;
    return result;
  }

  @Override
  public String readString() throws IOException {
    int len = readLength();
    String s = new String(buf, pos, len, StandardCharsets.UTF_8);
    pos += len;
    return s;
  }

  @Override
  public void skipString() throws IOException {
    pos += readLength();
  }

  @Override
  public ByteBuffer readBytes(ByteBuffer old) throws IOException {
    int len = readLength();
    ByteBuffer result;
    if (old != null && old.capacity() >= len) {
      result = old;
      result.clear();
    } else {
      result = ByteBuffer.allocate(len);
    }
    result.put(buf, pos, len);
    result.flip();
    pos += len;
    return result;
  }

  @Override
  public void skipBytes() throws IOException {
    pos += readLength();
  }

  @Override
  public void readFixed(byte[] bytes, int start, int length) throws IOException {
    require(length);
    System.arraycopy(buf, pos, bytes, start, length);
    pos += length;
  }

  @Override
  public void skipFixed(int length) throws IOException {
    require(length);
    pos += length;
  }

  @Override
  public int readEnum() throws IOException {
    return readInt();
  }

  private long readBlockCount() throws IOException {
    long count = readLong();
    if (count < 0) {
      // A negative count is followed by the block's size in bytes, which readers may ignore.
      readLong();
      count = -count;
    }
    if (count > remaining() && count > MAX_ZERO_SIZE_ITEMS) {
      throw new AvroRuntimeException("malformed data: block of " + count + " items but only " + remaining()
          + " byte(s) remain");
    }
    return count;
  }

  private long skipBlocks() throws IOException {
    long count = readLong();
    while (count < 0) {
      long bytes = readLong();
      if (bytes < 0) {
        throw new AvroRuntimeException("malformed data: negative block size " + bytes);
      }
      require(bytes);
      pos += (int) bytes;
      count = readLong();
    }
    return count;
  }

  @Override
  public long readArrayStart() throws IOException {
    return readBlockCount();
  }

  @Override
  public long arrayNext() throws IOException {
    return readBlockCount();
  }

  @Override
  public long skipArray() throws IOException {
    return skipBlocks();
  }

  @Override
  public long readMapStart() throws IOException {
    return readBlockCount();
  }

  @Override
  public long mapNext() throws IOException {
    return readBlockCount();
  }

  @Override
  public long skipMap() throws IOException {
    return skipBlocks();
  }

  @Override
  public int readIndex() throws IOException {
    return readInt();
  }
}
