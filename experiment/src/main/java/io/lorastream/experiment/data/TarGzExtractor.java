package io.lorastream.experiment.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarUtils;

/**
 * Extracts the gzip-compressed tar archives {@code npm pack} writes, with commons-compress reading
 * the tar format (ustar, pax headers, GNU long names). The archive is untrusted: entries that would
 * land outside the destination (absolute paths, {@code ..}), links and device files are refused,
 * header checksums are verified, and a truncated archive (one that ends without its end-of-archive
 * block, or inside an entry) is an error rather than a silently partial extract.
 */
final class TarGzExtractor {

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
    try (InputStream gz = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(archive), 1 << 16), 1 << 16);
        TarArchiveInputStream tar = new EndCheckingTarInputStream(gz)) {
      TarArchiveEntry e;
      while ((e = nextEntry(tar)) != null) {
        String name = e.getName();
        if (e.isSymbolicLink() || e.isLink() || e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
          throw new CorruptArchiveException("entry '" + name + "' is a " + kind(e) + " (links and special files "
              + "are not expected in an npm package and are refused)");
        } else if (e.isDirectory()) {
          Files.createDirectories(safeTarget(root, name));
        } else if (e.isFile()) {
          Path target = safeTarget(root, name);
          Files.createDirectories(target.getParent());
          try {
            Files.copy(tar, target, StandardCopyOption.REPLACE_EXISTING);
          } catch (IOException ex) {
            if (ex instanceof CorruptArchiveException c) {
              throw c;
            }
            throw new CorruptArchiveException("entry '" + name + "' is truncated (truncated download?): "
                + ex.getMessage());
          }
          files++;
        } else {
          throw new CorruptArchiveException("entry '" + name + "' is a " + kind(e) + " (links and special files "
              + "are not expected in an npm package and are refused)");
        }
      }
      return files;
    } catch (ZipException | EOFException e) {
      throw new CorruptArchiveException("not a complete gzip stream: " + e.getMessage());
    }
  }

  /** The next entry; a header the tar reader cannot parse (bad checksum, garbage) is a corrupt archive. */
  private static TarArchiveEntry nextEntry(TarArchiveInputStream tar) throws IOException {
    try {
      return tar.getNextEntry();
    } catch (CorruptArchiveException | ZipException | EOFException e) {
      throw e;
    } catch (IOException | IllegalArgumentException e) {
      throw new CorruptArchiveException("malformed tar header (checksum mismatch or garbage): " + e.getMessage());
    }
  }

  private static String kind(TarArchiveEntry e) {
    if (e.isSymbolicLink()) {
      return "symbolic link";
    }
    if (e.isLink()) {
      return "hard link";
    }
    if (e.isCharacterDevice() || e.isBlockDevice()) {
      return "device";
    }
    if (e.isFIFO()) {
      return "FIFO";
    }
    return "special entry";
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

  /**
   * commons-compress ends an archive quietly when the stream simply stops; an npm tarball always
   * carries its end-of-archive block, so a stream that stops before it was cut short.
   */
  private static final class EndCheckingTarInputStream extends TarArchiveInputStream {
    EndCheckingTarInputStream(InputStream in) {
      super(in);
    }

    @Override
    protected byte[] readRecord() throws IOException {
      byte[] record = super.readRecord();
      if (record == null) {
        throw new CorruptArchiveException("archive ends without the end-of-archive block (truncated download?)");
      }
      // Headers only come through here (entry data is read by read()); commons-compress does not
      // verify their checksums when reading, so a damaged header would be parsed as garbage.
      if (!isEOFRecord(record) && !TarUtils.verifyCheckSum(record)) {
        throw new CorruptArchiveException("tar header checksum mismatch");
      }
      return record;
    }
  }

  /** The archive is not a complete, safe npm tarball. */
  static final class CorruptArchiveException extends IOException {
    CorruptArchiveException(String message) {
      super(message);
    }
  }
}
