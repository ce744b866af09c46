package io.lorastream.stream.ingest;

import io.lorastream.config.ConfigException;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Typed settings of the stream-app's ingest ({@code ingest.*}) and prequential evaluation
 * ({@code eval.*}) topologies, built once at startup from a {@link LayeredConfig}. Every value is
 * validated here so that a bad deployment fails before any Kafka client starts, with a message
 * that names the key and how to fix it. Task schema expectations come from a default spec
 * ({@code ingest.task.default.*}) that individual tasks may override
 * ({@code ingest.task.<task>.input.size|classes|feature.kind}); {@code ingest.tasks} restricts the
 * accepted tasks ({@code *} accepts every task with the default spec).
 */
public final class StreamAppConfig {
  public static final String INGEST_APPLICATION_ID = "ingest.application.id";
  public static final String INGEST_PROCESSING_GUARANTEE = "ingest.processing.guarantee";
  public static final String INGEST_COMMIT_INTERVAL_MS = "ingest.commit.interval.ms";
  public static final String INGEST_STATE_DIR = "ingest.state.dir";
  public static final String INGEST_THREADS = "ingest.num.stream.threads";
  public static final String INGEST_TASKS = "ingest.tasks";
  public static final String TASK_PREFIX = "ingest.task.";
  public static final String DEFAULT_TASK = "default";
  public static final String INPUT_SIZE_SUFFIX = ".input.size";
  public static final String CLASSES_SUFFIX = ".classes";
  public static final String FEATURE_KIND_SUFFIX = ".feature.kind";
  public static final String MAX_FEATURES = "ingest.max.features";
  public static final String MAX_TOKENS = "ingest.max.tokens";
  public static final String MAX_RECORD_BYTES = "ingest.max.record.bytes";
  public static final String DEDUPE_WINDOW_MS = "ingest.dedupe.window.ms";
  public static final String HOLDOUT_FRACTION = "ingest.holdout.fraction";
  public static final String METRICS_INTERVAL_MS = "ingest.metrics.interval.ms";
  public static final String KEY_MUST_MATCH_ID = "ingest.key.must.match.id";

  public static final String EVAL_APPLICATION_ID = "eval.application.id";
  public static final String EVAL_PROCESSING_GUARANTEE = "eval.processing.guarantee";
  public static final String EVAL_COMMIT_INTERVAL_MS = "eval.commit.interval.ms";
  public static final String EVAL_STATE_DIR = "eval.state.dir";
  public static final String EVAL_WINDOW_KIND = "eval.window.kind";
  public static final String EVAL_WINDOW_EXAMPLES = "eval.window.examples";
  public static final String EVAL_WINDOW_MS = "eval.window.ms";
  public static final String EVAL_WINDOW_GRACE_MS = "eval.window.grace.ms";
  public static final String EVAL_EMIT_INTERVAL_MS = "eval.emit.interval.ms";
  public static final String EVAL_HISTORY_VERSIONS = "eval.history.versions";

