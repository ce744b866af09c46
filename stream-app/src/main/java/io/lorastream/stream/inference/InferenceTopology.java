package io.lorastream.stream.inference;

import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.Prediction;
import io.lorastream.kafka.DlqHeaders;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.lora.text.TextTokenizer;
import io.lorastream.registry.RegistryException;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.serving.ActiveModels;
import io.lorastream.stream.serving.AdapterSubscriber;
import io.lorastream.stream.serving.AdapterSwapper;
import io.lorastream.stream.serving.ServingModel;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference topology: {@code inference.requests} → predict with the active adapter →
 * {@code inference.predictions}, keyed by request id. Each request reads the active model
 * reference exactly once and computes everything from that instance, so its prediction names the
 * one version that produced it (invariant 5) while swaps happen concurrently on the subscriber's
 * thread. Stateless, so any number of consumers sharing an application id split the requests.
 *
 * <p><b>Every request gets an answer.</b> A request that cannot be served (wrong feature count,
 * unknown task, NaN, no features) is answered with an error {@link Prediction} whose
 * {@code error} says why ({@link SkipReason}: detail), so a client waiting for its request id
 * never waits forever. Bytes that are not an {@code InferenceRequest} at all go to
 * {@code inference.dlq} with {@link DlqHeaders} and, when the record has a key (the request id by
 * convention), an error prediction keyed by it. Only an unreachable schema registry is rethrown,
 * because those requests are valid and must be retried rather than answered with an error. A
 * consumer that serves one adapter answers requests for other tasks only when
 * {@code inference.unknown.task=answer} (the default): where several inference applications share
 * the requests topic, each serving its own adapter, set it to {@code ignore} so that only the one
 * serving the task answers.
 */
public final class InferenceTopology {
  private static final Logger log = LoggerFactory.getLogger(InferenceTopology.class);

  public static final String SOURCE = "inference-requests-source";
  public static final String PREDICT = "inference-predict";
  public static final String SINK = "inference-predictions-sink";
  public static final String DLQ_SINK = "inference-dlq-sink";

  private InferenceTopology() {
  }

  /** The topology with the configured consumer id and the system clock. */
  public static Topology build(InferenceConfig config, TopicCatalog topics, LorastreamSerdes serdes, ActiveModels models,
      InferenceCounters counters) {
    return build(config, topics, serdes, models, counters, null);
  }

  /** As above, tokenizing raw-text requests with {@code tokenizer} (the base's; null when it has none). */
  public static Topology build(InferenceConfig config, TopicCatalog topics, LorastreamSerdes serdes, ActiveModels models,
      InferenceCounters counters, TextTokenizer tokenizer) {
    return build(config.consumerId(), config.answerUnknownTasks(), topics, serdes.inferenceRequest().deserializer(),
        serdes.prediction(), models, counters, System::currentTimeMillis, tokenizer);
  }

  /** As the full form, answering requests for unknown tasks. */
  public static Topology build(String consumerId, TopicCatalog topics, Deserializer<InferenceRequest> requestDeserializer,
      Serde<Prediction> predictionSerde, ActiveModels models, InferenceCounters counters, LongSupplier clock) {
    return build(consumerId, true, topics, requestDeserializer, predictionSerde, models, counters, clock, null);
  }

