package io.lorastream.stream.eval;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Process-local running counts of what the evaluation topology scored, per task, stream
 * (prequential or holdout) and model (adapted or frozen): examples and correct predictions. They
 * feed Prometheus counters, from which a dashboard takes accuracy over any range as a ratio of
 * rates. The exact, windowed, replayable figures remain the {@code metrics} topic's records; these
 * counters restart at zero with the process and may count a record twice when Streams reprocesses
 * it after a crash. Thread-safe (every stream thread writes).
 */
public final class EvalCounters {
  /** One counted series. */
  public record Key(String task, String stream, String model) {}

  public static final String PREQUENTIAL = "prequential";
  public static final String HOLDOUT = "holdout";

  private final Map<Key, LongAdder> examples = new ConcurrentHashMap<>();
  private final Map<Key, LongAdder> correct = new ConcurrentHashMap<>();

  void scored(String task, String stream, String model, boolean right) {
    Key k = new Key(task, stream, model);
    examples.computeIfAbsent(k, x -> new LongAdder()).increment();
    LongAdder c = correct.computeIfAbsent(k, x -> new LongAdder());
    if (right) {
      c.increment();
    }
  }

  /** The series seen so far. */
  public java.util.Set<Key> keys() {
    return java.util.Set.copyOf(examples.keySet());
  }

  public long examples(Key k) {
    LongAdder a = examples.get(k);
    return a == null ? 0 : a.sum();
  }

  public long correct(Key k) {
    LongAdder a = correct.get(k);
    return a == null ? 0 : a.sum();
  }
}
