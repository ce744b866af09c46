package io.lorastream.stream.ingest;

import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.kafka.DlqHeaders;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-partition worker of {@link IngestTopology}: validates each raw record, dead-letters the
 * invalid ones with their original bytes, drops ids already seen within the dedupe window, routes
 * the rest, and keeps every outcome in a counter store that a wall-clock punctuator publishes.
 * Counting, state and outputs share the stream task's exactly-once transaction, which is what
 * makes the reconciliation counters exact across crashes.
 */
final class IngestProcessor implements Processor<byte[], byte[], Object, Object> {
  private static final Logger log = LoggerFactory.getLogger(IngestProcessor.class);
  static final String REASON_SEPARATOR = "#"; // also parsed by IngestService#localCounters

  private final StreamAppConfig.Ingest config;
  private final ExampleValidator validator;
  private ProcessorContext<Object, Object> context;
  private WindowStore<String, Long> seen;
  private KeyValueStore<String, Long> counters;
  private boolean dirty = true;

  IngestProcessor(StreamAppConfig.Ingest config, ExampleValidator validator) {
    this.config = config;
    this.validator = validator;
  }

  @Override
  public void init(ProcessorContext<Object, Object> context) {
    this.context = context;
    this.seen = context.getStateStore(IngestTopology.DEDUPE_STORE);
    this.counters = context.getStateStore(IngestTopology.COUNTER_STORE);
    this.dirty = true;
    context.schedule(config.metricsInterval(), PunctuationType.WALL_CLOCK_TIME, this::publishCounters);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    RecordMetadata meta = context.recordMetadata().orElse(null);
    String topic = meta == null ? "" : meta.topic();
    increment(IngestMetrics.PROCESSED);
    ExampleValidator.Verdict verdict;
    try {
      verdict = validator.validate(topic, record.headers(), record.key(), record.value());
    } catch (RuntimeException e) {
      if (ExampleValidator.isOutage(e)) {
        // Not the record's fault: fail the task so the transaction aborts and the record is retried.
        throw e;
      }
      log.error("validator failed unexpectedly on {}; dead-lettering the record instead of losing it", where(meta), e);
      verdict = new ExampleValidator.Invalid(DlqReason.INTERNAL_ERROR, "validator failed: " + e, e);
    }
    if (verdict instanceof ExampleValidator.Invalid invalid) {
      deadLetter(record, meta, invalid);
    } else {
      route(record, ((ExampleValidator.Valid) verdict).example());
    }
  }

  private void route(Record<byte[], byte[]> record, LabeledExample example) {
    String id = example.getId();
    long ts = record.timestamp();
    long window = config.dedupeWindow().toMillis();
    try (WindowStoreIterator<Long> it = seen.fetch(id, saturatingAdd(ts, -window), saturatingAdd(ts, window))) {
      if (it.hasNext()) {
        increment(IngestMetrics.DUPLICATES);
        return;
      }
    }
    seen.put(id, ts, ts);
    increment(IngestMetrics.VALID);
    boolean holdout = IngestTopology.isHoldout(id, config.holdoutFraction());
    increment(holdout ? IngestMetrics.HOLDOUT : IngestMetrics.TRAIN);
    context.forward(new Record<Object, Object>(example.getTask(), example, ts, record.headers()),
        holdout ? IngestTopology.EVAL_SINK : IngestTopology.TRAIN_SINK);
  }

  private void deadLetter(Record<byte[], byte[]> record, RecordMetadata meta, ExampleValidator.Invalid invalid) {
    Headers headers = DlqHeaders.deadLetter(record.headers(), invalid.reason().name(), invalid.detail(),
        meta == null ? "" : meta.topic(), meta == null ? -1 : meta.partition(), meta == null ? -1 : meta.offset(),
        invalid.cause().getClass().getName());
    increment(IngestMetrics.DLQ);
    increment(IngestMetrics.DLQ_BY_REASON + REASON_SEPARATOR + invalid.reason().name());
    log.debug("dead-lettered {}: {} {}", where(meta), invalid.reason(), invalid.detail());
    context.forward(new Record<Object, Object>(record.key(), record.value(), record.timestamp(), headers),
        IngestTopology.DLQ_SINK);
  }

  private void publishCounters(long now) {
    if (!dirty) {
      return;
    }
    int partition = context.taskId().partition();
    String streamTask = context.taskId().toString();
    List<KeyValue<String, Long>> all = new ArrayList<>();
    try (KeyValueIterator<String, Long> it = counters.all()) {
      it.forEachRemaining(all::add);
    }
    for (KeyValue<String, Long> kv : all) {
      String name = kv.key;
      Map<String, String> tags;
      int sep = name.indexOf(REASON_SEPARATOR);
      if (sep >= 0) {
        tags = Map.of(IngestMetrics.TAG_PARTITION, String.valueOf(partition), IngestMetrics.TAG_STREAM_TASK, streamTask,
            IngestMetrics.TAG_REASON, name.substring(sep + 1));
        name = name.substring(0, sep);
      } else {
        tags = Map.of(IngestMetrics.TAG_PARTITION, String.valueOf(partition), IngestMetrics.TAG_STREAM_TASK, streamTask);
      }
      PipelineMetric m = PipelineMetric.newBuilder()
          .setName(name)
          .setTask("")
          .setValue(kv.value)
          .setTags(tags)
          .setService(config.applicationId())
          .setTimestamp(java.time.Instant.ofEpochMilli(now))
          .build();
      context.forward(new Record<Object, Object>("", m, now), IngestTopology.METRICS_SINK);
    }
    dirty = false;
  }

  private void increment(String counter) {
    Long v = counters.get(counter);
    counters.put(counter, v == null ? 1L : v + 1);
    dirty = true;
  }

  private static String where(RecordMetadata meta) {
    return meta == null ? "(unknown position)" : meta.topic() + "-" + meta.partition() + "@" + meta.offset();
  }

  private static long saturatingAdd(long a, long b) {
    long r = a + b;
    if (((a ^ r) & (b ^ r)) < 0) {
      return b < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
    return Math.max(0, r);
  }
}
