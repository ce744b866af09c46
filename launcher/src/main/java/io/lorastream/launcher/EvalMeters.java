package io.lorastream.launcher;

import io.lorastream.stream.eval.EvalCounters;
import io.lorastream.stream.eval.EvalService;
import io.micrometer.core.instrument.FunctionCounter;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Prometheus counters of the evaluation app: examples scored and correct predictions per task
 * ({@code adapter}), stream (prequential or holdout) and model (adapted or frozen), so a dashboard
 * shows accuracy over any range as a ratio of rates and the frozen base beside the adapter. Series
 * for a task appear once the evaluator scored its first example (the sampler registers them).
 */
final class EvalMeters {
  private EvalMeters() {
  }

  static void bind(ServiceMetrics m, EvalService eval) {
    EvalCounters counters = eval.counters();
    Set<EvalCounters.Key> registered = ConcurrentHashMap.newKeySet();
    m.everySecond(() -> {
      for (EvalCounters.Key k : counters.keys()) {
        if (registered.add(k)) {
          FunctionCounter.builder("lorastream.eval.examples", counters, c -> c.examples(k))
              .description("Examples the evaluator scored, by stream (prequential: examples.train before training;"
                  + " holdout: examples.eval) and model (adapted: the version serving then; frozen: the base)")
              .tags("adapter", k.task(), "stream", k.stream(), "model", k.model()).register(m.registry());
          FunctionCounter.builder("lorastream.eval.correct", counters, c -> c.correct(k))
              .description("Of those, the examples the model predicted right")
              .tags("adapter", k.task(), "stream", k.stream(), "model", k.model()).register(m.registry());
        }
      }
    });
  }
}
