package io.lorastream.experiment;

import java.util.List;
import java.util.Map;

/**
 * Everything one experiment run measured, as written to {@code results.json}: the data, the
 * settings, the pretrained base and one {@link VariantResult} per variant.
 *
 * @param workload workload name
 * @param data facts about the data set (counts, dates, ...)
 * @param settings the run's settings
 * @param base facts about the frozen base (kind, parameters, pretraining accuracy and time, layers)
 * @param produced examples produced to Kafka
 * @param trained examples ingest routed to training (= what every variant was scored on)
 * @param variants per-variant results, in run order
 * @param wallSeconds the whole run
 * @param tuning what was chosen on the pretraining period, or null when the rates ran as given
 */
public record ExperimentResult(String workload, Map<String, Object> data, ExperimentSettings settings,
    Map<String, Object> base, long produced, long trained, List<VariantResult> variants, double wallSeconds,
    PretrainingTuner.Result tuning) {

  public ExperimentResult {
    variants = List.copyOf(variants);
  }

  /** The variant named {@code name}, if it ran. */
  public java.util.Optional<VariantResult> variant(String name) {
    return variants.stream().filter(v -> v.name().equals(name)).findFirst();
  }
}
