package io.lorastream.trainer;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Where the trainer thread reads its input records from: the trainer's own consumer, polled on the
 * trainer thread ({@link DirectInput}), or fetcher threads that poll ahead of it
 * ({@link PartitionFetchers}, {@code trainer.fetch.threads}). Every method is called on the
 * trainer thread. A seek makes every record of that partition polled before it stale, so the
 * trainer never trains a record twice or out of order after a rewind.
 */
interface TrainerInput extends AutoCloseable {
  /** One poll's records, each partition's in offset order. */
  interface Polled {
    List<ConsumerRecord<byte[], byte[]>> records();

    /** Outcomes decoded ahead on the fetcher, aligned with {@link #records()}; null when the trainer decodes. */
    List<RecordIntake.Outcome> outcomes();

    boolean isEmpty();
  }

  /** Starts reading {@code partitions} (the trainer has assigned them to its own consumer already). */
  void assign(Collection<TopicPartition> partitions);

  Polled poll(Duration timeout);

  /** Whether {@code tp}'s records in {@code p} are still to be used: the partition was not sought since. */
  boolean current(Polled p, TopicPartition tp);

  /** Each partition's position after {@code p}, for the partitions whose positions are current. */
  Map<TopicPartition, Long> positions(Polled p, Collection<TopicPartition> partitions);

  /** The partition's lag as of its last fetch, empty when unknown. */
  OptionalLong lag(TopicPartition tp);

  void seek(TopicPartition tp, long offset);

  void pause(TopicPartition tp);

  void resume(Collection<TopicPartition> partitions);

  @Override
  void close();
}