  /**
   * The topology from its parts (tests use plain Avro serdes without a registry).
   *
   * @param consumerId written into every prediction
   * @param answerUnknownTasks whether a request for a task this consumer does not serve gets an error answer
   * @param requestDeserializer configured value deserializer of {@code InferenceRequest}
   * @param predictionSerde configured value serde of {@code Prediction}
   * @param models where the active model per task comes from (usually the {@link AdapterSubscriber})
   * @param counters receives prediction and error counts
   * @param clock epoch millis for {@code predictedAt}
   * @param tokenizer turns a request's text into token ids for a text model; null when the base carries none
   */
  public static Topology build(String consumerId, boolean answerUnknownTasks, TopicCatalog topics,
      Deserializer<InferenceRequest> requestDeserializer, Serde<Prediction> predictionSerde, ActiveModels models,
      InferenceCounters counters, LongSupplier clock, TextTokenizer tokenizer) {
    Predictor predictor = new Predictor(consumerId, answerUnknownTasks, topics.inferenceRequests.name(),
        requestDeserializer, models, counters, clock, tokenizer);
    Topology t = new Topology();
    t.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), topics.inferenceRequests.name());
    t.addProcessor(PREDICT, () -> new PredictProcessor(predictor), SOURCE);
    t.addSink(SINK, topics.inferencePredictions.name(), new StringSerializer(), predictionSerde.serializer(), PREDICT);
    t.addSink(DLQ_SINK, topics.inferenceDlq.name(), new ByteArraySerializer(), new ByteArraySerializer(), PREDICT);
    return t;
  }

  /** What one request record leads to: an answer (prediction or error) and/or a dead letter. */
  private record Outcome(String key, Prediction answer, SkipReason deadLetter, String detail, String exceptionClass) {
    static Outcome answer(String key, Prediction p) {
      return new Outcome(key, p, null, null, null);
    }
  }

  /** Forwards each outcome to its sink; the per-record logic lives in {@link Predictor}. */
  private static final class PredictProcessor implements Processor<byte[], byte[], Object, Object> {
    private final Predictor predictor;
    private ProcessorContext<Object, Object> context;

    PredictProcessor(Predictor predictor) {
      this.predictor = predictor;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
      this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
      String key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
      Outcome o = predictor.apply(key, record.headers(), record.value());
      if (o.deadLetter() != null) {
        RecordMetadata m = context.recordMetadata().orElse(null);
        context.forward(new Record<Object, Object>(record.key(), record.value(), record.timestamp(),
            DlqHeaders.deadLetter(record.headers(), o.deadLetter().name(), o.detail(), m == null ? "" : m.topic(),
                m == null ? -1 : m.partition(), m == null ? -1 : m.offset(), o.exceptionClass())), DLQ_SINK);
      }
      if (o.answer() != null) {
        context.forward(new Record<Object, Object>(o.key(), o.answer(), record.timestamp()), SINK);
      }
    }
  }

  /** The per-record work, separate from the Processor API so that it reads top to bottom. */
  private static final class Predictor {
    private final String consumerId;
    private final boolean answerUnknownTasks;
    private final String topic;
    private final Deserializer<InferenceRequest> deserializer;
    private final ActiveModels models;
    private final InferenceCounters counters;
    private final LongSupplier clock;
    private final TextTokenizer tokenizer;

    Predictor(String consumerId, boolean answerUnknownTasks, String topic, Deserializer<InferenceRequest> deserializer,
        ActiveModels models, InferenceCounters counters, LongSupplier clock, TextTokenizer tokenizer) {
      this.tokenizer = tokenizer;
      this.consumerId = consumerId;
      this.answerUnknownTasks = answerUnknownTasks;
      this.topic = topic;
      this.deserializer = deserializer;
      this.models = models;
      this.counters = counters;
      this.clock = clock;
    }

    /** Answers one request; {@code headers} may name its schema (Confluent's header form). */
    Outcome apply(String key, org.apache.kafka.common.header.Headers headers, byte[] value) {
      long start = System.nanoTime();
      if (value == null) {
        return deadLetter(SkipReason.NULL_VALUE, key, "null value", null);
      }
      InferenceRequest req;
      try {
        req = deserializer.deserialize(topic, headers, value);
      } catch (RuntimeException e) {
        if (RegistryException.isOutage(e)) {
          throw e; // valid request, registry away: let Streams retry rather than drop it
        }
        return deadLetter(SkipReason.UNDECODABLE, key, DlqHeaders.brief(e.getMessage()), e.getClass().getName());
      }
      if (req == null) {
        return deadLetter(SkipReason.NULL_VALUE, key, "null request", null);
      }
      // The one read of the active reference for this request.
      Optional<AdapterSwapper.Routed> chosen = models.forRequest(req.getTask(), req.getRequestId());
      if (chosen.isEmpty()) {
        String why = "task '" + req.getTask() + "' is not served by " + consumerId;
        return answerUnknownTasks ? error(SkipReason.UNKNOWN_TASK, key, req, null, start, why)
            : ignore(SkipReason.UNKNOWN_TASK, key, why);
      }
      ServingModel model = chosen.get().model();
      String role = chosen.get().role();
      float[] x;
      if (model.tokenInput()) {
        List<Integer> t = req.getTokens();
        if ((t == null || t.isEmpty()) && req.getText() != null) {
          if (tokenizer == null) {
            return error(SkipReason.NO_FEATURES, key, req, model, start, "the request has text but the base "
                + "carries no tokenizer; send token ids, or import the base with its tokenizer");
          }
          t = tokenizer.encode(req.getText());
        }
        if (t == null || t.isEmpty()) {
          return error(SkipReason.NO_FEATURES, key, req, model, start, "no tokens or text for a text model");
        }
        int bad = io.lorastream.lora.model.TokenRows.firstInvalid(t, model.vocabSize());
        if (bad >= 0) {
          return error(SkipReason.WRONG_FEATURE_SIZE, key, req, model, start, "token " + bad + " is " + t.get(bad) + ", vocabulary is [0, "
              + model.vocabSize() + ")");
        }
        x = model.tokenRow(t);
      } else {
        List<Float> f = req.getFeatures();
        if (f == null || f.isEmpty()) {
          return error(SkipReason.NO_FEATURES, key, req, model, start, "no dense features"
              + (req.getTokens() != null && !req.getTokens().isEmpty() ? " (the model reads dense features, not tokens)" : ""));
        }
        if (f.size() != model.inputSize()) {
          return error(SkipReason.WRONG_FEATURE_SIZE, key, req, model, start, f.size() + " features, model expects " + model.inputSize());
        }
        x = new float[f.size()];
        for (int i = 0; i < x.length; i++) {
          Float v = f.get(i);
          if (v == null || !Float.isFinite(v)) {
            return error(SkipReason.NON_FINITE, key, req, model, start, "feature " + i + " is " + v);
          }
          x[i] = v;
        }
      }
      float[] p;
      try {
        p = model.predictProba(x);
      } catch (RuntimeException e) {
        return error(SkipReason.MODEL_ERROR, key, req, model, start, DlqHeaders.brief(e.toString()));
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
          .setRole(role)
          .build();
      counters.predicted(micros);
      return Outcome.answer(key != null ? key : req.getRequestId(), out);
    }

    /** An error answer for a decoded request; {@code model} is null when none was chosen. */
    private Outcome error(SkipReason reason, String key, InferenceRequest req, ServingModel model, long start,
        String detail) {
      count(reason, key, detail);
      Prediction out = Prediction.newBuilder()
          .setRequestId(req.getRequestId())
          .setTask(req.getTask())
          .setAdapterId(model == null ? "" : model.adapterId())
          .setAdapterVersion(model == null ? -1 : model.version())
          .setPredictedClass(-1)
          .setProbabilities(List.of())
          .setLabel(req.getLabel())
          .setLatencyMicros((System.nanoTime() - start) / 1_000)
          .setConsumerId(consumerId)
          .setPredictedAt(Instant.ofEpochMilli(clock.getAsLong()))
          .setError(reason.name() + ": " + detail)
          .build();
      return Outcome.answer(key != null ? key : req.getRequestId(), out);
    }

    /**
     * A record that is no request at all: dead-lettered with the reason, and answered with an
     * error keyed by the record key when there is one (the request id by convention).
     */
    private Outcome deadLetter(SkipReason reason, String key, String detail, String exceptionClass) {
      count(reason, key, detail);
      Prediction answer = null;
      if (key != null) {
        answer = Prediction.newBuilder()
            .setRequestId(key)
            .setTask("")
            .setAdapterId("")
            .setAdapterVersion(-1)
            .setPredictedClass(-1)
            .setProbabilities(List.of())
            .setLatencyMicros(0)
            .setConsumerId(consumerId)
            .setPredictedAt(Instant.ofEpochMilli(clock.getAsLong()))
            .setError(reason.name() + ": " + detail)
            .build();
      }
      return new Outcome(key, answer, reason, detail, exceptionClass);
    }

    /** Counted, not answered: another consumer serves the task ({@code inference.unknown.task=ignore}). */
    private Outcome ignore(SkipReason reason, String key, String detail) {
      count(reason, key, detail);
      return new Outcome(key, null, null, null, null);
    }

    private void count(SkipReason reason, String key, String detail) {
      long n = counters.countSkip(reason);
      // First occurrence and then every power of ten: visible, but a flood cannot fill the disk.
      if (isPowerOfTen(n)) {
        log.warn("Inference consumer {} could not serve request {} ({}): {} [{} so far]", consumerId, key, reason, detail, n);
      } else {
        log.debug("Inference consumer {} could not serve request {} ({}): {}", consumerId, key, reason, detail);
      }
    }

    private static boolean isPowerOfTen(long n) {
      while (n >= 10 && n % 10 == 0) {
        n /= 10;
      }
      return n == 1;
    }

  }
}
