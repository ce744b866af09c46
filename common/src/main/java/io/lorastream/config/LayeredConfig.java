package io.lorastream.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Configuration assembled in four layers, later ones winning: built-in defaults, an optional
 * properties file, environment variables, then command-line flags. Keys are lower-case and
 * dot-separated ({@code trainer.lr}); the environment spells the same key as
 * {@code LORASTREAM_TRAINER_LR}, with Kafka's convention for the other characters: {@code __} for
 * {@code -} and {@code ___} for {@code _} ({@code LORASTREAM_KAFKA_SASL_JAAS_CONFIG},
 * {@code LORASTREAM_TOPIC_MY__TOPIC}). Keys that no service knows fail at startup
 * ({@link #rejectUnknownKeys}) naming the nearest valid key. Every lookup remembers where its value came from so that a
 * validation error can tell the operator exactly which layer to fix. Services turn this into
 * their own typed config object at startup and fail there, never later.
 */
public final class LayeredConfig {
  public static final String ENV_PREFIX = "LORASTREAM_";
  /** Variables with the prefix that are not settings: the launcher script's JVM options. */
  public static final Set<String> NOT_SETTINGS = Set.of("LORASTREAM_JAVA_OPTS");

  private final Map<String, String> values;
  private final Map<String, String> sources;

  private LayeredConfig(Map<String, String> values, Map<String, String> sources) {
    this.values = values;
    this.sources = sources;
  }

  /**
   * Builds the layered view. {@code env} is usually {@code System.getenv()}; only variables with
   * the {@value #ENV_PREFIX} prefix are read. {@code file} may be null.
   */
  public static LayeredConfig load(Map<String, String> defaults, Path file, Map<String, String> env,
      Map<String, String> cli) {
    Map<String, String> values = new TreeMap<>();
    Map<String, String> sources = new TreeMap<>();
    put(values, sources, defaults, k -> "default");
    if (file != null) {
      put(values, sources, readProperties(file), k -> "file " + file);
    }
    Map<String, String> fromEnv = new LinkedHashMap<>();
    Map<String, String> envNames = new LinkedHashMap<>();
    env.forEach((name, v) -> {
      if (name.startsWith(ENV_PREFIX) && name.length() > ENV_PREFIX.length() && !NOT_SETTINGS.contains(name)) {
        String key = envToKey(name);
        fromEnv.put(key, v);
        envNames.put(key, name);
      }
    });
    put(values, sources, fromEnv, k -> "environment " + envNames.get(k));
    put(values, sources, cli, k -> "command line");
    return new LayeredConfig(values, sources);
  }

  /** Only the given values, all attributed to the command line; handy in tests. */
  public static LayeredConfig of(Map<String, String> values) {
    return load(Map.of(), null, Map.of(), values);
  }

  /** {@code trainer.lr} → {@code LORASTREAM_TRAINER_LR}; {@code -} → {@code __}, {@code _} → {@code ___}. */
  public static String keyToEnv(String key) {
    StringBuilder sb = new StringBuilder(ENV_PREFIX);
    for (char ch : key.toUpperCase(Locale.ROOT).toCharArray()) {
      switch (ch) {
        case '.' -> sb.append('_');
        case '-' -> sb.append("__");
        case '_' -> sb.append("___");
        default -> sb.append(ch);
      }
    }
    return sb.toString();
  }

  /** The inverse of {@link #keyToEnv}: runs of 3 underscores are {@code _}, of 2 {@code -}, of 1 {@code .}. */
  static String envToKey(String envName) {
    String s = envName.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT);
    StringBuilder sb = new StringBuilder(s.length());
    int i = 0;
    while (i < s.length()) {
      if (s.charAt(i) != '_') {
        sb.append(s.charAt(i++));
        continue;
      }
      int run = 0;
      while (i < s.length() && s.charAt(i) == '_') {
        run++;
        i++;
      }
      // Longer runs are read greedily as '_' (3), then '-' (2), then '.' (1).
      sb.append("_".repeat(run / 3));
      run %= 3;
      sb.append(run == 2 ? "-" : run == 1 ? "." : "");
    }
    return sb.toString();
  }

  /**
   * Fails on the first key that a file, the environment or the command line set but no rule
   * knows: not in {@code known}, and not accepted by the rule of an open prefix
   * ({@code kafka.}, {@code registry.}, ...; a rule returns null to accept the rest of the key, or
   * a reason to refuse it). The error names the key, where it came from and the nearest valid
   * key, because a typo silently ignored is a setting silently lost.
   */
  public void rejectUnknownKeys(Set<String> known, Map<String, Function<String, String>> prefixes) {
    for (Map.Entry<String, String> e : sources.entrySet()) {
      String key = e.getKey();
      if (e.getValue().equals("default") || known.contains(key)) {
        continue;
      }
      String problem = "is not a lorastream setting";
      boolean prefixed = false;
      for (Map.Entry<String, Function<String, String>> p : prefixes.entrySet()) {
        if (key.startsWith(p.getKey()) && key.length() > p.getKey().length()) {
          prefixed = true;
          problem = p.getValue().apply(key.substring(p.getKey().length()));
          break;
        }
      }
      if (prefixed && problem == null) {
        continue;
      }
      String nearest = nearest(key, known);
      throw new ConfigException(key, "Unknown setting '" + key + "' (from " + e.getValue() + "): " + problem + "."
          + (nearest == null ? "" : " Did you mean '" + nearest + "'?") + " Fix: correct or remove it; the README's "
          + "Settings section lists every key.");
    }
  }

  /** The known key closest to {@code key} by edit distance, if it is close enough to be a typo. */
  public static String nearest(String key, Set<String> known) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : new TreeSet<>(known)) {
      int d = editDistance(key, k);
      if (d < bestDistance) {
        best = k;
        bestDistance = d;
      }
    }
    return best != null && bestDistance <= Math.max(3, key.length() / 3) ? best : null;
  }

  private static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  public Optional<String> find(String key) {
    String v = values.get(key);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
  }

  public boolean has(String key) {
    return find(key).isPresent();
  }

  public String get(String key) {
    return find(key).orElseThrow(() -> new ConfigException(key,
        "Missing required setting '" + key + "'. Fix: " + howToSet(key) + "."));
  }

  public String get(String key, String fallback) {
    return find(key).orElse(fallback);
  }

  public int getInt(String key, int min, int max) {
    long v = getLong(key, min, max);
    return (int) v;
  }

  public long getLong(String key, long min, long max) {
    String raw = get(key);
    long v;
    try {
      v = Long.parseLong(raw.replace("_", ""));
    } catch (NumberFormatException e) {
      throw invalid(key, raw, "is not a whole number");
    }
    if (v < min || v > max) {
      throw invalid(key, raw, "must be between " + min + " and " + max);
    }
    return v;
  }

  public double getDouble(String key, double min, double max) {
    String raw = get(key);
    double v;
    try {
      v = Double.parseDouble(raw);
    } catch (NumberFormatException e) {
      throw invalid(key, raw, "is not a number");
    }
    if (!Double.isFinite(v) || v < min || v > max) {
      throw invalid(key, raw, "must be a finite number between " + min + " and " + max);
    }
    return v;
  }

  public boolean getBoolean(String key) {
    String raw = get(key).toLowerCase(Locale.ROOT);
    return switch (raw) {
      case "true", "yes", "1", "on" -> true;
      case "false", "no", "0", "off" -> false;
      default -> throw invalid(key, raw, "must be true or false");
    };
  }

  public <E extends Enum<E>> E getEnum(String key, Class<E> type) {
    String raw = get(key);
    for (E e : type.getEnumConstants()) {
      if (e.name().equalsIgnoreCase(raw.replace('-', '_'))) {
        return e;
      }
    }
    throw invalid(key, raw, "must be one of " + java.util.Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT));
  }

  /** Every key under {@code prefix}, with the prefix removed (e.g. {@code kafka.*} pass-through). */
  public Map<String, String> withPrefix(String prefix) {
    Map<String, String> out = new TreeMap<>();
    values.forEach((k, v) -> {
      if (k.startsWith(prefix) && k.length() > prefix.length() && v != null) {
        out.put(k.substring(prefix.length()), v);
      }
    });
    return Collections.unmodifiableMap(out);
  }

  /** Where the current value of {@code key} came from, for messages. */
  public String sourceOf(String key) {
    return sources.getOrDefault(key, "nowhere (unset)");
  }

  /**
   * An error for a value that is present but wrong; names the key, the value, its source and the
   * fix. Values of keys that look secret are never echoed.
   */
  public ConfigException invalid(String key, String raw, String problem) {
    String shown = isSecret(key) ? "<redacted>" : "'" + raw + "'";
    return new ConfigException(key, "Invalid setting '" + key + "' = " + shown + " (from " + sourceOf(key)
        + "): " + problem + ". Fix: " + howToSet(key) + ".");
  }

  public static String howToSet(String key) {
    return "set " + key + " in the properties file, or " + keyToEnv(key) + " in the environment, or the matching command-line flag";
  }

  /** A read-only copy of every value, secrets redacted, for a startup log line. */
  public Map<String, String> redactedView() {
    Map<String, String> out = new TreeMap<>();
    values.forEach((k, v) -> out.put(k, isSecret(k) ? "<redacted>" : v));
    return out;
  }

  public static boolean isSecret(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.contains("password") || k.contains("secret") || k.contains("jaas") || k.contains("user.info")
        || k.endsWith(".key") || k.contains("hmac");
  }

  private static void put(Map<String, String> values, Map<String, String> sources, Map<String, String> layer,
      Function<String, String> source) {
    layer.forEach((k, v) -> {
      if (v != null) {
        values.put(k, v);
        sources.put(k, source.apply(k));
      }
    });
  }

  private static Map<String, String> readProperties(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new ConfigException("config", "Configuration file " + file + " does not exist or is not a file. Fix: pass an existing properties file with --config, or drop the flag.");
    }
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file)) {
      p.load(r);
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigException("config", "Cannot read configuration file " + file + ": " + e.getMessage() + ". Fix: make it a valid Java properties file.");
    }
    Map<String, String> m = new LinkedHashMap<>();
    p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
    return m;
  }
}
