package io.lorastream.experiment.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarGzExtractorTest {

  @TempDir Path dir;

  @Test
  void extractsFilesDirectoriesAndPaxLongNames() throws Exception {
    String longName = "package/data/" + "x".repeat(120) + ".json";
    Path tgz = dir.resolve("ok.tgz");
    TarTestFiles.writeTgz(tgz, List.of(
        new TarTestFiles.Entry("package/", new byte[0], '5'),
        TarTestFiles.Entry.file("package/package.json", "{\"name\":\"x\"}"),
        TarTestFiles.paxPath(longName),
        TarTestFiles.Entry.file("package/data/truncated-name", "long"),
        TarTestFiles.Entry.file("package/data/big.txt", "y".repeat(1500))));
    Path out = dir.resolve("out");
    assertThat(TarGzExtractor.extract(tgz, out)).isEqualTo(3);
    assertThat(Files.readString(out.resolve("package/package.json"))).isEqualTo("{\"name\":\"x\"}");
    assertThat(Files.readString(out.resolve(longName))).isEqualTo("long");
    assertThat(Files.exists(out.resolve("package/data/truncated-name"))).isFalse();
    assertThat(Files.readString(out.resolve("package/data/big.txt"))).hasSize(1500);
  }

  @Test
  void refusesPathTraversalAndAbsoluteEntries() throws Exception {
    String absolute = dir.resolve("abs-evil.txt").toAbsolutePath().toString();
    for (String evil : List.of("package/../../evil.txt", "../evil.txt", absolute, "package/a/../../../evil.txt")) {
      Path tgz = dir.resolve("evil.tgz");
      TarTestFiles.writeTgz(tgz, List.of(
          TarTestFiles.Entry.file("package/ok.txt", "fine"),
          TarTestFiles.Entry.file(evil, "pwned")));
      Path out = dir.resolve("out-" + Math.abs(evil.hashCode()));
      assertThatThrownBy(() -> TarGzExtractor.extract(tgz, out))
          .isInstanceOf(TarGzExtractor.CorruptArchiveException.class)
          .hasMessageContaining(evil).hasMessageContaining("refused");
      assertThat(Files.exists(dir.resolve("evil.txt"))).isFalse(); // where every relative variant would land
      assertThat(Files.exists(Path.of(absolute))).isFalse();
    }
  }

  @Test
  void refusesLinks() throws Exception {
    Path tgz = dir.resolve("link.tgz");
    TarTestFiles.writeTgz(tgz, List.of(new TarTestFiles.Entry("package/passwd", new byte[0], '2')));
    assertThatThrownBy(() -> TarGzExtractor.extract(tgz, dir.resolve("out")))
        .isInstanceOf(TarGzExtractor.CorruptArchiveException.class).hasMessageContaining("links");
  }

  @Test
  void detectsTruncationBadChecksumsAndNonGzipInput() throws Exception {
    byte[] tar = TarTestFiles.tar(List.of(TarTestFiles.Entry.file("package/a.txt", "z".repeat(2000))), true);

    Path truncated = dir.resolve("truncated.tgz");
    writeGz(truncated, Arrays.copyOf(tar, 1024));
    assertThatThrownBy(() -> TarGzExtractor.extract(truncated, dir.resolve("o1")))
        .isInstanceOf(TarGzExtractor.CorruptArchiveException.class).hasMessageContaining("truncated");

    Path noEnd = dir.resolve("noend.tgz");
    writeGz(noEnd, TarTestFiles.tar(List.of(TarTestFiles.Entry.file("package/a.txt", "z")), false));
    assertThatThrownBy(() -> TarGzExtractor.extract(noEnd, dir.resolve("o2")))
        .isInstanceOf(TarGzExtractor.CorruptArchiveException.class).hasMessageContaining("end-of-archive");

    byte[] badSum = tar.clone();
    badSum[0] = 'q';
    Path bad = dir.resolve("badsum.tgz");
    writeGz(bad, badSum);
    assertThatThrownBy(() -> TarGzExtractor.extract(bad, dir.resolve("o3")))
        .isInstanceOf(TarGzExtractor.CorruptArchiveException.class).hasMessageContaining("checksum");

    Path notGzip = dir.resolve("plain.tgz");
    Files.writeString(notGzip, "<html>registry error page</html>", StandardCharsets.UTF_8);
    assertThatThrownBy(() -> TarGzExtractor.extract(notGzip, dir.resolve("o4")))
        .isInstanceOf(TarGzExtractor.CorruptArchiveException.class).hasMessageContaining("gzip");
  }

  private static void writeGz(Path p, byte[] data) throws Exception {
    try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(p))) {
      os.write(data);
    }
  }
}
