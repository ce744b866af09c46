package io.lorastream.launcher;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.config.CommonConfig;
import io.lorastream.kafka.ChunkedValues;
import io.lorastream.lora.snapshot.AdapterDeletion;
import io.lorastream.registry.RegistryException;
import io.lorastream.serde.LorastreamSerdes;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads the {@code adapters} topic to its end (read_committed) and keeps one adapter's snapshots
 * by version, for the {@code adapters} commands; snapshots published in parts are put back together
 * first. Records that do not decode are skipped; a registry outage is not (without the registry
 * nothing can be said about the versions).
 */
final class CommittedAdapterReader {
  private CommittedAdapterReader() {
  }

  /**
   * What the topic holds for one adapter.
   *
   * @param versions every decodable committed snapshot, by version (the newest copy of each)
   * @param partKeys keys of the parts of its snapshots that are still on the topic (a deletion
   *     tombstones them too, so that compaction removes them)
   * @param deletedThrough the highest version a deletion on the topic covers (0 for none); new
   *     versions must lie above it and above every snapshot
   */
  record Found(TreeMap<Long, AdapterSnapshot> versions, Set<String> partKeys, long deletedThrough) {
    /** The version a new snapshot of the adapter gets. */
    long nextVersion() {
      return Math.max(deletedThrough, versions.isEmpty() ? 0 : versions.lastKey()) + 1;
    }
  }

  static Found read(CommonConfig common, String adapter, Duration timeout, String clientId) {
    return readAll(common, adapter, timeout, clientId).getOrDefault(adapter,
        new Found(new TreeMap<>(), new TreeSet<>(), 0));
  }

  /** What the topic holds for every adapter ({@code only} null), or for one, by adapter id. */
  static TreeMap<String, Found> readAll(CommonConfig common, String only, Duration timeout, String clientId) {
    String topic = common.catalog().adapters.name();
    Map<String, Object> p = new HashMap<>(common.kafkaProperties());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    p.remove(ConsumerConfig.GROUP_ID_CONFIG);
    Deserializer<AdapterSnapshot> d = LorastreamSerdes.create(common.registryConfig()).adapterSnapshot().deserializer();
    Map<String, TreeMap<Long, AdapterSnapshot>> versions = new HashMap<>();
    Map<String, Long> deleted = new HashMap<>();
    ChunkedValues.Assembler parts = new ChunkedValues.Assembler();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> tps = c.partitionsFor(topic, timeout).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps, timeout);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new TimeoutException("could not read '" + topic + "' within " + timeout);
        }
        for (ConsumerRecord<byte[], byte[]> raw : c.poll(Duration.ofMillis(200))) {
          String adapter = ChunkedValues.valueKey(raw.key());
          if (adapter == null || (only != null && !only.equals(adapter))) {
            continue;
          }
          TreeMap<Long, AdapterSnapshot> out = versions.computeIfAbsent(adapter, k -> new TreeMap<>());
          ConsumerRecord<byte[], byte[]> r = parts.offer(raw).record();
          if (r != null && r.value() == null) { // the adapter's own tombstone (parts never come back as records)
            long newest = out.isEmpty() ? 0 : out.lastKey();
            deleted.merge(adapter, AdapterDeletion.classify(adapter, r.headers(), null).coveredThrough(newest), Math::max);
          }
          if (r == null || r.value() == null) {
            continue;
          }
          try {
            AdapterSnapshot s = d.deserialize(topic, r.headers(), r.value());
            out.put(s.getVersion(), s);
          } catch (RuntimeException e) {
            if (RegistryException.isOutage(e)) {
              throw e;
            }
          }
        }
      }
    }
    TreeMap<String, Found> found = new TreeMap<>();
    for (Map.Entry<String, TreeMap<Long, AdapterSnapshot>> e : versions.entrySet()) {
      String id = e.getKey();
      Set<String> own = new TreeSet<>();
      for (String k : parts.partKeys()) {
        if (id.equals(ChunkedValues.ownerOf(k).orElse(k))) {
          own.add(k);
        }
      }
      found.put(id, new Found(e.getValue(), own, deleted.getOrDefault(id, 0L)));
    }
    return found;
  }
}
