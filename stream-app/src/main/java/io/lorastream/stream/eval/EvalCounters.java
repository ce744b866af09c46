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

  /** The two counts of one series. */
  private record Tally(LongAdder examples, LongAdder correct) {
    Tally() {
      this(new LongAdder(), new LongAdder());
    }
  }

  private final Map<Key, Tally> tallies = new ConcurrentHashMap<>();

  void scored(String task, String stream, String model, boolean right) {
    Tally t = tallies.computeIfAbsent(new Key(task, stream, model), x -> new Tally());
    t.examples().increment();
    if (right) {
      t.correct().increment();
    }
  }

  /** The series seen so far. */
  public java.util.Set<Key> keys() {
    return java.util.Set.copyOf(tallies.keySet());
  }

  public long examples(Key k) {
    Tally t = tallies.get(k);
    return t == null ? 0 : t.examples().sum();
  }

  public long correct(Key k) {
    Tally t = tallies.get(k);
    return t == null ? 0 : t.correct().sum();
  }
}
