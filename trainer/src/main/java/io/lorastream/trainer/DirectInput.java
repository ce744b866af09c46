package io.lorastream.trainer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;

/**
 * The trainer's own consumer, polled on the trainer thread ({@code trainer.fetch.threads=0}). A
 * seek takes effect on the next poll, and the trainer stops using a poll it rewound itself, so
 * every record of a poll stays current.
 */
final class DirectInput implements TrainerInput {
  private final Consumer<byte[], byte[]> consumer;

  DirectInput(Consumer<byte[], byte[]> consumer) {
    this.consumer = consumer;
  }

  private record Records(List<ConsumerRecord<byte[], byte[]>> records) implements Polled {
    @Override
    public List<RecordIntake.Outcome> outcomes() {
      return null;
    }

    @Override
    public boolean isEmpty() {
      return records.isEmpty();
    }
  }

  @Override
  public void assign(Collection<TopicPartition> partitions) {
    // CommittedStateReader assigned them to this very consumer.
  }

  @Override
  public Polled poll(Duration timeout) {
    ConsumerRecords<byte[], byte[]> rs = consumer.poll(timeout);
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>(rs.count());
    rs.forEach(out::add);
    return new Records(out);
  }

  @Override
  public boolean current(Polled p, TopicPartition tp) {
    return true;
  }

  @Override
  public Map<TopicPartition, Long> positions(Polled p, Collection<TopicPartition> partitions) {
    Map<TopicPartition, Long> out = new LinkedHashMap<>();
    for (TopicPartition tp : partitions) {
      out.put(tp, consumer.position(tp));
    }
    return out;
  }

  @Override
  public OptionalLong lag(TopicPartition tp) {
    return consumer.currentLag(tp);
  }

  @Override
  public void seek(TopicPartition tp, long offset) {
    consumer.seek(tp, offset);
  }

  @Override
  public void pause(TopicPartition tp) {
    consumer.pause(List.of(tp));
  }

  @Override
  public void resume(Collection<TopicPartition> partitions) {
    consumer.resume(partitions);
  }

  @Override
  public void close() {
    // the consumer belongs to the trainer
  }
}
