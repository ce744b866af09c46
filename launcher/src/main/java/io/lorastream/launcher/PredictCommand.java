package io.lorastream.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.Prediction;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.ConfigException;
import io.lorastream.serde.LorastreamSerdes;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lorastream predict}: asks the running inference consumers of any cluster for predictions,
 * so that a user does not have to write a Kafka client to ask the model something. It sends one
 * {@code InferenceRequest} per input to {@code inference.requests}, reads {@code inference.predictions}
 * from where it stood before sending, and prints each answer, in input order, with the adapter
 * version and the consumer that produced it, or the reason it could not be answered. Exit codes: 0
 * every request got a prediction, 1 some got an error or no answer in time, 2 bad input.
 */
@Command(name = "predict", description = {"Send requests to the inference consumers and print each prediction with the "
    + "adapter version that produced it.",
    "Inputs: --features, --tokens and --text (each repeatable, one request each) and --file (JSON Lines, one request per "
        + "line: {\"features\": [..]}, {\"tokens\": [..]} or {\"text\": \"..\"}, optionally \"id\" and \"label\").",
    "Exit codes: 0 all predicted, 1 an error answer or no answer within --timeout, 2 bad input."})
final class PredictCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Mixin ServiceOptions service = new ServiceOptions();

  @Option(names = "--adapter", required = true, paramLabel = "ID", description = "Adapter (task) that should answer.")
  String adapter;

  @Option(names = "--features", paramLabel = "X1,X2,..", description = "Dense features of one request.")
  List<String> features = new ArrayList<>();

  @Option(names = "--tokens", paramLabel = "ID1,ID2,..", description = "Token ids of one request (text models).")
  List<String> tokens = new ArrayList<>();

  @Option(names = "--text", paramLabel = "TEXT", description = "Raw text of one request (a base that carries a tokenizer).")
  List<String> texts = new ArrayList<>();

  @Option(names = "--file", paramLabel = "FILE.jsonl", description = "Requests, one JSON object per line.")
  Path file;

  @Option(names = "--timeout", defaultValue = "PT30S", paramLabel = "DURATION",
      description = "How long to wait for all answers, ISO-8601. Default: ${DEFAULT-VALUE}.")
  Duration timeout;

  @Spec CommandSpec spec;

  /** One request as given, with where it came from for error messages. */
  private record Input(String id, InferenceRequest request) {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    List<Input> inputs;
    CommonConfig common;
    try {
      common = new CommonConfig(service.load(CommonConfig.DEFAULTS, Map.of()));
      inputs = inputs();
    } catch (IllegalArgumentException | ConfigException e) {
      err.println("lorastream predict: " + e.getMessage());
      return 2;
    }
    if (inputs.isEmpty()) {
      err.println("lorastream predict: nothing to send. Fix: give --features, --tokens, --text or --file.");
      return 2;
    }
    LorastreamSerdes serdes = LorastreamSerdes.create(common.registryConfig());
    String requests = common.catalog().inferenceRequests.name();
    String predictions = common.catalog().inferencePredictions.name();
    Map<String, Prediction> answers = new HashMap<>();
    try (KafkaConsumer<String, Prediction> consumer = consumer(common, serdes)) {
      List<TopicPartition> tps = consumer.partitionsFor(predictions, timeout).stream()
          .map(p -> new TopicPartition(predictions, p.partition())).toList();
      if (tps.isEmpty()) {
        err.println("lorastream predict: topic '" + predictions + "' does not exist; is the pipeline set up "
            + "(lorastream topics create)?");
        return 1;
      }
      consumer.assign(tps);
      consumer.seekToEnd(tps);
      tps.forEach(consumer::position); // fix the start before the first request goes out
      try (KafkaProducer<String, InferenceRequest> producer = producer(common, serdes)) {
        for (Input in : inputs) {
          producer.send(new ProducerRecord<>(requests, in.id(), in.request()));
        }
        producer.flush();
      }
      long deadline = System.nanoTime() + timeout.toNanos();
      while (answers.size() < inputs.size() && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, Prediction> r : consumer.poll(Duration.ofMillis(200))) {
          Prediction p = r.value();
          if (p != null && p.getRequestId() != null) {
            answers.putIfAbsent(p.getRequestId(), p);
          }
        }
      }
    } catch (RuntimeException e) {
      err.println("lorastream predict: Kafka failed: " + e);
      return 1;
    }
    int failed = 0;
    for (Input in : inputs) {
      Prediction p = answers.get(in.id());
      String line = p == null ? in.id() + "  no answer within " + timeout.toSeconds() + " s (is an inference consumer "
          + "serving '" + adapter + "' running?)" : format(in.id(), p);
      failed += p == null || p.getError() != null ? 1 : 0;
      out.println(line);
    }
    out.printf(Locale.ROOT, "%d of %d predicted%s%n", inputs.size() - failed, inputs.size(),
        failed == 0 ? "" : "; " + failed + " with an error or no answer");
    out.flush();
    return failed == 0 ? 0 : 1;
  }

  private static String format(String id, Prediction p) {
    if (p.getError() != null) {
      return id + "  " + p.getAdapterId() + (p.getAdapterVersion() >= 0 ? " v" + p.getAdapterVersion() : "")
          + " (" + p.getConsumerId() + ")  error " + p.getError();
    }
    StringBuilder probs = new StringBuilder();
    for (float f : p.getProbabilities()) {
      probs.append(probs.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f", f));
    }
    String role = "canary".equals(p.getRole()) ? " canary" : "";
    return String.format(Locale.ROOT, "%s  %s v%d%s (%s)  class %d  p=[%s]  %d us", id, p.getAdapterId(),
        p.getAdapterVersion(), role, p.getConsumerId(), p.getPredictedClass(), probs, p.getLatencyMicros());
  }

  private List<Input> inputs() {
    String run = "predict-" + UUID.randomUUID().toString().substring(0, 8) + "-";
    List<Input> out = new ArrayList<>();
    for (String f : features) {
      out.add(input(run + out.size(), floats(f, "--features " + f), List.of(), null, null));
    }
    for (String t : tokens) {
      out.add(input(run + out.size(), List.of(), ints(t, "--tokens " + t), null, null));
    }
    for (String t : texts) {
      out.add(input(run + out.size(), List.of(), List.of(), t, null));
    }
    if (file != null) {
      List<String> lines;
      try {
        lines = Files.readAllLines(file);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read --file " + file + ": " + e.getMessage());
      }
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i).trim();
        if (line.isEmpty()) {
          continue;
        }
        String where = file + " line " + (i + 1);
        JsonNode n;
        try {
          n = JSON.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
          throw new IllegalArgumentException(where + " is not JSON: " + e.getOriginalMessage());
        }
        if (!n.isObject() || !(n.has("features") || n.has("tokens") || n.has("text"))) {
          throw new IllegalArgumentException(where + " needs one of \"features\", \"tokens\" or \"text\"");
        }
        List<Float> fs = new ArrayList<>();
        n.path("features").forEach(v -> fs.add(number(v, where).floatValue()));
        List<Integer> ts = new ArrayList<>();
        n.path("tokens").forEach(v -> ts.add(number(v, where).intValue()));
        String id = n.hasNonNull("id") ? n.get("id").asText() : run + out.size();
        Integer label = n.hasNonNull("label") ? n.get("label").asInt() : null;
        out.add(input(id, fs, ts, n.hasNonNull("text") ? n.get("text").asText() : null, label));
      }
    }
    return out;
  }

  private Input input(String id, List<Float> fs, List<Integer> ts, String text, Integer label) {
    return new Input(id, InferenceRequest.newBuilder().setRequestId(id).setTask(adapter).setFeatures(fs).setTokens(ts)
        .setText(text).setLabel(label).setSentAt(Instant.now()).build());
  }

  private static Number number(JsonNode v, String where) {
    if (!v.isNumber()) {
      throw new IllegalArgumentException(where + ": '" + v + "' is not a number");
    }
    return v.numberValue();
  }

  private static List<Float> floats(String csv, String where) {
    List<Float> out = new ArrayList<>();
    for (String p : csv.split(",")) {
      try {
        out.add(Float.parseFloat(p.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(where + ": '" + p.trim() + "' is not a number");
      }
    }
    return out;
  }

  private static List<Integer> ints(String csv, String where) {
    List<Integer> out = new ArrayList<>();
    for (String p : csv.split(",")) {
      try {
        out.add(Integer.parseInt(p.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(where + ": '" + p.trim() + "' is not a token id");
      }
    }
    return out;
  }

  private static KafkaConsumer<String, Prediction> consumer(CommonConfig common, LorastreamSerdes serdes) {
    Map<String, Object> cfg = new LinkedHashMap<>(common.kafkaProperties());
    cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cfg.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cfg.put(ConsumerConfig.CLIENT_ID_CONFIG, "lorastream-predict");
    return new KafkaConsumer<>(cfg, new StringDeserializer(), serdes.prediction().deserializer());
  }

  private static KafkaProducer<String, InferenceRequest> producer(CommonConfig common, LorastreamSerdes serdes) {
    Map<String, Object> cfg = new LinkedHashMap<>(common.kafkaProperties());
    cfg.put(ProducerConfig.ACKS_CONFIG, "all");
    cfg.put(ProducerConfig.CLIENT_ID_CONFIG, "lorastream-predict");
    return new KafkaProducer<>(cfg, new StringSerializer(), serdes.inferenceRequest().serializer());
  }
}
