package io.lorastream.lora.adapter;

import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.ModelSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which linear layers get a LoRA adapter and how each is shaped and scaled.
 *
 * <p><b>Initialization.</b> A new adapter starts with {@code A ~ N(0, initStd^2)} (shape r x in)
 * and {@code B = 0} (shape out x r). With B = 0 the product {@code s*B*A} is exactly zero, so a
 * freshly created adapter leaves the base model's function untouched until it learns; A is random
 * (not zero) so that the first gradient step on B is non-zero and the two factors do not stay
 * stuck at the saddle A = B = 0. initStd is kept small so that the rows A contributes have a
 * modest scale; the same std is used for the rows added by rank growth.
 *
 * <p><b>Scaling.</b> {@code STANDARD}: s = alpha/r; {@code RSLORA}: s = alpha/sqrt(r). Both can be
 * overridden per layer, together with a per-layer rank ceiling (e.g. r=16 on key layers, r=4
 * elsewhere: set {@code maxRank=4} overrides on the "elsewhere" layers).
 *
 * @param targets adapted layer names or globs ({@code *.q}); empty means the kind's default
 *     ({@link #defaultTargets}: every linear layer, or Q and V for a transformer)
 * @param rank initial rank when a {@link LoraModel} is created directly; an {@code OnlineLearner}
 *     starts at its {@code RankSchedule#initialRank()} instead
 * @param alpha default LoRA alpha
 * @param scaling default scaling mode
 * @param overrides per-layer overrides (alpha, scaling, rank ceiling); absent fields fall back
 * @param maxRank global rank ceiling (default 16); no layer ever exceeds it
 * @param initStd standard deviation of the Gaussian used for A (and for rows added on growth)
 * @param seed seed for A's initialization and growth rows
 */
public record AdapterConfig(
    List<String> targets,
    int rank,
    float alpha,
    Scaling scaling,
    Map<String, LayerOverride> overrides,
    int maxRank,
    double initStd,
    long seed) {

  /** Default global rank ceiling. */
  public static final int DEFAULT_MAX_RANK = 16;

  /**
   * Per-layer settings; a null field means "use the adapter default".
   *
   * @param maxRank this layer's rank ceiling (its rank under a fixed schedule >= it)
   * @param alpha this layer's alpha
   * @param scaling this layer's scaling mode
   */
  public record LayerOverride(Integer maxRank, Float alpha, Scaling scaling) {
    public LayerOverride {
      if (maxRank != null && maxRank <= 0) {
        throw new IllegalArgumentException("LayerOverride.maxRank must be > 0, got " + maxRank);
      }
      if (alpha != null && !(alpha > 0 && Float.isFinite(alpha))) {
        throw new IllegalArgumentException("LayerOverride.alpha must be finite and > 0, got " + alpha);
      }
    }
  }

  public AdapterConfig {
    targets = List.copyOf(targets == null ? List.of() : targets);
    overrides = Map.copyOf(overrides == null ? Map.of() : overrides);
    if (scaling == null) {
      throw new IllegalArgumentException("AdapterConfig.scaling must be STANDARD or RSLORA");
    }
    if (maxRank <= 0) {
      throw new IllegalArgumentException("AdapterConfig.maxRank must be > 0, got " + maxRank);
    }
    if (rank <= 0 || rank > maxRank) {
      throw new IllegalArgumentException(
          "AdapterConfig.rank must be in [1, maxRank=" + maxRank + "], got " + rank);
    }
    if (!(alpha > 0) || !Float.isFinite(alpha)) {
      throw new IllegalArgumentException("AdapterConfig.alpha must be finite and > 0, got " + alpha);
    }
    if (!(initStd > 0) || !Double.isFinite(initStd)) {
      throw new IllegalArgumentException("AdapterConfig.initStd must be finite and > 0, got " + initStd);
    }
  }

  /** Defaults: all layers, rank 2, alpha 16, STANDARD, maxRank 16, initStd 0.05, seed 42. */
  public static AdapterConfig defaults() {
    return new AdapterConfig(List.of(), 2, 16f, Scaling.STANDARD, Map.of(), DEFAULT_MAX_RANK, 0.05, 42L);
  }

  public AdapterConfig withTargets(List<String> t) {
    return new AdapterConfig(t, rank, alpha, scaling, overrides, maxRank, initStd, seed);
  }

  public AdapterConfig withRank(int r) {
    return new AdapterConfig(targets, r, alpha, scaling, overrides, maxRank, initStd, seed);
  }

  public AdapterConfig withAlpha(float a) {
    return new AdapterConfig(targets, rank, a, scaling, overrides, maxRank, initStd, seed);
  }

  public AdapterConfig withScaling(Scaling s) {
    return new AdapterConfig(targets, rank, alpha, s, overrides, maxRank, initStd, seed);
  }

  public AdapterConfig withMaxRank(int m) {
    return new AdapterConfig(targets, Math.min(rank, m), alpha, scaling, overrides, m, initStd, seed);
  }

  public AdapterConfig withInitStd(double std) {
    return new AdapterConfig(targets, rank, alpha, scaling, overrides, maxRank, std, seed);
  }

  public AdapterConfig withSeed(long s) {
    return new AdapterConfig(targets, rank, alpha, scaling, overrides, maxRank, initStd, s);
  }

  /** Returns a copy with {@code layer}'s override replaced. */
  public AdapterConfig withOverride(String layer, LayerOverride o) {
    Map<String, LayerOverride> m = new LinkedHashMap<>(overrides);
    m.put(layer, o);
    return new AdapterConfig(targets, rank, alpha, scaling, m, maxRank, initStd, seed);
  }

  /** Effective alpha of a layer. */
  public float alphaFor(String layer) {
    LayerOverride o = overrides.get(layer);
    return o != null && o.alpha() != null ? o.alpha() : alpha;
  }

  /** Effective scaling mode of a layer. */
  public Scaling scalingFor(String layer) {
    LayerOverride o = overrides.get(layer);
    return o != null && o.scaling() != null ? o.scaling() : scaling;
  }

  /** Effective rank ceiling of a layer: min(global maxRank, override). */
  public int maxRankFor(String layer) {
    LayerOverride o = overrides.get(layer);
    return o != null && o.maxRank() != null ? Math.min(maxRank, o.maxRank()) : maxRank;
  }

  /**
   * Resolves the adapted layers against a list of adaptable layers. Each target is an exact layer
   * name or a glob where {@code *} matches any characters (e.g. {@code *.q}, {@code l0.*}); every
   * target must match at least one layer. A glob matches linear layers only: the embedding table
   * ({@link ModelSpec#EMBEDDING_LAYER}) multiplies the trainable parameters by about vocab/d, so
   * it is adapted only when named. Empty targets mean every linear layer (the mlp default; use
   * {@link #resolveTargets(ModelSpec)} for the default of each model kind).
   *
   * @throws IllegalArgumentException naming an unknown target or override layer
   */
  public List<LayerInfo> resolveTargets(List<LayerInfo> baseLayers) {
    return resolve(baseLayers, targets.isEmpty() ? List.of("*") : targets);
  }

  /**
   * Resolves the adapted layers of a model kind, in {@link ModelSpec#adaptableLayers()} order. Empty targets mean
   * {@link #defaultTargets(String)} of the kind: every linear layer for mlp and embbag, the
   * attention {@code *.q} and {@code *.v} projections for the transformer (the LoRA paper's choice).
   *
   * @throws IllegalArgumentException naming an unknown target or override layer
   */
  public List<LayerInfo> resolveTargets(ModelSpec spec) {
    return resolve(spec.adaptableLayers(), targets.isEmpty() ? defaultTargets(spec.kind()) : targets);
  }

  /** Targets used when {@link #targets()} is empty: {@code [*]} (all), or {@code [*.q, *.v]} for transformers. */
  public static List<String> defaultTargets(String kind) {
    return ModelSpec.TRANSFORMER.equals(kind) || ModelSpec.BERT.equals(kind) ? List.of("*.q", "*.v") : List.of("*");
  }

  private List<LayerInfo> resolve(List<LayerInfo> baseLayers, List<String> patterns) {
    List<String> names = baseLayers.stream().map(LayerInfo::name).toList();
    for (String t : patterns) {
      if (names.stream().noneMatch(n -> targets(t, n))) {
        throw new IllegalArgumentException("AdapterConfig.targets: " + (t.indexOf('*') < 0 ? "unknown layer '" + t + "'"
            : "pattern '" + t + "' matches no layer") + "; base has " + names);
      }
    }
    for (String t : overrides.keySet()) {
      if (!names.contains(t)) {
        throw new IllegalArgumentException("AdapterConfig.overrides: unknown layer '" + t + "'; base has " + names);
      }
    }
    return baseLayers.stream().filter(l -> patterns.stream().anyMatch(t -> targets(t, l.name()))).toList();
  }

  /** Whether a target selects a layer: a glob never selects the embedding table, only its exact name does. */
  private static boolean targets(String pattern, String layer) {
    return layer.equals(ModelSpec.EMBEDDING_LAYER) ? pattern.equals(layer) : matches(pattern, layer);
  }

  /** Exact name, or a glob where {@code *} matches any (possibly empty) run of characters. */
  static boolean matches(String pattern, String name) {
    if (pattern.indexOf('*') < 0) {
      return pattern.equals(name);
    }
    String[] parts = pattern.split("\\*", -1);
    if (!name.startsWith(parts[0])) {
      return false;
    }
    int pos = parts[0].length();
    for (int i = 1; i < parts.length - 1; i++) {
      int at = name.indexOf(parts[i], pos);
      if (at < 0) {
        return false;
      }
      pos = at + parts[i].length();
    }
    String last = parts[parts.length - 1];
    return name.length() - pos >= last.length() && name.endsWith(last);
  }

  /** LoRA scale s for a rank: alpha/r (STANDARD) or alpha/sqrt(r) (RSLORA). */
  public static double scale(float alpha, Scaling mode, int rank) {
    if (rank <= 0) {
      throw new IllegalArgumentException("rank must be > 0, got " + rank);
    }
    return mode == Scaling.RSLORA ? alpha / Math.sqrt(rank) : (double) alpha / rank;
  }
}
