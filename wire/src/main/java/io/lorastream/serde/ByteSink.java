package io.lorastream.serde;

import java.io.OutputStream;
import java.util.Arrays;

/**
 * An unsynchronized, resettable byte buffer that serializers reuse per thread, so encoding a record
 * costs one final copy instead of a fresh stream and several growth copies each time.
 */
final class ByteSink extends OutputStream {
  /** Buffers grown past this by one huge record are dropped afterwards rather than kept per thread. */
  private static final int RETAIN_LIMIT = 4 << 20;
  private static final int INITIAL = 1024;

  private byte[] buf = new byte[INITIAL];
  private int count;

  void reset() {
    count = 0;
    if (buf.length > RETAIN_LIMIT) {
      buf = new byte[INITIAL];
    }
  }

  @Override
  public void write(int b) {
    ensure(1);
    buf[count++] = (byte) b;
  }

  @Override
  public void write(byte[] b, int off, int len) {
    ensure(len);
    System.arraycopy(b, off, buf, count, len);
    count += len;
  }

  /** Writes a big-endian int, as the wire format's schema id. */
  void writeIntBigEndian(int v) {
    ensure(4);
    buf[count] = (byte) (v >>> 24);
    buf[count + 1] = (byte) (v >>> 16);
    buf[count + 2] = (byte) (v >>> 8);
    buf[count + 3] = (byte) v;
    count += 4;
  }

  byte[] toByteArray() {
    return Arrays.copyOf(buf, count);
  }

  private void ensure(int n) {
    if (count + n > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, count + n));
    }
  }
}
