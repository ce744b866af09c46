package io.lorastream.stream.inference;

import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.Prediction;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.stream.serving.AdapterSwapper;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * The inference topology on a TopologyTestDriver, shared by the topology tests: raw request bytes
 * in (so tests can also send garbage), decoded predictions out, and the counters the topology
 * updates. Requests are encoded with plain Avro, as the topology under test decodes them.
 */
final class InferenceDriver implements AutoCloseable {
  final TopologyTestDriver driver;
  final TestInputTopic<String, byte[]> requests;
  final TestOutputTopic<String, Prediction> predictions;
  final TestOutputTopic<byte[], byte[]> deadLetters;
  final InferenceCounters counters = new InferenceCounters();
  private final PlainAvroSerde<InferenceRequest> requestSerde = new PlainAvroSerde<>(InferenceRequest.class);

  InferenceDriver(String consumerId, AdapterSwapper swapper, long nowMillis) {
    this(consumerId, true, swapper, nowMillis);
  }

  InferenceDriver(String consumerId, boolean answerUnknownTasks, AdapterSwapper swapper, long nowMillis) {
    this(consumerId, answerUnknownTasks, swapper, nowMillis, null);
  }

  InferenceDriver(String consumerId, boolean answerUnknownTasks, AdapterSwapper swapper, long nowMillis,
      io.lorastream.lora.text.TextTokenizer tokenizer) {
    TopicCatalog topics = TopicCatalog.defaults(1);
    var topology = InferenceTopology.build(consumerId, answerUnknownTasks, topics, requestSerde.deserializer(),
        new PlainAvroSerde<>(Prediction.class), swapper, counters, () -> nowMillis, tokenizer);
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "inference-test-" + consumerId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    driver = new TopologyTestDriver(topology, p);
    requests = driver.createInputTopic(topics.inferenceRequests.name(), new StringSerializer(), new ByteArraySerializer());
    predictions = driver.createOutputTopic(topics.inferencePredictions.name(), new StringDeserializer(),
        new PlainAvroSerde<>(Prediction.class).deserializer());
    deadLetters = driver.createOutputTopic(topics.inferenceDlq.name(),
        new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
        new org.apache.kafka.common.serialization.ByteArrayDeserializer());
  }

  void send(String key, InferenceRequest r) {
    requests.pipeInput(key, requestSerde.serializer().serialize("t", r));
  }

  @Override
  public void close() {
    driver.close();
  }
}
