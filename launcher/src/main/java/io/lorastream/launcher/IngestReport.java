package io.lorastream.launcher;

import io.lorastream.avro.PipelineMetric;
import io.lorastream.config.CommonConfig;
import io.lorastream.stream.ingest.IngestMetrics;
import io.lorastream.stream.ingest.IngestTotals;
import java.io.PrintStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * What ingest did with a replay: reads ingest's cumulative counters from the {@code metrics}
 * topic before the replay and follows them after it, so the replay can say how many of its records
 * were routed, dead-lettered or dropped as duplicates. The figures are deltas of pipeline-wide
 * counters: another producer writing at the same time shows up in them too.
 */
final class IngestReport implements AutoCloseable {
  private final KafkaConsumer<String, PipelineMetric> consumer;
  private final IngestTotals totals = new IngestTotals();
  private final long processed0;
  private final long train0;
  private final long holdout0;
  private final long dlq0;
  private final long duplicates0;

  /** Reads the counters as they are now (bounded by {@code timeout}). */
  IngestReport(CommonConfig common, Deserializer<PipelineMetric> deserializer, Duration timeout) {
    Map<String, Object> p = new HashMap<>(common.kafkaProperties());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "lorastream-replay-ingest-report");
    p.remove(ConsumerConfig.GROUP_ID_CONFIG);
    consumer = new KafkaConsumer<>(p, new StringDeserializer(), deserializer);
    String topic = common.catalog().metrics.name();
    List<TopicPartition> tps = consumer.partitionsFor(topic, timeout).stream()
        .map(i -> new TopicPartition(topic, i.partition())).toList();
    consumer.assign(tps);
    consumer.seekToBeginning(tps);
    Map<TopicPartition, Long> end = consumer.endOffsets(tps, timeout);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline && tps.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
      poll();
    }
    processed0 = totals.total(IngestMetrics.PROCESSED);
    train0 = totals.total(IngestMetrics.TRAIN);
    holdout0 = totals.total(IngestMetrics.HOLDOUT);
    dlq0 = totals.total(IngestMetrics.DLQ);
    duplicates0 = totals.total(IngestMetrics.DUPLICATES);
  }

  /**
   * Follows the counters until ingest has processed {@code sent} more records or {@code wait}
   * passes, then prints what happened to them.
   */
  void report(long sent, Duration wait, PrintStream out) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (totals.total(IngestMetrics.PROCESSED) - processed0 < sent && System.nanoTime() < deadline) {
      poll();
    }
    long processed = totals.total(IngestMetrics.PROCESSED) - processed0;
    long duplicates = totals.total(IngestMetrics.DUPLICATES) - duplicates0;
    if (processed == 0) {
      out.printf("ingest: reported none of the %d records within %d s (is the stream-app running? its counters arrive "
          + "every ingest.metrics.interval.ms)%n", sent, wait.toSeconds());
      return;
    }
    out.printf("ingest: %d of %d records processed: %d to training, %d held out, %d dead-lettered, %d dropped as "
        + "duplicates%n", processed, sent, totals.total(IngestMetrics.TRAIN) - train0,
        totals.total(IngestMetrics.HOLDOUT) - holdout0, totals.total(IngestMetrics.DLQ) - dlq0, duplicates);
    if (duplicates > 0) {
      out.printf("ingest: %d records were dropped as duplicates: their ids were already seen within "
          + "ingest.dedupe.window.ms. Replay without --seed for fresh ids, or with another --seed.%n", duplicates);
    }
  }

  private void poll() {
    consumer.poll(Duration.ofMillis(200)).forEach(r -> {
      if (r.value() != null) {
        totals.accept(r.value());
      }
    });
  }

  @Override
  public void close() {
    consumer.close(Duration.ofSeconds(2));
  }
}
