package io.lorastream.kafka;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;

/**
 * Reading a whole topic as it stands: every record from the beginning of each partition up to the
 * end offsets looked up when the read starts (with {@code read_committed}, the last stable
 * offsets). What a restoring service or a command does with a compacted topic of states.
 */
public final class TopicReads {
  private TopicReads() {
  }

  /**
   * Assigns every partition of {@code topic} to {@code c}, reads it to today's end and hands each
   * record to {@code sink}; false (nothing read) when the topic does not exist.
   *
   * @throws TimeoutException when the end is not reached within {@code timeout}
   */
  public static boolean readToEnd(KafkaConsumer<byte[], byte[]> c, String topic, Duration timeout,
      Consumer<ConsumerRecord<byte[], byte[]>> sink) {
    List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(10));
    if (infos == null || infos.isEmpty()) {
      return false;
    }
    List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
    c.assign(tps);
    c.seekToBeginning(tps);
    Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(10));
    long deadline = System.nanoTime() + timeout.toNanos();
    while (tps.stream().anyMatch(tp -> c.position(tp, Duration.ofSeconds(10)) < end.get(tp))) {
      if (System.nanoTime() > deadline) {
        throw new TimeoutException("could not read " + topic + " to its end within " + timeout);
      }
      for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
        sink.accept(r);
      }
    }
    return true;
  }
}
