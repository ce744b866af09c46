package io.lorastream.stream.eval;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.stream.serving.ModelHistory;
import io.lorastream.stream.serving.ScoringModel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scores each example with the adapted and the frozen model and adds the outcome to a tumbling
 * window tally per (task, phase, serving version). In prequential mode (examples.train) the adapted
 * model is the one {@link ModelHistory#modelFor} proves was not trained on this example's offset;
 * in holdout mode (examples.eval, never trained on) it is simply the model serving now. Windows are
 * cut per task either every {@code eval.window.examples} examples or by example event time; a
 * window's groups are published as final when it closes and provisionally, while open, by a
 * wall-clock punctuator, so a short run still shows its last partial window.
 */
final class EvalProcessor implements Processor<String, LabeledExample, String, PipelineMetric> {
  private static final Logger log = LoggerFactory.getLogger(EvalProcessor.class);

  /** Which stream is evaluated; fixes metric names and how the adapted model is chosen. */
  enum Mode {
    PREQUENTIAL(EvalMetrics.PREQUENTIAL_ACCURACY, EvalMetrics.PREQUENTIAL_SKIPPED, EvalMetrics.PREQUENTIAL_LATE,
        EvalMetrics.PREQUENTIAL_ERRORS),
    HOLDOUT(EvalMetrics.HOLDOUT_ACCURACY, EvalMetrics.HOLDOUT_SKIPPED, EvalMetrics.HOLDOUT_LATE,
        EvalMetrics.HOLDOUT_ERRORS);

    final String accuracy;
    final String skipped;
    final String late;
    final String errors;

    Mode(String accuracy, String skipped, String late, String errors) {
      this.accuracy = accuracy;
      this.skipped = skipped;
      this.late = late;
      this.errors = errors;
    }
  }

  private static final String SEQ = "seq/";
  private static final String STREAM_TIME = "time/";
  private static final String LATE = "late/";
  private static final String ERRORS = "errors/";

  private final Mode mode;
  private final StreamAppConfig.Eval config;
  private final ModelHistory history;
  private final String tallyStoreName;
  private final String progressStoreName;
  private final String sinkName;
  private final EvalCounters counters;
  private ProcessorContext<String, PipelineMetric> context;
  private KeyValueStore<EvalGroup, EvalTally> tallies;
  private KeyValueStore<String, Long> progress;
  private final Set<EvalGroup> dirty = new LinkedHashSet<>();
  private final Set<String> dirtyCounters = new LinkedHashSet<>();
  /** Per task, the time-window boundary below which the store was last cleared (in memory only). */
  private final Map<String, Long> closedBelow = new HashMap<>();

  EvalProcessor(Mode mode, StreamAppConfig.Eval config, ModelHistory history, String tallyStoreName,
      String progressStoreName, String sinkName, EvalCounters counters) {
    this.counters = counters;
    this.mode = mode;
    this.config = config;
    this.history = history;
    this.tallyStoreName = tallyStoreName;
    this.progressStoreName = progressStoreName;
    this.sinkName = sinkName;
  }

  @Override
  public void init(ProcessorContext<String, PipelineMetric> context) {
    this.context = context;
    this.tallies = context.getStateStore(tallyStoreName);
    this.progress = context.getStateStore(progressStoreName);
    // After a restart or rebalance re-announce what the store holds; the values are idempotent.
    try (KeyValueIterator<EvalGroup, EvalTally> it = tallies.all()) {
      it.forEachRemaining(kv -> dirty.add(kv.key));
    }
    try (KeyValueIterator<String, Long> it = progress.all()) {
      it.forEachRemaining(kv -> {
        if (kv.key.startsWith(LATE) || kv.key.startsWith(ERRORS)) {
          dirtyCounters.add(kv.key);
        }
      });
    }
    context.schedule(config.emitInterval(), PunctuationType.WALL_CLOCK_TIME, this::publishOpen);
  }

  @Override
  public void process(Record<String, LabeledExample> record) {
    LabeledExample ex = record.value();
    if (ex == null) {
      return;
    }
    String task = ex.getTask();
    RecordMetadata meta = context.recordMetadata().orElseThrow(
        () -> new IllegalStateException("evaluation needs the input offset of every example"));
    long eventTime = ex.getEventTime() == null ? record.timestamp() : ex.getEventTime().toEpochMilli();
    String phase = ex.getAttributes() == null ? "" : ex.getAttributes().getOrDefault(EvalMetrics.PHASE_ATTRIBUTE, "");

    Optional<ScoringModel> adapted = mode == Mode.PREQUENTIAL
        ? history.modelFor(task, meta.partition(), meta.offset())
        : Optional.of(history.current(task));
    boolean frozenRight;
    boolean adaptedRight;
    try {
      int label = ex.getLabel();
      frozenRight = history.frozen().predict(ex) == label;
      adaptedRight = adapted.isPresent()
          && (adapted.get().version() == 0 ? frozenRight : adapted.get().predict(ex) == label);
    } catch (RuntimeException e) {
      log.warn("cannot score example {} of task {} at {}-{}@{}: {}", ex.getId(), task, meta.topic(), meta.partition(),
          meta.offset(), e.toString());
      incrementCounter(ERRORS + task);
      return;
    }
    String stream = mode == Mode.PREQUENTIAL ? EvalCounters.PREQUENTIAL : EvalCounters.HOLDOUT;
    counters.scored(task, stream, EvalMetrics.MODEL_FROZEN, frozenRight);
    if (adapted.isPresent()) {
      counters.scored(task, stream, EvalMetrics.MODEL_ADAPTED, adaptedRight);
    }
    long window = assignWindow(task, eventTime);
    if (window < 0) {
      incrementCounter(LATE + task);
      return;
    }
    EvalGroup group = new EvalGroup(task, phase, adapted.map(ScoringModel::version).orElse(EvalGroup.UNKNOWN_VERSION), window);
    EvalTally t = tallies.get(group);
    tallies.put(group, (t == null ? EvalTally.EMPTY : t).plus(adaptedRight, frozenRight, eventTime));
    dirty.add(group);
    if (config.windowKind() == StreamAppConfig.WindowKind.COUNT) {
      long seq = progress.get(SEQ + task);
      if (seq % config.windowExamples() == 0) {
        closeWindows(task, window + 1);
      }
    } else {
      long openFrom = firstOpenTimeWindow(task);
      // Scanning the store on every record would be wasteful; only a moved boundary can close anything.
      Long last = closedBelow.get(task);
      if (last == null || openFrom > last) {
        closeWindows(task, openFrom);
        closedBelow.put(task, openFrom);
      }
    }
  }

  /**
   * Window index of an example, or -1 when it is late (its event-time window already closed).
   * Count windows number the task's examples in arrival order; time windows tumble over event time.
   */
  private long assignWindow(String task, long eventTime) {
    if (config.windowKind() == StreamAppConfig.WindowKind.COUNT) {
      Long seen = progress.get(SEQ + task);
      long n = seen == null ? 0 : seen;
      progress.put(SEQ + task, n + 1);
      return n / config.windowExamples();
    }
    long window = Math.floorDiv(eventTime, config.windowSize().toMillis());
    if (window < firstOpenTimeWindow(task)) {
      return -1;
    }
    Long streamTime = progress.get(STREAM_TIME + task);
    if (streamTime == null || eventTime > streamTime) {
      progress.put(STREAM_TIME + task, eventTime);
    }
    return window;
  }

  /** Lowest time window of {@code task} still open: windows ending at or before stream time minus grace are closed. */
  private long firstOpenTimeWindow(String task) {
    Long streamTime = progress.get(STREAM_TIME + task);
    if (streamTime == null) {
      return Long.MIN_VALUE;
    }
    long size = config.windowSize().toMillis();
    long closedBefore = streamTime - config.windowGrace().toMillis();
    // Window w covers [w*size, (w+1)*size); it is closed once (w+1)*size <= closedBefore.
    return Math.floorDiv(closedBefore, size);
  }

  /** Publishes as final, and forgets, every group of {@code task} whose window is below {@code openFrom}. */
  private void closeWindows(String task, long openFrom) {
    List<KeyValue<EvalGroup, EvalTally>> closing = new ArrayList<>();
    try (KeyValueIterator<EvalGroup, EvalTally> it = tallies.all()) {
      while (it.hasNext()) {
        KeyValue<EvalGroup, EvalTally> kv = it.next();
        if (kv.key.task().equals(task) && kv.key.window() < openFrom) {
          closing.add(kv);
        }
      }
    }
    for (KeyValue<EvalGroup, EvalTally> kv : closing) {
      emit(kv.key, kv.value, true, context.currentSystemTimeMs());
      tallies.delete(kv.key);
      dirty.remove(kv.key);
    }
  }

  private void publishOpen(long now) {
    for (EvalGroup g : dirty) {
      EvalTally t = tallies.get(g);
      if (t != null) {
        emit(g, t, false, now);
      }
    }
    dirty.clear();
    for (String key : dirtyCounters) {
      Long v = progress.get(key);
      boolean late = key.startsWith(LATE);
      String task = key.substring(late ? LATE.length() : ERRORS.length());
      context.forward(new Record<>(task, metric(late ? mode.late : mode.errors, task, v == null ? 0 : v, null, null, null,
          Map.of(), now), now), sinkName);
    }
    dirtyCounters.clear();
  }

  private void emit(EvalGroup g, EvalTally t, boolean isFinal, long now) {
    boolean known = g.version() != EvalGroup.UNKNOWN_VERSION;
    Instant start;
    Instant end;
    if (config.windowKind() == StreamAppConfig.WindowKind.TIME) {
      long size = config.windowSize().toMillis();
      start = Instant.ofEpochMilli(g.window() * size);
      end = Instant.ofEpochMilli(g.window() * size + size);
    } else {
      start = Instant.ofEpochMilli(t.minEventTime());
      end = Instant.ofEpochMilli(t.maxEventTime());
    }
    Map<String, String> common = new HashMap<>();
    common.put(EvalMetrics.TAG_PHASE, g.phase());
    common.put(EvalMetrics.TAG_VERSION, known ? String.valueOf(g.version()) : EvalMetrics.VERSION_UNKNOWN);
    common.put(EvalMetrics.TAG_WINDOW, String.valueOf(g.window()));
    common.put(EvalMetrics.TAG_WINDOW_KIND, config.windowKind().name().toLowerCase(java.util.Locale.ROOT));
    common.put(EvalMetrics.TAG_COUNT, String.valueOf(t.count()));
    common.put(EvalMetrics.TAG_FINAL, String.valueOf(isFinal));
    Long version = known ? g.version() : null;
    if (known) {
      Map<String, String> tags = new HashMap<>(common);
      tags.put(EvalMetrics.TAG_MODEL, EvalMetrics.MODEL_ADAPTED);
      tags.put(EvalMetrics.TAG_CORRECT, String.valueOf(t.adaptedCorrect()));
      context.forward(new Record<>(g.task(), metric(mode.accuracy, g.task(), t.adaptedAccuracy(), version, start, end,
          tags, now), now), sinkName);
    } else {
      context.forward(new Record<>(g.task(), metric(mode.skipped, g.task(), t.count(), null, start, end, common, now), now),
          sinkName);
    }
    Map<String, String> tags = new HashMap<>(common);
    tags.put(EvalMetrics.TAG_MODEL, EvalMetrics.MODEL_FROZEN);
    tags.put(EvalMetrics.TAG_CORRECT, String.valueOf(t.frozenCorrect()));
    context.forward(new Record<>(g.task(), metric(mode.accuracy, g.task(), t.frozenAccuracy(), version, start, end,
        tags, now), now), sinkName);
  }

  private PipelineMetric metric(String name, String task, double value, Long version, Instant start, Instant end,
      Map<String, String> tags, long now) {
    return PipelineMetric.newBuilder()
        .setName(name)
        .setTask(task)
        .setValue(value)
        .setAdapterVersion(version)
        .setWindowStart(start)
        .setWindowEnd(end)
        .setTags(tags)
        .setService(context.applicationId())
        .setTimestamp(Instant.ofEpochMilli(now))
        .build();
  }

  private void incrementCounter(String key) {
    Long v = progress.get(key);
    progress.put(key, v == null ? 1 : v + 1);
    dirtyCounters.add(key);
  }
}
