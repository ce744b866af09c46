package io.lorastream.pipeline;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.inference.InferenceConfig;
import io.lorastream.stream.rollout.RolloutConfig;
import io.lorastream.stream.control.RolloutController;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.stream.ingest.IngestService;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.trainer.AdapterTrainer;
import io.lorastream.trainer.FaultInjector;
import io.lorastream.trainer.TrainerConfig;
import io.lorastream.trainer.TrainerListener;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.admin.Admin;

/**
 * The pipeline's services wired in one process on one cluster, the way the demo, the experiment
 * harness, the benchmarks and the integration tests all run them. Settings are layered exactly as
 * a deployment layers them (every service's defaults, then the environment if asked, then the
 * cluster's addresses, an optional topic prefix and the caller's overrides), so an in-process run
 * exercises the real defaults; {@link #with} derives the settings of one more service or variant.
 * Nothing connects until a method creates topics or starts a service.
 */
public final class LocalPipeline {
  /** The defaults of every service: common, trainer, stream-app, inference and rollouts. */
  public static final Map<String, String> DEFAULTS;

  static {
    Map<String, String> d = new HashMap<>(CommonConfig.DEFAULTS);
    d.putAll(TrainerConfig.DEFAULTS);
    d.putAll(StreamAppConfig.DEFAULTS);
    d.putAll(InferenceConfig.DEFAULTS);
    d.putAll(RolloutConfig.DEFAULTS);
    DEFAULTS = Collections.unmodifiableMap(d);
  }

  private final Map<String, String> env;
  private final Map<String, String> settings;
  private final LayeredConfig config;
  private final CommonConfig common;
  private LorastreamSerdes serdes;

  private LocalPipeline(Map<String, String> env, Map<String, String> settings) {
    this.env = env;
    this.settings = settings;
    this.config = LayeredConfig.load(DEFAULTS, null, env, settings);
    this.common = new CommonConfig(config);
  }

  /** A pipeline on the cluster at {@code bootstrap} with its registry at {@code registryUrl}. */
  public static Builder on(String bootstrap, String registryUrl) {
    return new Builder(bootstrap, registryUrl);
  }

  /** A pipeline whose {@code settings} name the cluster themselves (or rely on the defaults). */
  public static LocalPipeline of(Map<String, String> settings) {
    return new LocalPipeline(Map.of(), new LinkedHashMap<>(settings));
  }

  /** Settings of a {@link LocalPipeline}. */
  public static final class Builder {
    private final Map<String, String> settings = new LinkedHashMap<>();
    private Map<String, String> env = Map.of();

    private Builder(String bootstrap, String registryUrl) {
      settings.put(CommonConfig.BOOTSTRAP, Objects.requireNonNull(bootstrap, "bootstrap"));
      settings.put(CommonConfig.REGISTRY_URL, Objects.requireNonNull(registryUrl, "registryUrl"));
    }

    public Builder set(String key, String value) {
      settings.put(key, value);
      return this;
    }

    public Builder setAll(Map<String, String> more) {
      settings.putAll(more);
      return this;
    }

    /**
     * Gives every catalog topic the name {@code prefix + logical name}, so runs on one cluster never
     * read each other's data. Explicit {@code topic.*} settings made later win.
     */
    public Builder topicPrefix(String prefix) {
      for (String logical : TopicCatalog.LOGICAL_NAMES) {
        settings.put("topic." + logical, prefix + logical);
      }
      return this;
    }

    /** {@code LORASTREAM_*} variables of this map are read as a deployment reads them (below the settings). */
    public Builder environment(Map<String, String> variables) {
      env = Map.copyOf(variables);
      return this;
    }

    public LocalPipeline build() {
      return new LocalPipeline(env, new LinkedHashMap<>(settings));
    }
  }

  /** The same cluster, environment and settings, plus {@code more}. */
  public LocalPipeline with(Map<String, String> more) {
    Map<String, String> s = new LinkedHashMap<>(settings);
    s.putAll(more);
    return new LocalPipeline(env, s);
  }

  /** The layered settings (for a service's own config class, or the unknown-key check). */
  public LayeredConfig config() {
    return config;
  }

  public CommonConfig common() {
    return common;
  }

  public TrainerConfig trainerConfig() {
    return TrainerConfig.from(config);
  }

  public RolloutConfig rolloutConfig() {
    return RolloutConfig.from(config, InferenceConfig.HMAC_KEY);
  }

  /** Starts the rollout controller, verifying snapshots against {@code base} (not closed by it). */
  public RolloutController startRolloutController(BaseModel base) {
    return startRolloutController(base, io.lorastream.metrics.KafkaClientMeters.NONE);
  }

  /** As {@link #startRolloutController(BaseModel)}, its Kafka clients' metrics bound to {@code clientMeters}. */
  public RolloutController startRolloutController(BaseModel base, io.lorastream.metrics.KafkaClientMeters clientMeters) {
    return RolloutController.start(rolloutConfig(), common, serdes(), base, clientMeters);
  }

  public StreamAppConfig streamAppConfig() {
    return StreamAppConfig.from(config);
  }

  /** One serde set for this pipeline's registry (created on first use). */
  public synchronized LorastreamSerdes serdes() {
    if (serdes == null) {
      serdes = LorastreamSerdes.create(common.registryConfig());
    }
    return serdes;
  }

  /** Creates the catalog's topics (existing ones are kept) and waits until they have leaders. */
  public LocalPipeline createTopics() {
    try (Admin admin = Admin.create(new HashMap<String, Object>(common.kafkaProperties()))) {
      common.catalog().createAll(admin, common.replicationFactor());
    }
    return this;
  }

  /** Starts the trainer of this pipeline's settings on its own thread. */
  public RunningTrainer startTrainer(TrainerListener listener, String threadName) {
    return startTrainer(listener, FaultInjector.NONE, threadName);
  }

  /** As {@link #startTrainer(TrainerListener, String)} with a fault injector (chaos tests). */
  public RunningTrainer startTrainer(TrainerListener listener, FaultInjector faults, String threadName) {
    return RunningTrainer.start(AdapterTrainer.create(trainerConfig(), common, listener, faults), threadName);
  }

  /** Starts ingest with this pipeline's stream-app settings. */
  public IngestService startIngest() {
    return new IngestService(common, streamAppConfig(), serdes()).start();
  }
}
