package io.lorastream.trainer;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.ConfigException;
import io.lorastream.config.LayeredConfig;
import io.lorastream.config.SigningKey;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.Scaling;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.RankSchedule;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The trainer's settings ({@code trainer.*}), typed and validated once at startup. Every key has a
 * default in {@link #DEFAULTS}, tuned for the demo (a d=32 MLP fed ~20k examples that should go
 * through the whole 2 → 4 → 8 → 16 growth and publish many versions within a minute); SETTINGS.md
 * explains when to change each one. A bad value fails in {@link #from} with a
 * {@link ConfigException} that names the key, where the value came from and how to fix it. The
 * HMAC key is a secret: it is never part of {@link #toString()}.
 */
public final class TrainerConfig {
  public static final String ADAPTER_ID = "trainer.adapter.id";
  public static final String ID = "trainer.id";
  public static final String BASE = "trainer.base";
  public static final String DEVICE = "trainer.device";
  public static final String MICROBATCH_SIZE = "trainer.microbatch.size";
  public static final String ACCUMULATION_STEPS = "trainer.accumulation.steps";
  public static final String LR = "trainer.lr";
  public static final String ALPHA = "trainer.alpha";
  public static final String SCALING = "trainer.scaling";
  public static final String RANK_SCHEDULE = "trainer.rank.schedule";
  public static final String RANK_MAX = "trainer.rank.max";
  /** Whether rank growth raises alpha so the scale s stays (true), or keeps alpha so s = alpha/r shrinks (false). */
  public static final String GROWTH_KEEPS_SCALE = "trainer.rank.growth.keeps.scale";
  public static final String TARGETS = "trainer.targets";
  public static final String CLIP_NORM = "trainer.clip.norm";
  public static final String L2_LAMBDA = "trainer.l2.lambda";
  public static final String PUBLISH_STEPS = "trainer.publish.steps";
  public static final String PUBLISH_INTERVAL_MS = "trainer.publish.interval.ms";
  /** Least time between two snapshot cuts, whatever {@link #PUBLISH_STEPS} says (0: no bound). */
  public static final String PUBLISH_MIN_INTERVAL_MS = "trainer.publish.min.interval.ms";
  public static final String POLL_TIMEOUT_MS = "trainer.poll.timeout.ms";
  /**
   * {@code true}: a second thread decodes and validates each poll's records ahead of the trainer
   * thread, which trains on earlier ones meanwhile; {@code false}: the trainer thread decodes them.
   * Off by default: on 2 CPU cores with small examples it measured no faster (bench 2); it is for a
   * host whose step is fast enough (a GPU) that decoding holds it back.
   */
  public static final String DECODE_AHEAD = "trainer.decode.ahead";
  public static final String STEPS_AHEAD = "trainer.steps.ahead";
  public static final String FETCH_THREADS = "trainer.fetch.threads";
  public static final String SNAPSHOT_PART_BYTES = "trainer.snapshot.part.bytes";
  public static final String TEXT_MAX_TOKENS = "trainer.text.max.tokens";
  public static final String HMAC_KEY = "trainer.hmac.key";
  public static final String METRICS_INTERVAL_MS = "trainer.metrics.interval.ms";
  public static final String SEED = "trainer.seed";
  public static final String TRANSACTIONAL_ID = "trainer.transactional.id";
  public static final String GROUP_ID = "trainer.group.id";


  public static final Map<String, String> DEFAULTS = Map.ofEntries(
      Map.entry(ADAPTER_ID, CommonConfig.DEFAULT_ADAPTER_ID),
      Map.entry(ID, ""),
      Map.entry(BASE, "base-model.lsbase"),
      Map.entry(DEVICE, "auto"),
      Map.entry(MICROBATCH_SIZE, "16"),
      Map.entry(ACCUMULATION_STEPS, "2"),
      Map.entry(LR, "0.005"),
      Map.entry(ALPHA, "16"),
      Map.entry(SCALING, "standard"),
      Map.entry(RANK_SCHEDULE, "steps:2@0,4@100,8@250,16@400"),
      Map.entry(RANK_MAX, "16"),
      Map.entry(GROWTH_KEEPS_SCALE, "false"),
      Map.entry(TARGETS, ""),
      Map.entry(CLIP_NORM, "1.0"),
      Map.entry(L2_LAMBDA, "0.01"),
      Map.entry(PUBLISH_STEPS, "50"),
      Map.entry(PUBLISH_INTERVAL_MS, "5000"),
      Map.entry(PUBLISH_MIN_INTERVAL_MS, "1000"),
      Map.entry(POLL_TIMEOUT_MS, "100"),
      Map.entry(DECODE_AHEAD, "false"),
      Map.entry(STEPS_AHEAD, "auto"),
      Map.entry(FETCH_THREADS, "0"),
      Map.entry(TEXT_MAX_TOKENS, "0"),
      Map.entry(SNAPSHOT_PART_BYTES, String.valueOf(io.lorastream.kafka.ChunkedValues.DEFAULT_PART_BYTES)),
      Map.entry(HMAC_KEY, ""),
      Map.entry(METRICS_INTERVAL_MS, "5000"),
      Map.entry(SEED, "42"),
      Map.entry(TRANSACTIONAL_ID, ""),
      Map.entry(GROUP_ID, ""));

  private static final Pattern ID_PATTERN = Pattern.compile("[A-Za-z0-9._-]{1,200}");
  private static final Pattern LAYER_PATTERN = Pattern.compile("[A-Za-z0-9_.*-]+");
  private static final Pattern DEVICE_PATTERN = Pattern.compile("auto|cpu|gpu|gpu:\\d+");

  private final String adapterId;
  private final String trainerId;
  private final Path base;
  private final String device;
  private final int microBatchSize;
  private final int accumulationSteps;
  private final double lr;
  private final float alpha;
  private final Scaling scaling;
  private final RankSchedule rankSchedule;
  private final boolean growthKeepsScale;
  private final int rankMax;
  private final List<String> targets;
  private final double clipNorm;
  private final double l2Lambda;
  private final long publishSteps;
  private final long publishIntervalMs;
  private final long publishMinIntervalMs;
  private final long pollTimeoutMs;
  private final boolean decodeAhead;
  private final int fetchThreads;
  private final int stepsAhead;
  private final int snapshotPartBytes;
  private final int textMaxTokens;
  private final byte[] hmacKey;
  private final long metricsIntervalMs;
  private final long seed;
  private final String transactionalId;
  private final String groupId;

  private TrainerConfig(LayeredConfig c) {
    adapterId = string(c, ADAPTER_ID);
    if (!ID_PATTERN.matcher(adapterId).matches()) {
      throw c.invalid(ADAPTER_ID, adapterId, "must be 1-200 characters of letters, digits, '.', '_' or '-'"
          + " (it names the task key and the transactional id)");
    }
    String id = string(c, ID);
    if (id.isEmpty()) {
      id = "trainer-" + adapterId + "-" + ManagementFactory.getRuntimeMXBean().getName().replace('@', '-');
    } else if (!ID_PATTERN.matcher(id).matches()) {
      throw c.invalid(ID, id, "must be 1-200 characters of letters, digits, '.', '_' or '-'");
    }
    trainerId = id;
    String basePath = string(c, BASE);
    if (basePath.isEmpty()) {
      throw c.invalid(BASE, basePath, "must name the base-model file written by `lorastream pretrain`");
    }
    base = Path.of(basePath);
    device = string(c, DEVICE).toLowerCase(java.util.Locale.ROOT);
    if (!DEVICE_PATTERN.matcher(device).matches()) {
      throw c.invalid(DEVICE, device, "must be auto, cpu, gpu or gpu:N");
    }
    microBatchSize = (int) integer(c, MICROBATCH_SIZE, 1, 65_536);
    accumulationSteps = (int) integer(c, ACCUMULATION_STEPS, 1, 1_024);
    lr = real(c, LR, 1e-12, 1.0);
    double a = real(c, ALPHA, 1e-6, 1e6);
    alpha = (float) a;
    scaling = c.has(SCALING) ? c.getEnum(SCALING, Scaling.class) : Scaling.valueOf(DEFAULTS.get(SCALING).toUpperCase(java.util.Locale.ROOT));
    rankMax = (int) integer(c, RANK_MAX, 1, 4_096);
    growthKeepsScale = c.has(GROWTH_KEEPS_SCALE) ? c.getBoolean(GROWTH_KEEPS_SCALE)
        : Boolean.parseBoolean(DEFAULTS.get(GROWTH_KEEPS_SCALE));
    String spec = string(c, RANK_SCHEDULE);
    try {
      rankSchedule = RankSchedule.parse(spec);
    } catch (IllegalArgumentException e) {
      throw c.invalid(RANK_SCHEDULE, spec, e.getMessage());
    }
    int top = highestRank(rankSchedule);
    if (top > rankMax) {
      throw c.invalid(RANK_SCHEDULE, spec, "reaches rank " + top + " but " + RANK_MAX + " is " + rankMax
          + "; lower the schedule or raise " + RANK_MAX);
    }
    String t = string(c, TARGETS);
    targets = t.isEmpty() ? List.of() : Arrays.stream(t.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    for (String layer : targets) {
      if (!LAYER_PATTERN.matcher(layer).matches()) {
        throw c.invalid(TARGETS, t, "layer name '" + layer + "' is not a layer name or glob; give comma-separated"
            + " names or globs such as fc0,head or *.q,*.v, or leave it empty for the model's default");
      }
    }
    if (targets.stream().distinct().count() != targets.size()) {
      throw c.invalid(TARGETS, t, "names a layer twice");
    }
    clipNorm = real(c, CLIP_NORM, 0, 1e9); // 0 disables clipping
    l2Lambda = real(c, L2_LAMBDA, 0, 100);
    publishSteps = integer(c, PUBLISH_STEPS, 1, 1_000_000_000L);
    publishIntervalMs = integer(c, PUBLISH_INTERVAL_MS, 100, 86_400_000L);
    publishMinIntervalMs = integer(c, PUBLISH_MIN_INTERVAL_MS, 0, 86_400_000L);
    pollTimeoutMs = integer(c, POLL_TIMEOUT_MS, 1, 60_000);
    decodeAhead = c.has(DECODE_AHEAD) ? c.getBoolean(DECODE_AHEAD) : Boolean.parseBoolean(DEFAULTS.get(DECODE_AHEAD));
    fetchThreads = (int) integer(c, FETCH_THREADS, 0, 64);
    String ahead = string(c, STEPS_AHEAD).trim().toLowerCase(java.util.Locale.ROOT);
    // -1: auto. 0: steps run inline on the trainer thread.
    if (ahead.equals("auto")) {
      stepsAhead = -1;
    } else if (ahead.matches("\\d{1,2}") && Integer.parseInt(ahead) <= 64) {
      stepsAhead = Integer.parseInt(ahead);
    } else {
      throw c.invalid(STEPS_AHEAD, ahead, "must be auto or a whole number from 0 to 64");
    }
    // Below the broker's and the producer's limits (message.max.bytes / max.message.bytes, max.request.size).
    textMaxTokens = (int) integer(c, TEXT_MAX_TOKENS, 0, 1 << 20); // checked against the base's window at load
    snapshotPartBytes = (int) integer(c, SNAPSHOT_PART_BYTES, 16 * 1024, TrainerClients.MAX_SNAPSHOT_REQUEST_BYTES
        - 64 * 1024);
    metricsIntervalMs = integer(c, METRICS_INTERVAL_MS, 100, 86_400_000L);
    seed = integer(c, SEED, Long.MIN_VALUE, Long.MAX_VALUE);
    hmacKey = SigningKey.fromConfig(c, HMAC_KEY, "every inference consumer (inference.hmac.key)").orElse(null);
    String prefix = CommonConfig.topicPrefix(c); // shared clusters: every group and transactional id under it
    transactionalId = prefix + derivedId(c, TRANSACTIONAL_ID, "lorastream-trainer-" + adapterId);
    groupId = prefix + derivedId(c, GROUP_ID, "lorastream-trainer-" + adapterId);
    // Let the learner's own checks speak with a config key too (they guard invariants we rely on).
    try {
      learnerConfig();
      adapterConfig();
    } catch (IllegalArgumentException e) {
      throw new ConfigException("trainer", "Invalid trainer settings: " + e.getMessage() + ". Fix: adjust the "
          + "trainer.* setting it names.");
    }
  }

  /** Reads and validates every {@code trainer.*} key; a key missing from {@code c} takes its default. */
  public static TrainerConfig from(LayeredConfig c) {
    return new TrainerConfig(c);
  }

  /** Defaults only, with {@code overrides} on top; for tests and programmatic wiring. */
  public static TrainerConfig of(Map<String, String> overrides) {
    return from(LayeredConfig.load(DEFAULTS, null, Map.of(), overrides));
  }

  private static String derivedId(LayeredConfig c, String key, String fallback) {
    String v = string(c, key);
    if (v.isEmpty()) {
      return fallback;
    }
    if (!ID_PATTERN.matcher(v).matches()) {
      throw c.invalid(key, v, "must be 1-200 characters of letters, digits, '.', '_' or '-'");
    }
    return v;
  }

  private static int highestRank(RankSchedule s) {
    if (s instanceof RankSchedule.Fixed f) {
      return f.rank();
    }
    if (s instanceof RankSchedule.Steps st) {
      return st.milestones().values().stream().mapToInt(Integer::intValue).max().orElse(0);
    }
    if (s instanceof RankSchedule.Plateau p) {
      return p.ranks().stream().mapToInt(Integer::intValue).max().orElse(0);
    }
    return s.initialRank();
  }

  private static String string(LayeredConfig c, String key) {
    return c.find(key).orElse(DEFAULTS.getOrDefault(key, "")).trim();
  }

  private static long integer(LayeredConfig c, String key, long min, long max) {
    return c.has(key) ? c.getLong(key, min, max) : Long.parseLong(DEFAULTS.get(key));
  }

  private static double real(LayeredConfig c, String key, double min, double max) {
    return c.has(key) ? c.getDouble(key, min, max) : Double.parseDouble(DEFAULTS.get(key));
  }

  /** The learner's optimizer settings (AdamW betas/eps and loss-EMA decay keep lora-core's defaults). */
  public LearnerConfig learnerConfig() {
    return LearnerConfig.defaults()
        .withLr(lr)
        .withL2Lambda(l2Lambda)
        .withClipNorm(clipNorm)
        .withAccumulationSteps(accumulationSteps)
        .withMicroBatchSize(microBatchSize)
        .withSchedule(rankSchedule)
        .withKeepScaleOnGrowth(growthKeepsScale);
  }

  /** The adapter shape settings; targets are checked against the base model when the trainer starts. */
  public AdapterConfig adapterConfig() {
    return AdapterConfig.defaults()
        .withMaxRank(rankMax)
        .withRank(Math.min(rankSchedule.initialRank(), rankMax))
        .withTargets(targets)
        .withAlpha(alpha)
        .withScaling(scaling)
        .withSeed(seed);
  }

  public String adapterId() {
    return adapterId;
  }

  public String trainerId() {
    return trainerId;
  }

  public Path base() {
    return base;
  }

  public String device() {
    return device;
  }

  public int microBatchSize() {
    return microBatchSize;
  }

  public int accumulationSteps() {
    return accumulationSteps;
  }

  public double lr() {
    return lr;
  }

  public float alpha() {
    return alpha;
  }

  public Scaling scaling() {
    return scaling;
  }

  public RankSchedule rankSchedule() {
    return rankSchedule;
  }

  public int rankMax() {
    return rankMax;
  }

  /** Adapted layer names; empty means every linear layer of the base. */
  public List<String> targets() {
    return targets;
  }

  public double clipNorm() {
    return clipNorm;
  }

  public double l2Lambda() {
    return l2Lambda;
  }

  public long publishSteps() {
    return publishSteps;
  }

  public long publishIntervalMs() {
    return publishIntervalMs;
  }

  /**
   * The least time between two snapshot cuts ({@value #PUBLISH_MIN_INTERVAL_MS}): a cut that falls
   * due sooner waits while training goes on, and then holds everything trained by then. It bounds
   * the snapshot transactions a fast trainer asks of the brokers, and the merges it asks of every
   * inference consumer, at any step rate: at b=16 on 2 cores the trainer cut 14 snapshots a second,
   * and each cost it about 1 % of its rate. Shutdown and superseding a deletion are not held.
   */
  public long publishMinIntervalMs() {
    return publishMinIntervalMs;
  }

  public long pollTimeoutMs() {
    return pollTimeoutMs;
  }

  /** Whether records are decoded on a second thread ahead of training ({@value #DECODE_AHEAD}). */
  public boolean decodeAhead() {
    return decodeAhead;
  }

  /**
   * Threads polling the input ahead of the trainer thread, each with its own consumer over a share
   * of the partitions ({@value #FETCH_THREADS}; 0: the trainer thread polls). See {@link PartitionFetchers}.
   */
  public int fetchThreads() {
    return fetchThreads;
  }

  /** On a CPU, {@code auto} queues steps from micro-batches of this many input floats (64 KiB) up. */
  public static final long CPU_QUEUE_FLOATS = 1L << 14;

  /**
   * Micro-batches the step thread may queue behind the trainer thread ({@value #STEPS_AHEAD}; 0:
   * inline) for a base reading {@code inputWidth} floats per example. {@code auto} is 2 (double
   * buffering) on a GPU, whose step is device time the host can overlap. On a CPU the step and the
   * host share the cores: for small micro-batches a queue only adds a hand-off (b=16 of 64 floats:
   * lower than inline in seven same-run pairs of eight on 2 cores), while from a few hundred
   * examples per micro-batch the host's polling, decoding and packing is long enough that
   * overlapping it with the step pays (b=512 of 64 floats: level or better in nine pairs, 0.72 of
   * memory against 0.67 on average; b=4096 of 1024 floats: 1.6x inline); at b=32-128 the two
   * measured level. So on a CPU {@code auto} is 2 from {@link #CPU_QUEUE_FLOATS} floats per
   * micro-batch up, else 0.
   */
  public int stepsAhead(boolean onGpu, int inputWidth) {
    if (stepsAhead >= 0) {
      return stepsAhead;
    }
    return onGpu || (long) microBatchSize * inputWidth >= CPU_QUEUE_FLOATS ? 2 : 0;
  }

  /** Truncation length of raw-text examples (0: the base's token window). */
  public int textMaxTokens() {
    return textMaxTokens;
  }

  /** Largest snapshot record value; a bigger snapshot is published in parts ({@link io.lorastream.kafka.ChunkedValues}). */
  public int snapshotPartBytes() {
    return snapshotPartBytes;
  }

  /** The HMAC-SHA256 key used to sign snapshots ({@link SigningKey}), if configured. */
  public Optional<byte[]> hmacKey() {
    return Optional.ofNullable(hmacKey == null ? null : hmacKey.clone());
  }

  public long metricsIntervalMs() {
    return metricsIntervalMs;
  }

  public long seed() {
    return seed;
  }

  /**
   * The producer's transactional.id: stable per adapter (not per instance), so a restarted or
   * replacement trainer fences its predecessor and aborts whatever transaction it left open.
   */
  public String transactionalId() {
    return transactionalId;
  }

  /** Consumer group under which input offsets are committed with each snapshot. */
  public String groupId() {
    return groupId;
  }

  @Override
  public String toString() {
    return "TrainerConfig{adapter=" + adapterId + ", id=" + trainerId + ", base=" + base + ", device=" + device
        + ", b=" + microBatchSize + ", k=" + accumulationSteps + ", lr=" + lr + ", alpha=" + alpha
        + ", scaling=" + scaling + ", schedule=" + rankSchedule.toSpec() + ", rankMax=" + rankMax
        + ", targets=" + (targets.isEmpty() ? "all" : targets) + ", clip=" + clipNorm + ", l2=" + l2Lambda
        + ", publish every " + publishSteps + " steps or " + publishIntervalMs + " ms, at most every "
        + publishMinIntervalMs + " ms, signed="
        + (hmacKey != null) + ", transactionalId=" + transactionalId + "}";
  }
}
