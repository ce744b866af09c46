package io.lorastream.launcher;

import io.lorastream.avro.PipelineMetric;
import io.lorastream.stream.eval.EvalMetrics;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Follows the {@code metrics} topic (read-committed, from the beginning) and keeps the latest
 * value of every cumulative series, so the demo can show live status and reconcile counts. Ingest
 * counters are cumulative per partition (summed here); evaluation windows are re-published while
 * open, so the latest record per window wins and phases are re-aggregated from raw counts.
 */
final class MetricsCollector implements AutoCloseable {
  /** Correct / count for one (phase, model). */
  record Tally(long count, long correct) {
    double accuracy() {
      return count == 0 ? Double.NaN : (double) correct / count;
    }
  }

  private final KafkaConsumer<String, PipelineMetric> consumer;
  private final String topic;
  private final io.lorastream.stream.ingest.IngestTotals ingest = new io.lorastream.stream.ingest.IngestTotals();
  private final Map<String, long[]> evalWindows = new ConcurrentHashMap<>();
  private final Thread thread;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final CountDownLatch stopped = new CountDownLatch(1);

  MetricsCollector(Map<String, String> kafka, String topic, Deserializer<PipelineMetric> values) {
    Map<String, Object> cfg = new HashMap<>(kafka);
    cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cfg.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cfg.put(ConsumerConfig.CLIENT_ID_CONFIG, "lorastream-demo-metrics");
    cfg.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "50");
    this.consumer = new KafkaConsumer<>(cfg, new StringDeserializer(), values);
    this.topic = topic;
    this.thread = new Thread(this::loop, "lorastream-demo-metrics");
    this.thread.setDaemon(true);
  }

  MetricsCollector start() {
    thread.start();
    return this;
  }

  private void loop() {
    try {
      List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      while (running.get()) {
        for (ConsumerRecord<String, PipelineMetric> r : consumer.poll(Duration.ofMillis(100))) {
          if (r.value() != null) {
            accept(r.value());
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    } finally {
      consumer.close(Duration.ofSeconds(2));
      stopped.countDown();
    }
  }

  void accept(PipelineMetric m) {
    String name = m.getName();
    Map<String, String> tags = m.getTags();
    if (ingest.accept(m)) {
      return;
    }
    if (name.equals(EvalMetrics.PREQUENTIAL_ACCURACY) || name.equals(EvalMetrics.HOLDOUT_ACCURACY)) {
      String key = String.join("|", name, m.getTask(), tags.getOrDefault(EvalMetrics.TAG_MODEL, ""),
          tags.getOrDefault(EvalMetrics.TAG_PHASE, ""), tags.getOrDefault(EvalMetrics.TAG_VERSION, ""),
          tags.getOrDefault(EvalMetrics.TAG_WINDOW, ""));
      long count = parseLong(tags.get(EvalMetrics.TAG_COUNT));
      long correct = parseLong(tags.get(EvalMetrics.TAG_CORRECT));
      evalWindows.put(key, new long[] {count, correct});
    }
  }

  /** Sum over partitions of the latest cumulative value of an ingest counter. */
  long ingestTotal(String name) {
    return ingest.total(name);
  }

  /** DLQ counts by reason, summed over partitions. */
  Map<String, Long> dlqByReason() {
    return ingest.dlqByReason();
  }

  /** metric (prequential or holdout) → phase → model → tally, re-aggregated from raw window counts. */
  Map<String, Map<String, Tally>> byPhase(String metric) {
    Map<String, Map<String, Tally>> out = new TreeMap<>();
    evalWindows.forEach((key, v) -> {
      String[] k = key.split("\\|", -1);
      if (!k[0].equals(metric)) {
        return;
      }
      out.computeIfAbsent(k[3], p -> new TreeMap<>()).merge(k[2], new Tally(v[0], v[1]),
          (a, b) -> new Tally(a.count() + b.count(), a.correct() + b.correct()));
    });
    return out;
  }

  /** Overall tally of one model over all phases. */
  Tally overall(String metric, String model) {
    long c = 0;
    long k = 0;
    for (Map<String, Tally> m : byPhase(metric).values()) {
      Tally t = m.get(model);
      if (t != null) {
        c += t.count();
        k += t.correct();
      }
    }
    return new Tally(c, k);
  }

  private static long parseLong(String s) {
    try {
      return s == null ? 0 : Long.parseLong(s);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  @Override
  public void close() {
    running.set(false);
    consumer.wakeup();
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
