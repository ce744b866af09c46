package io.lorastream.experiment.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

/**
 * Test helper that writes small ustar .tgz archives (like {@code npm pack} does) and fake npm
 * executables, so fetcher tests run without network or a real npm.
 */
final class TarTestFiles {

  /** One archive entry; type '0' file, '5' directory, 'x' pax header, '2' symlink. */
  record Entry(String name, byte[] data, char type) {
    static Entry file(String name, String text) {
      return new Entry(name, text.getBytes(StandardCharsets.UTF_8), '0');
    }
  }

  private TarTestFiles() {}

  /** All files below {@code dir} as entries named {@code prefix/<relative path>}. */
  static List<Entry> entriesOf(Path dir, String prefix) throws IOException {
    List<Entry> out = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
        out.add(new Entry(prefix + "/" + dir.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p), '0'));
      }
    }
    return out;
  }

  /** A pax extended header entry that renames the next entry to {@code path}. */
  static Entry paxPath(String path) {
    String rec = " path=" + path + "\n";
    int len = rec.length() + 1;
    while (String.valueOf(len).length() + rec.length() != len) { // the length counts its own digits
      len++;
    }
    return new Entry("PaxHeader", (len + rec).getBytes(StandardCharsets.UTF_8), 'x');
  }

  static void writeTgz(Path out, List<Entry> entries) throws IOException {
    try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(out))) {
      os.write(tar(entries, true));
    }
  }

  static byte[] tar(List<Entry> entries, boolean endMarker) throws IOException {
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    for (Entry e : entries) {
      tar.write(header(e));
      tar.write(e.data());
      int pad = (512 - e.data().length % 512) % 512;
      tar.write(new byte[pad]);
    }
    if (endMarker) {
      tar.write(new byte[1024]);
    }
    return tar.toByteArray();
  }

  private static byte[] header(Entry e) {
    byte[] h = new byte[512];
    put(h, 0, 100, e.name());
    put(h, 100, 8, "0000644");
    put(h, 108, 8, "0000000");
    put(h, 116, 8, "0000000");
    put(h, 124, 12, String.format("%011o", e.data().length));
    put(h, 136, 12, String.format("%011o", 1_000_000_000L));
    h[156] = (byte) e.type();
    if (e.type() == '2') {
      put(h, 157, 100, "/etc/passwd");
    }
    put(h, 257, 6, "ustar");
    put(h, 263, 2, "00");
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    long sum = 0;
    for (byte b : h) {
      sum += b & 0xFF;
    }
    put(h, 148, 8, String.format("%06o", sum));
    h[154] = 0;
    h[155] = ' ';
    return h;
  }

  private static void put(byte[] h, int off, int len, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length > len) {
      throw new IllegalArgumentException("field too long for a ustar header: " + s);
    }
    System.arraycopy(b, 0, h, off, b.length);
  }

  /** Writes an executable {@code /bin/sh} script. */
  static Path script(Path dir, String name, String body) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }
}