  public static final Map<String, String> DEFAULTS = Map.ofEntries(
      Map.entry(INGEST_APPLICATION_ID, "lorastream-ingest"),
      Map.entry(INGEST_PROCESSING_GUARANTEE, "exactly_once_v2"),
      Map.entry(INGEST_COMMIT_INTERVAL_MS, "200"),
      Map.entry(INGEST_STATE_DIR, ""), // empty: <data.dir>/stream-app
      Map.entry(INGEST_THREADS, "1"),
      Map.entry(INGEST_TASKS, "*"),
      Map.entry(TASK_PREFIX + DEFAULT_TASK + INPUT_SIZE_SUFFIX, "32"),
      Map.entry(TASK_PREFIX + DEFAULT_TASK + CLASSES_SUFFIX, "6"),
      Map.entry(TASK_PREFIX + DEFAULT_TASK + FEATURE_KIND_SUFFIX, "dense"),
      Map.entry(MAX_FEATURES, "4096"),
      Map.entry(MAX_TOKENS, "4096"),
      Map.entry(MAX_RECORD_BYTES, String.valueOf(512 * 1024)),
      Map.entry(DEDUPE_WINDOW_MS, String.valueOf(3_600_000L)),
      Map.entry(HOLDOUT_FRACTION, "0.1"),
      Map.entry(METRICS_INTERVAL_MS, "1000"),
      Map.entry(KEY_MUST_MATCH_ID, "true"),
      Map.entry(EVAL_APPLICATION_ID, "lorastream-eval"),
      Map.entry(EVAL_PROCESSING_GUARANTEE, "exactly_once_v2"),
      Map.entry(EVAL_COMMIT_INTERVAL_MS, "200"),
      Map.entry(EVAL_STATE_DIR, ""), // empty: <data.dir>/stream-app
      Map.entry(EVAL_WINDOW_KIND, "count"),
      Map.entry(EVAL_WINDOW_EXAMPLES, "500"),
      Map.entry(EVAL_WINDOW_MS, "10000"),
      Map.entry(EVAL_WINDOW_GRACE_MS, "0"),
      Map.entry(EVAL_EMIT_INTERVAL_MS, "1000"),
      Map.entry(EVAL_HISTORY_VERSIONS, "64"));

  /** Delivery guarantee of a Kafka Streams application. */
  public enum Guarantee {
    EXACTLY_ONCE_V2("exactly_once_v2"), AT_LEAST_ONCE("at_least_once");

    private final String streamsValue;

    Guarantee(String streamsValue) {
      this.streamsValue = streamsValue;
    }

    /** The value of Kafka Streams' {@code processing.guarantee}. */
    public String streamsValue() {
      return streamsValue;
    }
  }

  /** How prequential accuracy windows are cut: every N examples of a task, or by event time. */
  public enum WindowKind { COUNT, TIME }

  /** Settings of the ingest topology and its Kafka Streams application. */
  public record Ingest(String applicationId, Guarantee guarantee, Duration commitInterval, Path stateDir,
      int threads, Optional<Set<String>> knownTasks, TaskSpec defaultTask, Map<String, TaskSpec> taskOverrides,
      int maxFeatures, int maxTokens, int maxRecordBytes, Duration dedupeWindow, double holdoutFraction,
      Duration metricsInterval, boolean keyMustMatchId) {

    /** The spec of {@code task}, or empty when {@code ingest.tasks} does not accept it. */
    public Optional<TaskSpec> taskSpec(String task) {
      if (knownTasks.isPresent() && !knownTasks.get().contains(task)) {
        return Optional.empty();
      }
      return Optional.of(taskOverrides.getOrDefault(task, defaultTask));
    }
  }

  /** Settings of the prequential/holdout evaluation topology. */
  public record Eval(String applicationId, Guarantee guarantee, Duration commitInterval, Path stateDir,
      WindowKind windowKind, int windowExamples, Duration windowSize, Duration windowGrace,
      Duration emitInterval, int historyVersions) {
  }

  private final Ingest ingest;
  private final Eval eval;

  private StreamAppConfig(Ingest ingest, Eval eval) {
    this.ingest = ingest;
    this.eval = eval;
  }

  /** Reads and validates every {@code ingest.*} and {@code eval.*} setting; keys missing from {@code c} must be in {@link #DEFAULTS}. */
  public static StreamAppConfig from(LayeredConfig c) {
    return new StreamAppConfig(ingest(c), eval(c));
  }

  /** The defaults with {@code overrides} on top; for tests and embedded use. */
  public static StreamAppConfig of(Map<String, String> overrides) {
    return from(LayeredConfig.load(DEFAULTS, null, Map.of(), overrides));
  }

  public Ingest ingest() {
    return ingest;
  }

  public Eval eval() {
    return eval;
  }

