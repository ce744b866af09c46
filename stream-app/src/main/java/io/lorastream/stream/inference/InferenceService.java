package io.lorastream.stream.inference;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.ConfigException;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.text.TextTokenizer;
import io.lorastream.lora.model.Devices;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.serving.AdapterSubscriber;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running inference consumer: an {@link AdapterSubscriber} that keeps the served adapter
 * current, plus a Kafka Streams application running the {@link InferenceTopology}.
 *
 * <p><b>Several consumers.</b> Instances that share {@code inference.application.id} (the default)
 * are replicas: one Streams group splits the request partitions between them, so each request is
 * answered exactly once, by whichever replica owns its partition, and every prediction carries that
 * replica's {@code consumerId}. Adapter snapshots, in contrast, reach every replica, because each
 * runs its own group-less subscriber; so "two inference consumers" means two independently
 * hot-swapping servers behind one request stream, which is what a rollout has to get right.
 * Give replicas distinct application ids only to make each answer every request (shadowing).
 *
 * <p>Startup waits (bounded by {@code inference.startup.catchup.ms}) until the subscriber has
 * replayed the adapters committed so far, so a restarted consumer does not answer with the base.
 */
public final class InferenceService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(InferenceService.class);

  private final InferenceConfig config;
  private final AdapterSubscriber subscriber;
  private final InferenceCounters counters;
  private final KafkaStreams streams;
  private final MetricsReporter reporter; // null when disabled
  private final BaseModel ownedBase;
  private final TextTokenizer tokenizer; // null when the base carries none

  private InferenceService(InferenceConfig config, AdapterSubscriber subscriber, InferenceCounters counters,
      KafkaStreams streams, MetricsReporter reporter, BaseModel ownedBase, TextTokenizer tokenizer) {
    this.tokenizer = tokenizer;
    this.config = config;
    this.subscriber = subscriber;
    this.counters = counters;
    this.streams = streams;
    this.reporter = reporter;
    this.ownedBase = ownedBase;
  }

  /**
   * Loads the base from {@code inference.base.path} and starts; for the standalone
   * {@code lorastream inference} command.
   *
   * @throws ConfigException when no base path is configured
   * @throws IOException when the base file cannot be loaded
   */
  public static InferenceService start(InferenceConfig config, CommonConfig common, LorastreamSerdes serdes)
      throws IOException {
    return start(config, common, serdes, io.lorastream.metrics.KafkaClientMeters.NONE);
  }

  /**
   * As {@link #start(InferenceConfig, CommonConfig, LorastreamSerdes)}, binding the subscriber's
   * consumer (role {@value AdapterSubscriber#CLIENT_ROLE}) and the metrics reporter's producer to
   * {@code clientMeters}.
   */
  public static InferenceService start(InferenceConfig config, CommonConfig common, LorastreamSerdes serdes,
      io.lorastream.metrics.KafkaClientMeters clientMeters) throws IOException {
    Path path = config.basePath().orElseThrow(() -> new ConfigException(InferenceConfig.BASE_PATH,
        "Missing required setting '" + InferenceConfig.BASE_PATH + "' (the base-model file to serve). Fix: "
            + LayeredConfig.howToSet(InferenceConfig.BASE_PATH) + "."));
    BaseModel base = BaseModel.load(path, Devices.resolve(config.device()));
    try {
      return start(config, common, serdes, base, true, clientMeters);
    } catch (RuntimeException e) {
      base.close();
      throw e;
    }
  }

  /** Starts with an already loaded base, which the caller keeps owning (the demo shares one). */
  public static InferenceService start(InferenceConfig config, CommonConfig common, LorastreamSerdes serdes,
      BaseModel base) {
    return start(config, common, serdes, base, false, io.lorastream.metrics.KafkaClientMeters.NONE);
  }

  /** Starts with a base the caller keeps owning, binding its Kafka clients' metrics to {@code clientMeters}. */
  public static InferenceService start(InferenceConfig config, CommonConfig common, LorastreamSerdes serdes,
      BaseModel base, io.lorastream.metrics.KafkaClientMeters clientMeters) {
    return start(config, common, serdes, base, false, clientMeters);
  }

  private static InferenceService start(InferenceConfig config, CommonConfig common, LorastreamSerdes serdes,
      BaseModel base, boolean ownsBase, io.lorastream.metrics.KafkaClientMeters clientMeters) {
    AdapterSubscriber subscriber = startSubscriber(config, common, serdes, base, clientMeters, AdapterSubscriber.CLIENT_ROLE);
    KafkaStreams streams = null;
    TextTokenizer tokenizer = null;
    try {
      if (!subscriber.awaitCaughtUp(config.startupCatchUp())) {
        log.warn("Inference consumer {} starts before its subscriber caught up with {} (waited {}); serving {} v{} meanwhile",
            config.consumerId(), common.catalog().adapters.name(), config.startupCatchUp(), config.adapterId(),
            subscriber.activeVersion());
      }
      InferenceCounters counters = new InferenceCounters();
      tokenizer = tokenizer(config, base);
      Topology topology = InferenceTopology.build(config, common.catalog(), serdes, subscriber, counters, tokenizer);
      streams = new KafkaStreams(topology, streamsProperties(config, common));
      streams.setUncaughtExceptionHandler(e -> {
        // The topology catches bad input itself; what lands here is transient (registry or broker
        // trouble), so a fresh thread retries the same records.
        log.warn("Inference consumer {} stream thread failed; replacing it: {}", config.consumerId(), e.toString());
        return StreamThreadExceptionResponse.REPLACE_THREAD;
      });
      streams.start();
      MetricsReporter reporter = config.metricsInterval().isZero() ? null
          : new MetricsReporter(config, common.kafkaProperties(), common.catalog().metrics.name(),
              serdes.pipelineMetric().serializer(), subscriber, counters, clientMeters);
      log.info("Inference consumer {} started, serving with {} on {}: {}", config.consumerId(), subscriber.engine(),
          base.device(), config);
      return new InferenceService(config, subscriber, counters, streams, reporter, ownsBase ? base : null, tokenizer);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      subscriber.close();
      throw new IllegalStateException("interrupted while starting inference consumer " + config.consumerId(), e);
    } catch (RuntimeException e) {
      if (streams != null) {
        streams.close(Duration.ofSeconds(10));
      }
      if (tokenizer != null) {
        tokenizer.close();
      }
      subscriber.close();
      throw e;
    }
  }

  /** Kafka Streams settings: {@code kafka.*} pass-through, then the inference settings on top. */
  public static Properties streamsProperties(InferenceConfig config, CommonConfig common) {
    Properties p = new Properties();
    p.putAll(common.kafkaProperties());
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, common.prefixed(config.applicationId()));
    p.put(StreamsConfig.CLIENT_ID_CONFIG, config.consumerId());
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, String.valueOf(config.threads()));
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, String.valueOf(config.commitInterval().toMillis()));
    // A prediction is a pure function of (request, version): replaying one after a crash is harmless,
    // so the cheaper guarantee is the right one here.
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
    // No global stores here; opting in now only silences Kafka 4's forward-compatibility warning.
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, "true");
    // Replicas in one JVM (the demo) must not share a state directory.
    p.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().resolve(config.consumerId()).toString());
    return p;
  }

  public String consumerId() {
    return config.consumerId();
  }

  public InferenceConfig config() {
    return config;
  }

  /** The adapter subscriber: active version, swap listener, counters, awaitVersion. */
  public AdapterSubscriber subscriber() {
    return subscriber;
  }

  /** Request-path counters: predictions, skips per reason, latency. */
  public InferenceCounters counters() {
    return counters;
  }

  /** The Streams app itself, for binding its client metrics (Micrometer's KafkaStreamsMetrics). */
  public KafkaStreams kafkaStreams() {
    return streams;
  }

  public KafkaStreams.State state() {
    return streams.state();
  }

  @Override
  public void close() {
    try {
      streams.close(Duration.ofSeconds(30));
    } finally {
      try {
        if (reporter != null) {
          reporter.close(); // after the streams, so the last published counts are final
        }
      } finally {
        try {
          subscriber.close();
        } finally {
          if (tokenizer != null) {
            tokenizer.close(); // after the streams: no request is being tokenized any more
          }
          if (ownedBase != null) {
            ownedBase.close();
          }
        }
      }
    }
  }

  /** The base's tokenizer for raw-text requests, or null when it carries none. */
  private static TextTokenizer tokenizer(InferenceConfig config, BaseModel base) {
    try {
      return TextTokenizer.forBase(base, config.textMaxTokens()).orElse(null);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(InferenceConfig.TEXT_MAX_TOKENS, "Invalid setting '" + InferenceConfig.TEXT_MAX_TOKENS
          + "': " + e.getMessage() + ". Fix: set it to 0 (the base's window) or a length that fits the window.");
    }
  }

  /**
   * A started subscriber for an inference consumer: adapter, key and fetch tuning from
   * {@code config}, brokers and {@code kafka.*} pass-through from {@code common}.
   */
  public static AdapterSubscriber startSubscriber(InferenceConfig config, CommonConfig common,
      LorastreamSerdes serdes, BaseModel base) {
    return startSubscriber(config, common, serdes, base, io.lorastream.metrics.KafkaClientMeters.NONE,
        AdapterSubscriber.CLIENT_ROLE);
  }

  /** As {@link #startSubscriber(InferenceConfig, CommonConfig, LorastreamSerdes, BaseModel)}, its consumer's metrics bound under {@code role}. */
  public static AdapterSubscriber startSubscriber(InferenceConfig config, CommonConfig common,
      LorastreamSerdes serdes, BaseModel base, io.lorastream.metrics.KafkaClientMeters clientMeters, String role) {
    return AdapterSubscriber.builder(base)
        .clientMeters(clientMeters, role)
        .kafkaProperties(common.kafkaProperties())
        .topics(common.catalog())
        .deserializer(serdes.adapterSnapshot().deserializer())
        .rollouts(serdes.rolloutState().deserializer(), config.rolloutMode())
        .consumerId(config.consumerId())
        .mergeBudgetBytes(config.mergedBudgetBytes())
        .adapterId(config.adapterId())
        .hmacKey(config.hmacKey().orElse(null))
        .fetchMaxWaitMs(config.fetchMaxWaitMs())
        .pollTimeout(config.pollTimeout())
        .historySize(config.historySize())
        .engine(config.engine(base))
        .clientId(config.consumerId() + "-adapters")
        .start();
  }
}
