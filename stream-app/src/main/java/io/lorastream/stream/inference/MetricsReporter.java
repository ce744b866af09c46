package io.lorastream.stream.inference;

import io.lorastream.avro.PipelineMetric;
import io.lorastream.stream.serving.AdapterSubscriber;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes an inference consumer's {@link InferenceMetrics} to the {@code metrics} topic at a
 * fixed interval and once more on close, so that rejections, skips and the active version of a
 * consumer running anywhere are visible to the demo summary and to operators. Sends are
 * asynchronous and best effort: a metrics outage is logged once and never affects serving.
 */
final class MetricsReporter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MetricsReporter.class);

  private final String consumerId;
  private final String topic;
  private final AdapterSubscriber subscriber;
  private final InferenceCounters counters;
  private final KafkaProducer<String, PipelineMetric> producer;
  private final ScheduledExecutorService timer;
  private final AtomicBoolean warned = new AtomicBoolean();
  private final io.lorastream.metrics.KafkaClientMeters clientMeters;

  /** Role of the reporter's producer among the consumer's Kafka client metrics. */
  static final String CLIENT_ROLE = "metrics-reporter";

  MetricsReporter(InferenceConfig config, Map<String, String> kafka, String topic, Serializer<PipelineMetric> serializer,
      AdapterSubscriber subscriber, InferenceCounters counters, io.lorastream.metrics.KafkaClientMeters clientMeters) {
    this.clientMeters = clientMeters;
    this.consumerId = config.consumerId();
    this.topic = topic;
    this.subscriber = subscriber;
    this.counters = counters;
    Map<String, Object> p = new HashMap<>(kafka);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, consumerId + "-metrics");
    p.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
    this.producer = new KafkaProducer<>(p, new StringSerializer(), serializer);
    clientMeters.opened(CLIENT_ROLE, producer);
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "inference-metrics-" + consumerId);
      t.setDaemon(true);
      return t;
    });
    long ms = config.metricsInterval().toMillis();
    timer.scheduleAtFixedRate(this::publish, ms, ms, TimeUnit.MILLISECONDS);
  }

  private void publish() {
    try {
      for (PipelineMetric m : InferenceMetrics.observe(consumerId, subscriber.swapper(), counters,
          System.currentTimeMillis())) {
        producer.send(new ProducerRecord<>(topic, m.getTask(), m), (md, e) -> {
          if (e != null && warned.compareAndSet(false, true)) {
            log.warn("Inference consumer {} cannot publish metrics to {} ({}); serving is unaffected", consumerId, topic,
                e.toString());
          }
        });
      }
    } catch (RuntimeException e) {
      if (warned.compareAndSet(false, true)) {
        log.warn("Inference consumer {} cannot publish metrics to {}: {}", consumerId, topic, e.toString());
      }
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    publish();
    clientMeters.closing(CLIENT_ROLE);
    producer.close(Duration.ofSeconds(5));
  }
}
