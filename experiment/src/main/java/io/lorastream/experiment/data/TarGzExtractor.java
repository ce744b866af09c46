package io.lorastream.experiment.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Minimal reader for the gzip-compressed ustar archives {@code npm pack} writes, so fetching needs
 * no {@code tar} binary and no dependency. It supports what npm tarballs contain (regular files,
 * directories, pax extended headers and GNU long names) and treats the archive as untrusted:
 * entries that would land outside the destination (absolute paths, {@code ..}), links and device
 * files are refused, header checksums are verified, and a truncated archive (no end-of-archive
 * block) is an error rather than a silently partial extract.
 */
final class TarGzExtractor {

  private static final int BLOCK = 512;

  private TarGzExtractor() {}

  /**
   * Extracts {@code archive} below {@code dest} (created if missing).
   *
   * @return the number of regular files written
   * @throws CorruptArchiveException for any malformed, truncated or unsafe content
   * @throws IOException when reading the archive or writing files fails for other reasons
   */
  static int extract(Path archive, Path dest) throws IOException {
    Path root = dest.toAbsolutePath().normalize();
    Files.createDirectories(root);
    int files = 0;
    try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(archive), 1 << 16), 1 << 16)) {
      byte[] header = new byte[BLOCK];
      String pendingName = null;
      while (true) {
        if (!readBlock(in, header)) {
          throw new CorruptArchiveException("archive ends without the end-of-archive block (truncated download?)");
        }
        if (isZero(header)) {
          return files; // end of archive; a second zero block may follow and does not matter
        }
        verifyChecksum(header);
        char type = (char) header[156];
        long size = parseOctal(header, 124, 12);
        String name = pendingName != null ? pendingName : headerName(header);
        pendingName = null;
        switch (type) {
          case 'x' -> pendingName = paxPath(readData(in, size)); // applies to the next entry only
          case 'g' -> skip(in, size);
          case 'L' -> pendingName = trimNul(new String(readData(in, size), StandardCharsets.UTF_8));
          case '5' -> {
            Files.createDirectories(safeTarget(root, name));
            skip(in, size);
          }
          case '0', '\0', '7' -> {
            Path target = safeTarget(root, name);
            Files.createDirectories(target.getParent());
            try (OutputStream out = Files.newOutputStream(target)) {
              copy(in, out, size);
            }
            skipPadding(in, size);
            files++;
          }
          default -> throw new CorruptArchiveException("entry '" + name + "' has type '" + type
              + "' (links and special files are not expected in an npm package and are refused)");
        }
      }
    } catch (ZipException | EOFException e) {
      throw new CorruptArchiveException("not a complete gzip stream: " + e.getMessage());
    }
  }

  /** The extraction target of an entry name, refusing any name that would escape {@code root}. */
  static Path safeTarget(Path root, String name) throws CorruptArchiveException {
    if (name.isEmpty() || name.startsWith("/") || name.startsWith("\\") || name.indexOf('\0') >= 0
        || (name.length() > 1 && name.charAt(1) == ':')) {
      throw new CorruptArchiveException("entry '" + name + "' has an absolute or empty path; refused");
    }
    for (String part : name.split("[/\\\\]")) {
      if (part.equals("..")) {
        throw new CorruptArchiveException("entry '" + name + "' contains '..' (path traversal); refused");
      }
    }
    Path target = root.resolve(name).normalize();
    if (!target.startsWith(root) || target.equals(root)) {
      throw new CorruptArchiveException("entry '" + name + "' resolves outside " + root + "; refused");
    }
    return target;
  }

  private static String headerName(byte[] h) {
    String name = cString(h, 0, 100);
    boolean ustar = cString(h, 257, 6).startsWith("ustar");
    String prefix = ustar ? cString(h, 345, 155) : "";
    return prefix.isEmpty() ? name : prefix + "/" + name;
  }

  private static String paxPath(byte[] data) throws CorruptArchiveException {
    // Records are "<len> <key>=<value>\n", len counting the whole record in bytes.
    String path = null;
    int pos = 0;
    while (pos < data.length) {
      int space = indexOf(data, (byte) ' ', pos);
      if (space < 0) {
        break;
      }
      int len;
      try {
        len = Integer.parseInt(new String(data, pos, space - pos, StandardCharsets.US_ASCII).trim());
      } catch (NumberFormatException e) {
        throw new CorruptArchiveException("malformed pax header record");
      }
      if (len <= 0 || pos + len > data.length) {
        throw new CorruptArchiveException("malformed pax header record length " + len);
      }
      String rec = new String(data, space + 1, pos + len - space - 2, StandardCharsets.UTF_8);
      if (rec.startsWith("path=")) {
        path = rec.substring(5);
      }
      pos += len;
    }
    return path;
  }

  private static void verifyChecksum(byte[] h) throws CorruptArchiveException {
    long stored = parseOctal(h, 148, 8);
    long unsigned = 0;
    long signed = 0;
    for (int i = 0; i < BLOCK; i++) {
      byte b = (i >= 148 && i < 156) ? (byte) ' ' : h[i];
      unsigned += b & 0xFF;
      signed += b;
    }
    if (stored != unsigned && stored != signed) {
      throw new CorruptArchiveException("tar header checksum mismatch (stored " + stored + ", computed "
          + unsigned + ")");
    }
  }

  private static long parseOctal(byte[] h, int off, int len) throws CorruptArchiveException {
    long v = 0;
    int i = off;
    int end = off + len;
    while (i < end && (h[i] == ' ' || h[i] == 0)) {
      i++;
    }
    for (; i < end && h[i] != 0 && h[i] != ' '; i++) {
      if (h[i] < '0' || h[i] > '7') {
        throw new CorruptArchiveException("non-octal number in tar header at offset " + off);
      }
      v = v * 8 + (h[i] - '0');
    }
    return v;
  }

  private static boolean readBlock(InputStream in, byte[] block) throws IOException {
    int n = in.readNBytes(block, 0, BLOCK);
    if (n == 0) {
      return false;
    }
    if (n < BLOCK) {
      throw new CorruptArchiveException("archive ends inside a header block");
    }
    return true;
  }

  private static byte[] readData(InputStream in, long size) throws IOException {
    if (size > 1 << 20) {
      throw new CorruptArchiveException("extended header of " + size + " bytes; refused");
    }
    byte[] data = in.readNBytes((int) size);
    if (data.length < size) {
      throw new CorruptArchiveException("archive ends inside an extended header");
    }
    skipPadding(in, size);
    return data;
  }

  private static void copy(InputStream in, OutputStream out, long size) throws IOException {
    byte[] buf = new byte[1 << 16];
    long left = size;
    while (left > 0) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, left));
      if (n < 0) {
        throw new CorruptArchiveException("archive ends inside a file (truncated download?)");
      }
      out.write(buf, 0, n);
      left -= n;
    }
  }

  private static void skip(InputStream in, long size) throws IOException {
    skipExactly(in, size);
    skipPadding(in, size);
  }

  private static void skipPadding(InputStream in, long size) throws IOException {
    long pad = (BLOCK - size % BLOCK) % BLOCK;
    skipExactly(in, pad);
  }

  private static void skipExactly(InputStream in, long n) throws IOException {
    try {
      in.skipNBytes(n);
    } catch (EOFException e) {
      throw new CorruptArchiveException("archive ends inside an entry (truncated download?)");
    }
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private static String cString(byte[] h, int off, int len) {
    int end = off;
    while (end < off + len && h[end] != 0) {
      end++;
    }
    return new String(h, off, end - off, StandardCharsets.UTF_8);
  }

  private static String trimNul(String s) {
    int z = s.indexOf('\0');
    return z < 0 ? s : s.substring(0, z);
  }

  private static int indexOf(byte[] data, byte b, int from) {
    for (int i = from; i < data.length; i++) {
      if (data[i] == b) {
        return i;
      }
    }
    return -1;
  }

  /** Malformed or unsafe archive content (as opposed to an I/O failure of the machine). */
  static final class CorruptArchiveException extends IOException {
    CorruptArchiveException(String message) {
      super(message);
    }
  }
}
