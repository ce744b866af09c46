package io.lorastream.stream.inference;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.config.SigningKey;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.avro.RolloutMode;
import io.lorastream.stream.rollout.RolloutConfig;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Typed settings of one inference consumer ({@code inference.*}), built and validated once at
 * startup from a {@link LayeredConfig}, so that a bad deployment fails before any Kafka client or
 * model is created, with a message naming the key and the fix. The HMAC key is a secret: it is
 * never printed, and {@link #toString()} redacts it.
 *
 * <p>Several consumers may share one {@code inference.application.id}: they then form one Kafka
 * Streams group that splits the request partitions between them (replicas), while each runs its
 * own adapter subscriber and so independently reaches every adapter version. Give each replica
 * its own {@code inference.consumer.id} so that predictions say who served them.
 */
public final class InferenceConfig {
  public static final String ADAPTER_ID = "inference.adapter.id";
  public static final String BASE_PATH = "inference.base.path";
  public static final String DEVICE = "inference.device";
  /** {@code auto|java|djl}: what merges and serves adapter versions (see {@link ServingEngine}). */
  public static final String ENGINE = "inference.engine";
  public static final String CONSUMER_ID = "inference.consumer.id";
  public static final String APPLICATION_ID = "inference.application.id";
  public static final String HMAC_KEY = "inference.hmac.key";
  public static final String FETCH_MAX_WAIT_MS = "inference.fetch.max.wait.ms";
  public static final String POLL_TIMEOUT_MS = "inference.poll.timeout.ms";
  public static final String HISTORY_SIZE = "inference.history.size";
  public static final String THREADS = "inference.num.stream.threads";
  public static final String COMMIT_INTERVAL_MS = "inference.commit.interval.ms";
  public static final String STATE_DIR = "inference.state.dir";
  public static final String STARTUP_CATCHUP_MS = "inference.startup.catchup.ms";
  public static final String METRICS_INTERVAL_MS = "inference.metrics.interval.ms";
  /** {@code answer}: a request for a task this consumer does not serve gets an error; {@code ignore}: no answer. */
  public static final String UNKNOWN_TASK = "inference.unknown.task";
  /**
   * MiB of merged adapter versions a consumer keeps; past it the least recently used are kept as A
   * and B only and merged again on their next request. 0: no bound.
   */
  public static final String MERGED_BUDGET_MB = "inference.merged.budget.mb";
  /** Truncation length of raw-text requests; 0 means the base's token window. */
  public static final String TEXT_MAX_TOKENS = "inference.text.max.tokens";


  public static final Map<String, String> DEFAULTS = Map.ofEntries(
      Map.entry(ADAPTER_ID, CommonConfig.DEFAULT_ADAPTER_ID),
      Map.entry(DEVICE, "cpu"),
      Map.entry(ENGINE, "auto"),
      Map.entry(APPLICATION_ID, "lorastream-inference"),
      Map.entry(FETCH_MAX_WAIT_MS, "5"),
      Map.entry(POLL_TIMEOUT_MS, "100"),
      Map.entry(HISTORY_SIZE, "32"),
      Map.entry(THREADS, "1"),
      Map.entry(COMMIT_INTERVAL_MS, "100"),
      Map.entry(STARTUP_CATCHUP_MS, "15000"),
      Map.entry(METRICS_INTERVAL_MS, "1000"),
      Map.entry(UNKNOWN_TASK, "answer"),
      Map.entry(TEXT_MAX_TOKENS, "0"),
      Map.entry(MERGED_BUDGET_MB, "1024"),
      Map.entry(STATE_DIR, "")); // empty: <data.dir>/inference-<consumer.id>

  private final String adapterId;
  private final Path basePath; // null: the caller supplies an already loaded base
  private final String device;
  private final String engine;
  private final String consumerId;
  private final String applicationId;
  private final byte[] hmacKey;
  private final int fetchMaxWaitMs;
  private final Duration pollTimeout;
  private final int historySize;
  private final int threads;
  private final Duration commitInterval;
  private final Path stateDir;
  private final Duration startupCatchUp;
  private final Duration metricsInterval;
  private final boolean answerUnknownTasks;
  private final int textMaxTokens;
  private final RolloutMode rolloutMode;
  private final long mergedBudgetBytes;

  private InferenceConfig(LayeredConfig c) {
    this.adapterId = adapterId(c);
    this.basePath = c.has(BASE_PATH) ? basePath(c) : null;
    this.device = device(c);
    this.engine = c.get(ENGINE).trim().toLowerCase(Locale.ROOT);
    if (!ServingEngine.NAMES.contains(engine)) {
      throw c.invalid(ENGINE, engine, "must be auto (djl on a GPU or for bases of " + ServingEngine.AUTO_DJL_PARAMETERS
          + "+ parameters, else java), java (host loops) or djl (the DJL forward on inference.device)");
    }
    this.consumerId = c.has(CONSUMER_ID)
        ? name(c, CONSUMER_ID, "a short name such as inference-1")
        : "inference-" + ProcessHandle.current().pid();
    this.applicationId = name(c, APPLICATION_ID, "e.g. lorastream-inference");
    this.hmacKey = SigningKey.fromConfig(c, HMAC_KEY, "the trainer (trainer.hmac.key)").orElse(null);
    this.fetchMaxWaitMs = c.getInt(FETCH_MAX_WAIT_MS, 0, 500);
    this.pollTimeout = Duration.ofMillis(c.getLong(POLL_TIMEOUT_MS, 1, 10_000));
    this.historySize = c.getInt(HISTORY_SIZE, 1, 10_000);
    this.threads = c.getInt(THREADS, 1, 64);
    this.commitInterval = Duration.ofMillis(c.getLong(COMMIT_INTERVAL_MS, 1, 600_000));
    this.stateDir = c.has(STATE_DIR) ? path(c, STATE_DIR) : defaultStateDir(c, consumerId);
    this.startupCatchUp = Duration.ofMillis(c.getLong(STARTUP_CATCHUP_MS, 0, 600_000));
    this.metricsInterval = Duration.ofMillis(c.getLong(METRICS_INTERVAL_MS, 0, 3_600_000));
    String unknown = c.get(UNKNOWN_TASK).toLowerCase(Locale.ROOT);
    if (!unknown.equals("answer") && !unknown.equals("ignore")) {
      throw c.invalid(UNKNOWN_TASK, unknown, "must be answer (an error prediction) or ignore (where several inference "
          + "applications share inference.requests, each serving its own adapter)");
    }
    this.answerUnknownTasks = unknown.equals("answer");
    this.textMaxTokens = c.getInt(TEXT_MAX_TOKENS, 0, 1 << 20); // checked against the base's window at start
    this.rolloutMode = RolloutConfig.mode(c);
    this.mergedBudgetBytes = c.getLong(MERGED_BUDGET_MB, 0, 1L << 30) * 1024 * 1024;
  }

  /** Bytes of merged versions to keep merged (0: no bound). */
  public long mergedBudgetBytes() {
    return mergedBudgetBytes;
  }

  /** What to serve for an adapter before the rollout controller has written its state ({@code rollout.mode}). */
  public RolloutMode rolloutMode() {
    return rolloutMode;
  }

  /** Truncation length of raw-text requests (0: the base's token window). */
  public int textMaxTokens() {
    return textMaxTokens;
  }

  /** Whether a request for a task this consumer does not serve gets an error answer. */
  public boolean answerUnknownTasks() {
    return answerUnknownTasks;
  }

  /** Reads and validates every {@code inference.*} setting; keys missing from {@code c} must be in {@link #DEFAULTS}. */
  public static InferenceConfig from(LayeredConfig c) {
    return new InferenceConfig(c);
  }

  /** The defaults with {@code overrides} on top; for tests and embedded use. */
  public static InferenceConfig of(Map<String, String> overrides) {
    return from(LayeredConfig.load(DEFAULTS, null, Map.of(), overrides));
  }

  /**
   * Adapter this consumer serves; requests for another task are skipped and counted. {@code *}
   * serves every adapter on the topic, each request by the adapter named by its task.
   */
  public String adapterId() {
    return adapterId;
  }

  /**
   * Base-model file (written by {@code lorastream pretrain}); validated to exist when set. Empty
   * when the embedding process (the demo) hands the service an already loaded base instead.
   */
  public Optional<Path> basePath() {
    return Optional.ofNullable(basePath);
  }

  /** DJL device name for loading the base: auto, cpu, gpu or gpu:N. */
  public String device() {
    return device;
  }

  /** The serving-engine setting: auto, java or djl; resolved against the loaded base by {@link #engine(BaseModel)}. */
  public String engine() {
    return engine;
  }

  /** The serving engine for {@code base}. */
  public ServingEngine engine(BaseModel base) {
    return ServingEngine.choose(engine, base);
  }

  public String consumerId() {
    return consumerId;
  }

  public String applicationId() {
    return applicationId;
  }

  /** The shared snapshot-signing key, or empty when snapshots are not authenticated. */
  public Optional<byte[]> hmacKey() {
    return Optional.ofNullable(hmacKey).map(byte[]::clone);
  }

  /** How long the broker may hold an empty fetch of {@code adapters}; bounds rollout latency. */
  public int fetchMaxWaitMs() {
    return fetchMaxWaitMs;
  }

  /** Upper bound of one poll of the adapter subscriber (data returns earlier). */
  public Duration pollTimeout() {
    return pollTimeout;
  }

  /** How many recent serving models the subscriber keeps for {@code modelFor(partition, offset)}. */
  public int historySize() {
    return historySize;
  }

  public int threads() {
    return threads;
  }

  public Duration commitInterval() {
    return commitInterval;
  }

  /** Kafka Streams state directory root; each consumer uses its own sub-directory. */
  public Path stateDir() {
    return stateDir;
  }

  /**
   * How long the service waits at startup for its subscriber to replay the adapters committed so
   * far before it answers requests (so a restart does not briefly serve an old version); on
   * timeout it starts anyway with whatever version it has.
   */
  public Duration startupCatchUp() {
    return startupCatchUp;
  }

  /** How often counters go to the {@code metrics} topic; zero disables publishing. */
  public Duration metricsInterval() {
    return metricsInterval;
  }

  private static String adapterId(LayeredConfig c) {
    String v = c.get(ADAPTER_ID);
    if (v.length() > 200 || !v.codePoints().allMatch(cp -> cp > ' ' && !Character.isISOControl(cp))) {
      throw c.invalid(ADAPTER_ID, v, "must be the adapter (task) id the trainer publishes, without spaces, or * for every adapter");
    }
    return v;
  }

  private static String name(LayeredConfig c, String key, String example) {
    String v = c.get(key);
    if (!v.matches("[A-Za-z0-9._-]{1,200}")) {
      throw c.invalid(key, v, "may only contain letters, digits, '.', '_' and '-' (" + example + ")");
    }
    return v;
  }

  private static Path basePath(LayeredConfig c) {
    Path p = path(c, BASE_PATH);
    if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
      throw c.invalid(BASE_PATH, p.toString(), "is not a readable base-model file; run `lorastream pretrain` to create one"
          + " or point it at the file the trainer uses");
    }
    return p;
  }

  /** {@code <data.dir>/inference-<consumer.id>}: each consumer of a host keeps its own stores. */
  private static Path defaultStateDir(LayeredConfig c, String consumerId) {
    String data = c.get(CommonConfig.DATA_DIR,
        CommonConfig.DEFAULTS.get(CommonConfig.DATA_DIR));
    try {
      return Path.of(data, "inference-" + consumerId);
    } catch (InvalidPathException e) {
      throw c.invalid(CommonConfig.DATA_DIR, data, "is not a valid directory path");
    }
  }

  private static Path path(LayeredConfig c, String key) {
    String raw = c.get(key);
    try {
      return Path.of(raw);
    } catch (InvalidPathException e) {
      throw c.invalid(key, raw, "is not a valid path");
    }
  }

  private static String device(LayeredConfig c) {
    String v = c.get(DEVICE).toLowerCase(Locale.ROOT);
    if (!v.matches("auto|cpu|gpu|gpu:\\d+")) {
      throw c.invalid(DEVICE, v, "must be auto, cpu, gpu or gpu:N");
    }
    return v;
  }

  @Override
  public String toString() {
    return "InferenceConfig{adapterId=" + adapterId + ", basePath=" + basePath + ", device=" + device + ", engine=" + engine
        + ", consumerId=" + consumerId + ", applicationId=" + applicationId
        + ", hmacKey=" + (hmacKey == null ? "none" : "<redacted>") + ", fetchMaxWaitMs=" + fetchMaxWaitMs
        + ", pollTimeout=" + pollTimeout + ", historySize=" + historySize + ", threads=" + threads + "}";
  }
}
