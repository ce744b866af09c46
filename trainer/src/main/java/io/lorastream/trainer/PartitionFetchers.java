package io.lorastream.trainer;

import io.lorastream.metrics.KafkaClientMeters;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetcher threads that poll the trainer's input ahead of it ({@code trainer.fetch.threads=N}): each
 * owns a consumer over a fixed share of the partitions (round-robin), so the broker round trips,
 * the copying of record bytes and, for a base without a tokenizer, the Avro decoding and validation
 * of one partition's records overlap those of the others and the trainer's step. Ready polls wait in
 * a bounded queue (two per fetcher), which holds back a fetcher whose trainer is slower.
 *
 * <p>The trainer thread still settles every record, in order per partition, and owns the offsets.
 * It steers the fetchers by commands that each fetcher applies before its next poll. Every seek
 * (a rewind after an aborted transaction, a pause while the registry is away) moves the
 * partition to a new epoch; a poll carries the epoch its fetcher had for each partition, and the
 * trainer uses a partition's records and position only when that epoch is still the current one.
 * So a record fetched before a rewind is never trained, and a partition's records are never
 * trained out of order, however many polls were queued when the seek came.
 */
final class PartitionFetchers implements TrainerInput {
  private static final Logger log = LoggerFactory.getLogger(PartitionFetchers.class);
  private static final int QUEUED_POLLS_PER_FETCHER = 2;

  private final List<Fetcher> fetchers = new ArrayList<>();
  private final BlockingQueue<Batch> ready;
  private final Duration pollTimeout;
  private final Function<ConsumerRecord<byte[], byte[]>, RecordIntake.Outcome> decoder; // null: the trainer decodes
  private final KafkaClientMeters meters;
  private final Map<TopicPartition, OptionalLong> lags = new ConcurrentHashMap<>();
  // Trainer thread only.
  private final Map<TopicPartition, Fetcher> owner = new HashMap<>();
  private final Map<TopicPartition, Long> epochs = new HashMap<>();
  private volatile Throwable failure;