  private static Ingest ingest(LayeredConfig c) {
    String appId = applicationId(c, INGEST_APPLICATION_ID);
    Guarantee guarantee = guarantee(c, INGEST_PROCESSING_GUARANTEE);
    Optional<Set<String>> known = knownTasks(c);
    Map<String, TaskSpec> specs = taskSpecs(c, known);
    TaskSpec def = specs.remove(DEFAULT_TASK);
    int maxFeatures = c.getInt(MAX_FEATURES, 1, 1 << 24);
    int maxTokens = c.getInt(MAX_TOKENS, 1, 1 << 24);
    for (Map.Entry<String, TaskSpec> e : mergedWithDefault(def, specs).entrySet()) {
      TaskSpec s = e.getValue();
      if (s.featureKind() == TaskSpec.FeatureKind.DENSE && s.inputSize() > maxFeatures) {
        String key = TASK_PREFIX + e.getKey() + INPUT_SIZE_SUFFIX;
        throw new ConfigException(key, "Setting '" + key + "' = " + s.inputSize() + " exceeds " + MAX_FEATURES
            + " = " + maxFeatures + ", so no example of that task could ever be valid. Fix: lower " + key
            + " or raise " + MAX_FEATURES + ".");
      }
    }
    return new Ingest(appId, guarantee,
        Duration.ofMillis(c.getLong(INGEST_COMMIT_INTERVAL_MS, 1, 600_000)),
        stateDir(c, INGEST_STATE_DIR),
        c.getInt(INGEST_THREADS, 1, 64),
        known, def, Map.copyOf(specs), maxFeatures, maxTokens,
        c.getInt(MAX_RECORD_BYTES, 64, 64 * 1024 * 1024),
        Duration.ofMillis(c.getLong(DEDUPE_WINDOW_MS, 1_000, 30L * 24 * 3600 * 1000)),
        c.getDouble(HOLDOUT_FRACTION, 0.0, 0.5),
        Duration.ofMillis(c.getLong(METRICS_INTERVAL_MS, 10, 3_600_000)),
        c.getBoolean(KEY_MUST_MATCH_ID));
  }

  private static Eval eval(LayeredConfig c) {
    return new Eval(applicationId(c, EVAL_APPLICATION_ID), guarantee(c, EVAL_PROCESSING_GUARANTEE),
        Duration.ofMillis(c.getLong(EVAL_COMMIT_INTERVAL_MS, 1, 600_000)),
        stateDir(c, EVAL_STATE_DIR),
        c.getEnum(EVAL_WINDOW_KIND, WindowKind.class),
        c.getInt(EVAL_WINDOW_EXAMPLES, 1, 10_000_000),
        Duration.ofMillis(c.getLong(EVAL_WINDOW_MS, 10, 7L * 24 * 3600 * 1000)),
        Duration.ofMillis(c.getLong(EVAL_WINDOW_GRACE_MS, 0, 24L * 3600 * 1000)),
        Duration.ofMillis(c.getLong(EVAL_EMIT_INTERVAL_MS, 10, 3_600_000)),
        c.getInt(EVAL_HISTORY_VERSIONS, 1, 10_000));
  }

  private static String applicationId(LayeredConfig c, String key) {
    String id = c.get(key);
    if (!id.matches("[A-Za-z0-9._-]+")) {
      throw c.invalid(key, id, "may only contain letters, digits, '.', '_' and '-' (it prefixes internal topic names)");
    }
    return id;
  }

  private static Guarantee guarantee(LayeredConfig c, String key) {
    String raw = c.get(key).toLowerCase(Locale.ROOT);
    for (Guarantee g : Guarantee.values()) {
      if (g.streamsValue().equals(raw)) {
        return g;
      }
    }
    throw c.invalid(key, raw, "must be exactly_once_v2 (the default; required for exact reconciliation) or at_least_once");
  }

  /** {@code key}'s directory, or by default {@code <data.dir>/stream-app} (never a directory shared with other users). */
  private static Path stateDir(LayeredConfig c, String key) {
    String raw = c.find(key).orElse(null);
    if (raw == null) {
      String data = c.get(CommonConfig.DATA_DIR, CommonConfig.DEFAULTS.get(CommonConfig.DATA_DIR));
      try {
        return Path.of(data, "stream-app");
      } catch (RuntimeException e) {
        throw c.invalid(CommonConfig.DATA_DIR, data, "is not a valid directory path");
      }
    }
    try {
      return Path.of(raw);
    } catch (RuntimeException e) {
      throw c.invalid(key, raw, "is not a valid directory path");
    }
  }

