package io.lorastream.stream.eval;

/**
 * Names and tags of the {@code PipelineMetric} records the evaluation topology publishes to
 * {@code metrics}, keyed by task. Accuracy metrics come one per (task, phase, serving adapter
 * version, window, model) and carry their raw counts in tags {@link #TAG_COUNT} and
 * {@link #TAG_CORRECT}, so a consumer can re-aggregate exactly (sum counts, never average
 * ratios). A window is re-published while open ({@code final=false}) and once more when it closes
 * ({@code final=true}); the latest record per (name, task, model, phase, version, window) is the
 * truth. Both the adapted and the frozen row of a group describe the very same examples.
 */
public final class EvalMetrics {
  /** Test-then-train accuracy on examples.train; value = correct / count. */
  public static final String PREQUENTIAL_ACCURACY = "eval.prequential.accuracy";
  /** Examples of examples.train whose qualifying adapter version was not known (adapted not scored). */
  public static final String PREQUENTIAL_SKIPPED = "eval.prequential.skipped";
  /** Cumulative count of examples that arrived after their time window had closed (time windows only). */
  public static final String PREQUENTIAL_LATE = "eval.prequential.late";
  /** Cumulative count of examples the models failed to score (e.g. input incompatible with the model). */
  public static final String PREQUENTIAL_ERRORS = "eval.prequential.errors";
  /** Accuracy on the holdout stream examples.eval with the model serving at that moment. */
  public static final String HOLDOUT_ACCURACY = "eval.holdout.accuracy";
  public static final String HOLDOUT_SKIPPED = "eval.holdout.skipped";
  public static final String HOLDOUT_LATE = "eval.holdout.late";
  public static final String HOLDOUT_ERRORS = "eval.holdout.errors";

  /** {@code adapted} or {@code frozen}. */
  public static final String TAG_MODEL = "model";
  public static final String MODEL_ADAPTED = "adapted";
  public static final String MODEL_FROZEN = "frozen";
  /** Serving adapter version of the group (also in PipelineMetric.adapterVersion), or {@code unknown}. */
  public static final String TAG_VERSION = "version";
  public static final String VERSION_UNKNOWN = "unknown";
  /** Value of the example attribute {@link #PHASE_ATTRIBUTE}, empty when absent. */
  public static final String TAG_PHASE = "phase";
  /** Window index: event-time window number, or the task's n-th block of {@code eval.window.examples}. */
  public static final String TAG_WINDOW = "window";
  /** {@code count} or {@code time}. */
  public static final String TAG_WINDOW_KIND = "window.kind";
  public static final String TAG_COUNT = "count";
  public static final String TAG_CORRECT = "correct";
  /** {@code true} once the window is closed and its counts will not change again. */
  public static final String TAG_FINAL = "final";

  /** LabeledExample attribute holding the generator phase. */
  public static final String PHASE_ATTRIBUTE = "phase";

  private EvalMetrics() {
  }
}
