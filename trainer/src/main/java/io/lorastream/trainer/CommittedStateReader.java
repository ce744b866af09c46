package io.lorastream.trainer;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.OffsetRange;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.snapshot.DecodedAdapter;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * What a (re)starting trainer resumes from: the newest committed snapshot of its adapter
 * ({@link CommittedSnapshots}) and the input offsets to start at. Every read is bounded by
 * default.api.timeout.ms and comes before any trainer state changes, so a timeout or a wakeup
 * leaves nothing half-done and the attempt is simply repeated: a broker outage is retried at once
 * (each attempt already waited), a registry outage after a backoff of 250 ms doubling to 5 s. A
 * stop request ends the wait with {@link AbandonedException}.
 */
final class CommittedStateReader {
  private static final long BACKOFF_MIN_MS = 250;
  private static final long BACKOFF_MAX_MS = 5_000;

  /**
   * The committed state: what was found, every input partition, and where each starts (the
   * snapshot's {@code untilOffset}, or the partition's beginning where it names none).
   */
  record State(CommittedSnapshots.Result found, List<TopicPartition> partitions, Map<TopicPartition, Long> start) {
    /** The restored snapshot, or null for a fresh adapter. */
    DecodedAdapter snapshot() {
      return found.decoded();
    }

    /** A published counter of the restored snapshot (0 for a fresh adapter or a missing value). */
    long counter(String key) {
      DecodedAdapter s = found.decoded();
      if (s == null) {
        return 0;
      }
      Double v = s.metrics().get(key);
      return v == null || !Double.isFinite(v) || v < 0 ? 0 : Math.round(v);
    }
  }

  private final String adapterId;
  private final String inputTopic;
  private final String adaptersTopic;
  private final Map<String, Object> readProps;
  private final Map<String, Object> highWatermarkProps;
  private final Duration timeout;
  private final Deserializer<AdapterSnapshot> deserializer;
  private final BaseModel base;
  private final byte[] hmacKey;
  private final CloseSignal closing;
  private final Stalls stalls;

  CommittedStateReader(String adapterId, String inputTopic, String adaptersTopic, Map<String, Object> readProps,
      Map<String, Object> highWatermarkProps, Duration timeout, Deserializer<AdapterSnapshot> deserializer,
      BaseModel base, byte[] hmacKey, CloseSignal closing, Stalls stalls) {
    this.adapterId = adapterId;
    this.inputTopic = inputTopic;
    this.adaptersTopic = adaptersTopic;
    this.readProps = readProps;
    this.highWatermarkProps = highWatermarkProps;
    this.timeout = timeout;
    this.deserializer = deserializer;
    this.base = base;
    this.hmacKey = hmacKey;
    this.closing = closing;
    this.stalls = stalls;
  }

  /** Reads until it succeeds; {@code consumer} ends up assigned to every input partition. */
  State read(Consumer<byte[], byte[]> consumer) {
    long backoffMs = BACKOFF_MIN_MS;
    while (true) {
      try {
        return readOnce(consumer);
      } catch (TimeoutException e) {
        // The broker is unreachable (or restarting): nothing has changed yet, so simply try again.
        closing.abandonIfRequested("reading the committed state", e);
        stalls.stalled("reading the committed state", e);
      } catch (CommittedSnapshots.RegistryUnavailable e) {
        // Not bad data: without the registry nothing can be said about the snapshots, so wait.
        closing.abandonIfRequested("the schema registry was unavailable", e);
        stalls.stalled("waiting for the schema registry to read the committed state", e);
        closing.backoff(backoffMs, "waiting for the schema registry");
        backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
      }
    }
  }

  private State readOnce(Consumer<byte[], byte[]> consumer) {
    CommittedSnapshots.Result found = CommittedSnapshots.read(readProps, highWatermarkProps, adaptersTopic, adapterId,
        deserializer, base, hmacKey, timeout, closing::requested);
    List<PartitionInfo> infos = consumer.partitionsFor(inputTopic, timeout);
    if (infos == null || infos.isEmpty()) {
      throw new IllegalStateException("input topic '" + inputTopic + "' does not exist; create the lorastream topics "
          + "first or set topic.examples.train to the right name");
    }
    List<TopicPartition> all = infos.stream().map(i -> new TopicPartition(i.topic(), i.partition()))
        .sorted(Comparator.comparingInt(TopicPartition::partition)).toList();
    consumer.assign(all);
    Map<TopicPartition, Long> start = new LinkedHashMap<>(consumer.beginningOffsets(all, timeout));
    if (found.decoded() != null) {
      for (OffsetRange r : found.decoded().sourceOffsets()) {
        TopicPartition tp = new TopicPartition(r.getTopic(), r.getPartition());
        if (start.containsKey(tp)) {
          start.put(tp, r.getUntilOffset());
        }
      }
    }
    return new State(found, all, start);
  }
}