  private static Optional<Set<String>> knownTasks(LayeredConfig c) {
    String raw = c.get(INGEST_TASKS);
    if (raw.equals("*")) {
      return Optional.empty();
    }
    Set<String> tasks = new LinkedHashSet<>();
    for (String t : raw.split(",")) {
      String task = t.trim();
      if (task.isEmpty() || task.equals("*")) {
        throw c.invalid(INGEST_TASKS, raw, "must be '*' (any task) or a comma-separated list of task names without empty entries");
      }
      tasks.add(task);
    }
    return Optional.of(Set.copyOf(tasks));
  }

  /** Default spec under key {@link #DEFAULT_TASK} plus one entry per overridden task, fully resolved. */
  private static Map<String, TaskSpec> taskSpecs(LayeredConfig c, Optional<Set<String>> known) {
    Map<String, String> raw = c.withPrefix(TASK_PREFIX);
    Map<String, Map<String, String>> byTask = new TreeMap<>();
    for (Map.Entry<String, String> e : raw.entrySet()) {
      String rest = e.getKey();
      String suffix = List.of(INPUT_SIZE_SUFFIX, CLASSES_SUFFIX, FEATURE_KIND_SUFFIX).stream()
          .filter(s -> rest.endsWith(s) && rest.length() > s.length()).findFirst()
          .orElseThrow(() -> new ConfigException(TASK_PREFIX + rest, "Unknown setting '" + TASK_PREFIX + rest
              + "'. Fix: use " + TASK_PREFIX + "<task>" + INPUT_SIZE_SUFFIX + ", " + TASK_PREFIX + "<task>" + CLASSES_SUFFIX
              + " or " + TASK_PREFIX + "<task>" + FEATURE_KIND_SUFFIX + "."));
      String task = rest.substring(0, rest.length() - suffix.length());
      byTask.computeIfAbsent(task, t -> new TreeMap<>()).put(suffix, e.getValue());
    }
    if (known.isPresent()) {
      for (String task : byTask.keySet()) {
        if (!task.equals(DEFAULT_TASK) && !known.get().contains(task)) {
          String key = TASK_PREFIX + task + byTask.get(task).keySet().iterator().next();
          throw new ConfigException(key, "Setting '" + key + "' configures task '" + task + "', which " + INGEST_TASKS
              + " does not accept. Fix: add '" + task + "' to " + INGEST_TASKS + " or remove the setting.");
        }
      }
    }
    TaskSpec def = spec(c, DEFAULT_TASK, null);
    Map<String, TaskSpec> out = new TreeMap<>();
    out.put(DEFAULT_TASK, def);
    for (String task : byTask.keySet()) {
      if (!task.equals(DEFAULT_TASK)) {
        out.put(task, spec(c, task, def));
      }
    }
    return out;
  }

  private static TaskSpec spec(LayeredConfig c, String task, TaskSpec fallback) {
    String base = TASK_PREFIX + task;
    int input = c.has(base + INPUT_SIZE_SUFFIX) || fallback == null
        ? c.getInt(base + INPUT_SIZE_SUFFIX, 1, 1 << 24) : fallback.inputSize();
    int classes = c.has(base + CLASSES_SUFFIX) || fallback == null
        ? c.getInt(base + CLASSES_SUFFIX, 2, 1 << 20) : fallback.numClasses();
    TaskSpec.FeatureKind kind = c.has(base + FEATURE_KIND_SUFFIX) || fallback == null
        ? c.getEnum(base + FEATURE_KIND_SUFFIX, TaskSpec.FeatureKind.class) : fallback.featureKind();
    return new TaskSpec(input, classes, kind);
  }

  private static Map<String, TaskSpec> mergedWithDefault(TaskSpec def, Map<String, TaskSpec> specs) {
    Map<String, TaskSpec> all = new TreeMap<>(specs);
    all.put(DEFAULT_TASK, def);
    return all;
  }
}
