package io.lorastream.launcher;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.metrics.MetricsConfig;
import io.lorastream.stream.inference.InferenceConfig;
import io.lorastream.stream.rollout.RolloutConfig;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.trainer.TrainerConfig;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashSet;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Every key any lorastream service reads, for the startup check that rejects the rest. It is one
 * set for all services on purpose: a shell or an env file shared by several services may hold
 * another service's keys, and that is no mistake; a key no service knows always is.
 */
final class KnownSettings {
  private static final Pattern TASK_KEY = Pattern.compile("[A-Za-z0-9._-]+?("
      + Pattern.quote(StreamAppConfig.INPUT_SIZE_SUFFIX) + "|" + Pattern.quote(StreamAppConfig.CLASSES_SUFFIX) + "|"
      + Pattern.quote(StreamAppConfig.FEATURE_KIND_SUFFIX) + ")");

  /** A key constant, as opposed to a prefix, a suffix or a default value. */
  private static final Pattern DECLARED_KEY = Pattern.compile(
      "(kafka|registry|topics|trainer|inference|ingest|eval|metrics|rollout)\\.[a-z0-9]+(\\.[a-z0-9]+)*");

  private KnownSettings() {
  }

  /** Keys with a default, plus the declared key constants of each config class (some have none). */
  static Set<String> keys() {
    Set<String> keys = new HashSet<>(CommonConfig.DEFAULTS.keySet());
    keys.addAll(TrainerConfig.DEFAULTS.keySet());
    keys.addAll(InferenceConfig.DEFAULTS.keySet());
    keys.addAll(StreamAppConfig.DEFAULTS.keySet());
    keys.addAll(MetricsConfig.DEFAULTS.keySet());
    keys.addAll(RolloutConfig.DEFAULTS.keySet());
    for (Class<?> c : List.of(CommonConfig.class, TrainerConfig.class, InferenceConfig.class, StreamAppConfig.class,
        MetricsConfig.class, RolloutConfig.class)) {
      for (Field f : c.getFields()) {
        if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
          try {
            String v = (String) f.get(null);
            if (v != null && DECLARED_KEY.matcher(v).matches()) {
              keys.add(v);
            }
          } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
          }
        }
      }
    }
    return keys;
  }

  static Map<String, Function<String, String>> prefixes() {
    Map<String, Function<String, String>> rules = new LinkedHashMap<>();
    rules.put(StreamAppConfig.TASK_PREFIX, rest -> TASK_KEY.matcher(rest).matches() ? null
        : "per-task settings are " + StreamAppConfig.TASK_PREFIX + "<task>{" + StreamAppConfig.INPUT_SIZE_SUFFIX + ","
            + StreamAppConfig.CLASSES_SUFFIX + "," + StreamAppConfig.FEATURE_KIND_SUFFIX + "}");
    rules.putAll(CommonConfig.openPrefixes(StreamsConfig.configDef().names()));
    return rules;
  }

  /** Fails with a {@link io.lorastream.config.ConfigException} on a key no service knows. */
  static LayeredConfig check(LayeredConfig cfg) {
    cfg.rejectUnknownKeys(keys(), prefixes());
    return cfg;
  }
}