  /**
   * @param consumerProps the input consumer's settings; each fetcher's client id gets a suffix
   * @param decoder decodes one record on the fetcher thread; null: the trainer decodes
   */
  PartitionFetchers(int threads, Map<String, Object> consumerProps, Duration pollTimeout,
      Function<ConsumerRecord<byte[], byte[]>, RecordIntake.Outcome> decoder, KafkaClientMeters meters, String name) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    this.ready = new ArrayBlockingQueue<>(QUEUED_POLLS_PER_FETCHER * threads);
    this.pollTimeout = pollTimeout;
    this.decoder = decoder;
    this.meters = meters;
    for (int i = 0; i < threads; i++) {
      Map<String, Object> p = new HashMap<>(consumerProps);
      // Offsets are committed in the snapshot transactions through the trainer's own consumer's
      // group; a fetcher only reads assigned partitions.
      p.remove(ConsumerConfig.GROUP_ID_CONFIG);
      p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
      p.put(ConsumerConfig.CLIENT_ID_CONFIG, p.getOrDefault(ConsumerConfig.CLIENT_ID_CONFIG, name) + "-fetch-" + i);
      fetchers.add(new Fetcher(i, p, name));
    }
    fetchers.forEach(f -> f.thread.start());
  }

  /** One fetcher poll: records, what the fetcher decoded them to, and the partitions' epochs and positions after it. */
  private record Batch(List<ConsumerRecord<byte[], byte[]>> records, List<RecordIntake.Outcome> outcomes,
      Map<TopicPartition, Long> epochs, Map<TopicPartition, Long> positions) implements Polled {
    @Override
    public boolean isEmpty() {
      return records.isEmpty();
    }
  }

  private static final Batch NOTHING = new Batch(List.of(), null, Map.of(), Map.of());

  @Override
  public void assign(Collection<TopicPartition> partitions) {
    List<TopicPartition> sorted = new ArrayList<>(partitions);
    sorted.sort(java.util.Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
    Map<Fetcher, List<TopicPartition>> shares = new LinkedHashMap<>();
    fetchers.forEach(f -> shares.put(f, new ArrayList<>()));
    owner.clear();
    for (int i = 0; i < sorted.size(); i++) {
      Fetcher f = fetchers.get(i % fetchers.size());
      shares.get(f).add(sorted.get(i));
      owner.put(sorted.get(i), f);
    }
    // Whatever was queued for the old assignment is stale.
    Map<TopicPartition, Long> next = new HashMap<>();
    for (TopicPartition tp : sorted) {
      next.put(tp, epochs.getOrDefault(tp, 0L) + 1);
    }
    epochs.clear();
    epochs.putAll(next);
    lags.keySet().retainAll(next.keySet());
    shares.forEach((f, share) -> {
      Map<TopicPartition, Long> theirs = new HashMap<>();
      share.forEach(tp -> theirs.put(tp, next.get(tp)));
      f.command(x -> {
        x.consumer.assign(share);
        x.epochs.clear();
        x.epochs.putAll(theirs);
      });
    });
  }

  @Override
  public Polled poll(Duration timeout) {
    rethrowFailure();
    Batch b;
    try {
      b = ready.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptException(e);
    }
    if (b == null) {
      rethrowFailure();
      return NOTHING;
    }
    return b;
  }

  private void rethrowFailure() {
    Throwable t = failure;
    if (t != null) {
      throw t instanceof KafkaException k ? k : new KafkaException("an input fetcher failed: " + t, t);
    }
  }

  @Override
  public boolean current(Polled p, TopicPartition tp) {
    Long theirs = ((Batch) p).epochs.get(tp);
    return theirs != null && theirs.equals(epochs.get(tp));
  }

  @Override
  public Map<TopicPartition, Long> positions(Polled p, Collection<TopicPartition> partitions) {
    Batch b = (Batch) p;
    Map<TopicPartition, Long> out = new LinkedHashMap<>();
    for (TopicPartition tp : partitions) {
      Long pos = b.positions.get(tp);
      if (pos != null && current(p, tp)) {
        out.put(tp, pos);
      }
    }
    return out;
  }

  @Override
  public OptionalLong lag(TopicPartition tp) {
    return lags.getOrDefault(tp, OptionalLong.empty());
  }

  @Override
  public void seek(TopicPartition tp, long offset) {
    long e = epochs.merge(tp, 1L, Long::sum);
    ownerOf(tp).command(x -> {
      x.consumer.seek(tp, offset);
      x.epochs.put(tp, e);
    });
  }

  @Override
  public void pause(TopicPartition tp) {
    ownerOf(tp).command(x -> x.consumer.pause(List.of(tp)));
  }

  @Override
  public void resume(Collection<TopicPartition> partitions) {
    Map<Fetcher, List<TopicPartition>> byOwner = new HashMap<>();
    partitions.forEach(tp -> byOwner.computeIfAbsent(ownerOf(tp), f -> new ArrayList<>()).add(tp));
    byOwner.forEach((f, tps) -> f.command(x -> x.consumer.resume(tps)));
  }

  private Fetcher ownerOf(TopicPartition tp) {
    Fetcher f = owner.get(tp);
    if (f == null) {
      throw new IllegalStateException(tp + " is not an assigned input partition");
    }
    return f;
  }

  @Override
  public void close() {
    fetchers.forEach(Fetcher::stop);
    for (Fetcher f : fetchers) {
      try {
        f.thread.join(TimeUnit.SECONDS.toMillis(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (f.thread.isAlive()) {
        log.warn("input fetcher {} did not stop within 10 s", f.thread.getName());
      }
    }
    ready.clear();
  }

  /** One fetcher thread and its consumer. */
  private final class Fetcher {
    private final Map<String, Object> props;
    private final String role;
    private final Thread thread;
    /** What the trainer thread asked for, applied on this thread before the next poll. */
    private final LinkedBlockingQueue<java.util.function.Consumer<Fetcher>> commands = new LinkedBlockingQueue<>();
    /** The epoch this fetcher reads each of its partitions at (fetcher thread only). */
    private final Map<TopicPartition, Long> epochs = new HashMap<>();
    private volatile KafkaConsumer<byte[], byte[]> consumer;
    private volatile boolean stopped;

    Fetcher(int index, Map<String, Object> props, String name) {
      this.props = props;
      this.role = "input-fetch-" + index;
      this.thread = new Thread(this::run, "trainer-fetch-" + name + "-" + index);
      this.thread.setDaemon(true);
    }

    void command(java.util.function.Consumer<Fetcher> c) {
      commands.add(c);
    }

    void stop() {
      stopped = true;
      KafkaConsumer<byte[], byte[]> c = consumer;
      if (c != null) {
        c.wakeup();
      }
    }

    private void run() {
      try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props)) {
        consumer = c;
        meters.whileBound(role, c, () -> loop(c));
      } catch (Throwable t) {
        if (!stopped) {
          log.error("input fetcher {} failed; the trainer stops with its error", thread.getName(), t);
          failure = t;
        }
      } finally {
        consumer = null;
      }
    }

    private void loop(KafkaConsumer<byte[], byte[]> c) throws InterruptedException {
      Map<TopicPartition, Long> lastPositions = Map.of();
      while (!stopped) {
        for (var cmd = commands.poll(); cmd != null; cmd = commands.poll()) {
          cmd.accept(this);
          lastPositions = Map.of(); // a seek's position reaches the trainer even if it did not move
        }
        if (c.assignment().isEmpty()) {
          var cmd = commands.poll(pollTimeout.toMillis(), TimeUnit.MILLISECONDS);
          if (cmd != null) {
            cmd.accept(this);
            lastPositions = Map.of();
          }
          continue;
        }
        ConsumerRecords<byte[], byte[]> rs;
        try {
          rs = c.poll(pollTimeout);
        } catch (WakeupException e) {
          continue; // stop() woke it
        }
        Map<TopicPartition, Long> positions = new HashMap<>();
        for (TopicPartition tp : c.assignment()) {
          positions.put(tp, c.position(tp));
          lags.put(tp, c.currentLag(tp));
        }
        if (rs.isEmpty() && positions.equals(lastPositions)) {
          continue; // nothing new for the trainer
        }
        lastPositions = positions;
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(rs.count());
        rs.forEach(records::add);
        Batch b = new Batch(records, decode(records), Map.copyOf(epochs), positions);
        while (!stopped && !ready.offer(b, pollTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
          // the trainer is behind: hold this poll (and stop fetching) until it takes one
        }
      }
    }

    /** Outcomes of the records, or null when the trainer decodes. */
    private List<RecordIntake.Outcome> decode(List<ConsumerRecord<byte[], byte[]>> records) {
      if (decoder == null) {
        return null;
      }
      List<RecordIntake.Outcome> out = new ArrayList<>(records.size());
      // Once a partition's record waits for the registry, the trainer pauses the partition at it
      // and reads the rest again later, so decoding them now would only wait for the registry again.
      Set<TopicPartition> stalled = new HashSet<>();
      for (ConsumerRecord<byte[], byte[]> r : records) {
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        if (stalled.contains(tp)) {
          out.add(null); // never read: the trainer skips the stalled partition first
          continue;
        }
        RecordIntake.Outcome o = decoder.apply(r);
        if (o.kind() == RecordIntake.Kind.REGISTRY_UNAVAILABLE) {
          stalled.add(tp);
        }
        out.add(o);
      }
      return out;
    }
  }
}
