package io.lorastream.stream.inference;

import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.Prediction;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.registry.RegistryException;
import io.lorastream.serde.LorastreamSerdes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference topology: {@code inference.requests} → predict with the active adapter →
 * {@code inference.predictions}, keyed by request id. Each request reads the active model
 * reference exactly once and computes everything from that instance, so its prediction names the
 * one version that produced it (invariant 5) while swaps happen concurrently on the subscriber's
 * thread. Stateless, so any number of consumers sharing an application id split the requests.
 *
 * <p>Request values are decoded inside the processor rather than by the source serde so that a
 * malformed request is logged, counted ({@link SkipReason}) and skipped instead of stopping the
 * stream thread. Bad requests produce no prediction and are not dead-lettered: they are client
 * errors the counters expose. Only an unreachable schema registry is rethrown, because those
 * requests are valid and must be retried rather than dropped.
 */
public final class InferenceTopology {
  private static final Logger log = LoggerFactory.getLogger(InferenceTopology.class);

  public static final String SOURCE = "inference-requests-source";
  public static final String PREDICT = "inference-predict";
  public static final String SINK = "inference-predictions-sink";

  private InferenceTopology() {
  }

  /** The topology with the configured consumer id and the system clock. */
  public static Topology build(InferenceConfig config, TopicCatalog topics, LorastreamSerdes serdes, ActiveModels models,
      InferenceCounters counters) {
    return build(config.consumerId(), topics, serdes.inferenceRequest().deserializer(), serdes.prediction(), models,
        counters, System::currentTimeMillis);
  }

  /**
   * The topology from its parts (tests use plain Avro serdes without a registry).
   *
   * @param consumerId written into every prediction
   * @param requestDeserializer configured value deserializer of {@code InferenceRequest}
   * @param predictionSerde configured value serde of {@code Prediction}
   * @param models where the active model per task comes from (usually the {@link AdapterSubscriber})
   * @param counters receives prediction and skip counts
   * @param clock epoch millis for {@code predictedAt}
   */
  public static Topology build(String consumerId, TopicCatalog topics, Deserializer<InferenceRequest> requestDeserializer,
      Serde<Prediction> predictionSerde, ActiveModels models, InferenceCounters counters, LongSupplier clock) {
    Predictor predictor = new Predictor(consumerId, topics.inferenceRequests.name(), requestDeserializer, models,
        counters, clock);
    StreamsBuilder b = new StreamsBuilder();
    b.stream(topics.inferenceRequests.name(), Consumed.with(Serdes.String(), Serdes.ByteArray()).withName(SOURCE))
        .flatMap((key, value) -> predictor.apply(key, value), Named.as(PREDICT))
        .to(topics.inferencePredictions.name(), Produced.with(Serdes.String(), predictionSerde).withName(SINK));
    return b.build();
  }

  /** The per-record work, separate from the DSL so that it reads top to bottom. */
  private static final class Predictor {
    private final String consumerId;
    private final String topic;
    private final Deserializer<InferenceRequest> deserializer;
    private final ActiveModels models;
    private final InferenceCounters counters;
    private final LongSupplier clock;

    Predictor(String consumerId, String topic, Deserializer<InferenceRequest> deserializer, ActiveModels models,
        InferenceCounters counters, LongSupplier clock) {
      this.consumerId = consumerId;
      this.topic = topic;
      this.deserializer = deserializer;
      this.models = models;
      this.counters = counters;
      this.clock = clock;
    }

    List<KeyValue<String, Prediction>> apply(String key, byte[] value) {
      long start = System.nanoTime();
      if (value == null) {
        return skip(SkipReason.NULL_VALUE, key, "null value");
      }
      InferenceRequest req;
      try {
        req = deserializer.deserialize(topic, value);
      } catch (RuntimeException e) {
        if (RegistryException.isOutage(e)) {
          throw e; // valid request, registry away: let Streams retry rather than drop it
        }
        return skip(SkipReason.UNDECODABLE, key, e.getMessage());
      }
      if (req == null) {
        return skip(SkipReason.NULL_VALUE, key, "null request");
      }
      // The one read of the active reference for this request.
      Optional<ServingModel> chosen = models.forTask(req.getTask());
      if (chosen.isEmpty()) {
        return skip(SkipReason.UNKNOWN_TASK, key, "task '" + req.getTask() + "' is not served by " + consumerId);
      }
      ServingModel model = chosen.get();
      float[] x;
      if (model.tokenInput()) {
        List<Integer> t = req.getTokens();
        if (t == null || t.isEmpty()) {
          return skip(SkipReason.NO_FEATURES, key, "no tokens for a text model");
        }
        int bad = io.lorastream.lora.TokenRows.firstInvalid(t, model.vocabSize());
        if (bad >= 0) {
          return skip(SkipReason.WRONG_FEATURE_SIZE, key, "token " + bad + " is " + t.get(bad) + ", vocabulary is [0, "
              + model.vocabSize() + ")");
        }
        x = model.tokenRow(t);
      } else {
        List<Float> f = req.getFeatures();
        if (f == null || f.isEmpty()) {
          return skip(SkipReason.NO_FEATURES, key, "no dense features"
              + (req.getTokens() != null && !req.getTokens().isEmpty() ? " (the model reads dense features, not tokens)" : ""));
        }
        if (f.size() != model.inputSize()) {
          return skip(SkipReason.WRONG_FEATURE_SIZE, key, f.size() + " features, model expects " + model.inputSize());
        }
        x = new float[f.size()];
        for (int i = 0; i < x.length; i++) {
          Float v = f.get(i);
          if (v == null || !Float.isFinite(v)) {
            return skip(SkipReason.NON_FINITE, key, "feature " + i + " is " + v);
          }
          x[i] = v;
        }
      }
      float[] p;
      try {
        p = model.predictProba(x);
      } catch (RuntimeException e) {
        return skip(SkipReason.MODEL_ERROR, key, e.toString());
      }
      int best = 0;
      List<Float> probs = new ArrayList<>(p.length);
      for (int i = 0; i < p.length; i++) {
        probs.add(p[i]);
        if (p[i] > p[best]) {
          best = i;
        }
      }
      long micros = (System.nanoTime() - start) / 1_000;
      Prediction out = Prediction.newBuilder()
          .setRequestId(req.getRequestId())
          .setTask(req.getTask())
          .setAdapterId(model.adapterId())
          .setAdapterVersion(model.version())
          .setPredictedClass(best)
          .setProbabilities(probs)
          .setLabel(req.getLabel())
          .setLatencyMicros(micros)
          .setConsumerId(consumerId)
          .setPredictedAt(Instant.ofEpochMilli(clock.getAsLong()))
          .build();
      counters.predicted(micros);
      String outKey = key != null ? key : req.getRequestId();
      return List.of(KeyValue.pair(outKey, out));
    }

    private List<KeyValue<String, Prediction>> skip(SkipReason reason, String key, String detail) {
      long n = counters.countSkip(reason);
      // First occurrence and then every power of ten: visible, but a flood cannot fill the disk.
      if (isPowerOfTen(n)) {
        log.warn("Inference consumer {} skipped request {} ({}): {} [{} so far]", consumerId, key, reason, detail, n);
      } else {
        log.debug("Inference consumer {} skipped request {} ({}): {}", consumerId, key, reason, detail);
      }
      return List.of();
    }

    private static boolean isPowerOfTen(long n) {
      while (n >= 10 && n % 10 == 0) {
        n /= 10;
      }
      return n == 1;
    }

  }
}
