package io.lorastream.trainer;

import io.lorastream.lora.snapshot.DecodedAdapter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import io.lorastream.kafka.ChunkedValues;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer's transactional producer and the publisher thread that runs the blocking part of a
 * snapshot transaction (begin, sends, input offsets, acknowledgements, commit), so that training
 * goes on while the broker commits. At most one transaction is in flight; its outcome comes back
 * to the trainer thread through a future, which classifies a failure and decides between abort
 * and rollback ({@link #abort}) and stopping. Timed-out calls that Kafka allows to repeat
 * (initTransactions, commit) are repeated here, and the status names what is retried.
 */
final class SnapshotTransactions {
  private static final Logger log = LoggerFactory.getLogger(AdapterTrainer.class);
  /** How long one wait for snapshot acknowledgements may take before the status reports a stall. */
  private static final long ACK_STALL_MS = 2_000;
  /** How often a trainer waiting for its in-flight transaction refreshes its status. */
  private static final long STATUS_WHILE_WAITING_MS = 200;

  /**
   * A snapshot cut whose transaction runs on the publisher thread. Everything the trainer thread
   * needs to finish the bookkeeping (or to roll back) once the outcome is known is captured at the
   * cut, because training continues meanwhile.
   */
  record Pending(long version, OffsetTracker.Cut cut, SnapshotMetrics.Values values, DecodedAdapter verified,
      long bytes, long skippedAtCut, boolean shutdown) {
  }

  /**
   * How the trainer thread learns that the transaction in flight was aborted: with
   * {@code producerReplaced} the abort itself failed and the producer was replaced (the new one
   * fences the old), so only the topic can say what is committed and the committed state must be
   * read again; otherwise the trainer rolls back to it.
   */
  @FunctionalInterface
  interface Aborted {
    void aborted(Pending p, boolean producerReplaced);
  }

  /** How the trainer thread learns that the transaction in flight committed, and when. */
  @FunctionalInterface
  interface Committed {
    void committed(Pending p, long commitWallMillis);
  }

  /** Everything one transaction sends, prepared on the trainer thread. */
  record Batch(long version, byte[] snapshot, List<byte[]> metrics, List<ProducerRecord<String, byte[]>> deadLetters,
      Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group) {
  }

  private final String adapterId;
  private final String adaptersTopic;
  private final int partBytes;
  private final String metricsTopic;
  private final Map<String, Object> producerProps;
  /** The producer's max.block.ms: how long a closing trainer still waits for acknowledgements. */
  private final long maxBlockMs;
  private final CloseSignal closing;
  private final Stalls stalls;
  private final FaultPoints faults;
  /** Role of the transactional producer in the service's Kafka client metrics. */
  static final String METER_ROLE = "snapshots";
  private final io.lorastream.metrics.KafkaClientMeters meters;
  private final ExecutorService publisher;
  // Replaced only on the trainer thread, while no transaction is in flight.
  private volatile Producer<String, byte[]> producer;
  // Trainer thread only: the transaction in flight, if any, and its future commit wall time.
  private Pending pending;
  // Publisher thread only: the adapters topic's partition count, looked up once.
  private int adapterPartitions;
  private Future<Long> outcome;

  SnapshotTransactions(String adapterId, String adaptersTopic, String metricsTopic, Map<String, Object> producerProps,
      long maxBlockMs, int partBytes, CloseSignal closing, Stalls stalls, FaultPoints faults,
      io.lorastream.metrics.KafkaClientMeters meters) {
    this.meters = meters;
    this.adapterId = adapterId;
    this.partBytes = partBytes;
    this.adaptersTopic = adaptersTopic;
    this.metricsTopic = metricsTopic;
    this.producerProps = producerProps;
    this.maxBlockMs = maxBlockMs;
    this.closing = closing;
    this.stalls = stalls;
    this.faults = faults;
    this.publisher = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "lorastream-publisher-" + adapterId);
      t.setDaemon(true);
      return t;
    });
  }

  void open() {
    producer = new KafkaProducer<>(producerProps);
    meters.opened(METER_ROLE, producer);
  }

  /** Fences predecessors and aborts what they left open; repeats on timeouts until a stop is requested. */
  void initTransactions() {
    while (true) {
      try {
        producer.initTransactions();
        return;
      } catch (TimeoutException e) {
        closing.abandonIfRequested("initializing the transactional producer", e);
        stalls.stalled("initTransactions", e);
      }
    }
  }

  /** Whether a transaction is in flight; at most one is. */
  boolean busy() {
    return pending != null;
  }

  /** Starts the transaction of {@code p} on the publisher thread. */
  void submit(Pending p, Batch batch) {
    if (pending != null) {
      throw new IllegalStateException("v" + pending.version() + " is still in flight");
    }
    pending = p;
    outcome = publisher.submit(() -> transact(batch));
  }

  /**
   * Settles the transaction in flight, if its outcome is known (or, with {@code wait}, once it is;
   * {@code whileWaiting} runs every 200 ms meanwhile, so the status shows the publisher's stalls).
   * A failure is classified exactly as a synchronous one would be: fenced, stop; fatal, stop;
   * abortable, abort (a failed final snapshot quietly, the next start settles it); anything else,
   * such as an injected crash or an abandoned shutdown, is rethrown. An interrupt does not end the
   * wait: the outcome decides what is committed.
   */
  void settle(boolean wait, Runnable whileWaiting, Committed committed, Aborted aborted) {
    Pending p = pending;
    if (p == null || (!wait && !outcome.isDone())) {
      return;
    }
    Future<Long> f = outcome;
    pending = null;
    outcome = null;
    long commitWall;
    boolean interrupted = false;
    try {
      while (true) {
        try {
          commitWall = f.get(STATUS_WHILE_WAITING_MS, TimeUnit.MILLISECONDS);
          break;
        } catch (java.util.concurrent.TimeoutException e) {
          whileWaiting.run();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } catch (ExecutionException e) {
      failed(p, e.getCause(), aborted);
      return;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    committed.committed(p, commitWall);
  }

  private void failed(Pending p, Throwable cause, Aborted aborted) {
    if (cause instanceof KafkaException e) {
      if (e instanceof TimeoutException) {
        stalls.stalled("publishing v" + p.version(), e);
      }
      switch (TransactionErrors.classify(e)) {
        case FENCED -> throw new FencedException("producer fenced while publishing v" + p.version()
            + ": a newer trainer for this adapter took over", e);
        case FATAL -> throw new IllegalStateException("cannot publish snapshot v" + p.version() + ": " + e.getMessage(), e);
        default -> {
          if (p.shutdown()) {
            log.warn("adapter {}: final snapshot v{} failed ({}); a restart resumes from v{}", adapterId, p.version(),
                e.getMessage(), p.version() - 1);
            abortQuietly();
            return;
          }
          log.warn("adapter {}: snapshot v{} transaction failed ({}); aborting", adapterId, p.version(), e.toString());
          aborted.aborted(p, !abort(p.version()));
          return;
        }
      }
    }
    if (cause instanceof RuntimeException re) {
      throw re;
    }
    if (cause instanceof Error err) {
      throw err;
    }
    throw new IllegalStateException("publishing v" + p.version() + " failed: " + cause, cause);
  }

  /**
   * Aborts the failed transaction of {@code version}; returns false when the abort itself failed
   * and the producer was replaced.
   *
   * @throws FencedException when a newer trainer took over meanwhile
   */
  private boolean abort(long version) {
    try {
      producer.abortTransaction();
      return true;
    } catch (KafkaException | IllegalStateException e) {
      if (e instanceof KafkaException ke && TransactionErrors.classify(ke) == TransactionErrors.Kind.FENCED) {
        throw new FencedException("producer fenced while aborting v" + version, e);
      }
      log.warn("adapter {}: abort failed ({}); recreating the producer and re-reading the committed state",
          adapterId, e.toString());
      meters.closing(METER_ROLE);
      producer.close(Duration.ZERO);
      producer = new KafkaProducer<>(producerProps);
      meters.opened(METER_ROLE, producer);
      return false;
    }
  }

  /** At shutdown, after a failed final snapshot: the next start settles whatever is left. */
  private void abortQuietly() {
    try {
      producer.abortTransaction();
    } catch (RuntimeException e) {
      log.debug("abort during shutdown failed", e);
    }
  }

  /**
   * After a clean stop the producer gets {@code wait} to finish; after a crash ({@code ZERO}) it is
   * closed at once, leaving any open transaction to the next trainer's initTransactions, as a killed
   * process would.
   */
  void close(Duration wait) {
    publisher.shutdownNow(); // after a crash a transaction still in flight fails with the closed producer
    if (producer != null) {
      meters.closing(METER_ROLE);
      try {
        producer.close(wait);
      } catch (RuntimeException e) {
        log.debug("producer close failed", e);
      }
    }
  }

  /**
   * On the publisher thread: begin, snapshot, metrics and dead letters, input offsets, wait for the
   * acknowledgements, commit. It touches only the producer and thread-safe state; every failure is
   * handed back to the trainer thread through the future.
   */
  private long transact(Batch b) {
    producer.beginTransaction();
    faults.at(FaultInjector.BEFORE_SEND);
    List<Future<RecordMetadata>> acks = new ArrayList<>();
    if (adapterPartitions == 0) {
      adapterPartitions = producer.partitionsFor(adaptersTopic).size();
    }
    for (ProducerRecord<String, byte[]> part : ChunkedValues.records(adaptersTopic, adapterId, b.snapshot(), partBytes,
        adapterPartitions)) {
      acks.add(send(part));
    }
    for (byte[] m : b.metrics()) {
      acks.add(send(new ProducerRecord<>(metricsTopic, adapterId, m)));
    }
    for (ProducerRecord<String, byte[]> letter : b.deadLetters()) {
      acks.add(send(letter));
    }
    producer.sendOffsetsToTransaction(b.offsets(), b.group());
    // commitTransaction() waits for them too; waiting here makes "sent" mean "in the log" (a
    // crash from this point on leaves records that the successor must abort) and lets the
    // status say so while the broker does not answer.
    awaitAcks(acks, b.version());
    faults.at(FaultInjector.AFTER_SEND_BEFORE_COMMIT);
    commit(b.version());
    return System.currentTimeMillis();
  }

  /**
   * Commits, retrying on timeouts: after a timed-out commit Kafka allows (and requires) the same
   * call again, and only its completion tells whether the snapshot is committed.
   */
  private void commit(long version) {
    while (true) {
      try {
        producer.commitTransaction();
        return;
      } catch (TimeoutException e) {
        closing.abandonIfRequested("committing v" + version + " (timed out during shutdown; its outcome is settled "
            + "by the next start)", e);
        stalls.stalled("committing v" + version, e);
      }
    }
  }

  /**
   * KafkaProducer.send does not throw when it cannot even enqueue the record (no metadata within
   * max.block.ms, e.g. while the broker is down): it returns an already failed future and puts the
   * transaction in an error state. Such a failure is rethrown here, so the transaction is abandoned
   * at once and the stall shows, instead of every further send blocking for max.block.ms in turn.
   */
  private Future<RecordMetadata> send(ProducerRecord<String, byte[]> record) {
    Future<RecordMetadata> f = producer.send(record);
    if (f.isDone()) {
      try {
        f.get();
      } catch (ExecutionException e) {
        Throwable c = e.getCause();
        throw c instanceof KafkaException ke ? ke : new KafkaException("cannot send to " + record.topic(), c);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptException(e);
      }
    }
    return f;
  }

  /** A failed delivery surfaces as its KafkaException, classified by the trainer like any transaction error. */
  private void awaitAcks(List<Future<RecordMetadata>> acks, long version) {
    long start = System.nanoTime();
    for (Future<RecordMetadata> ack : acks) {
      while (true) {
        try {
          ack.get(ACK_STALL_MS, TimeUnit.MILLISECONDS);
          break;
        } catch (java.util.concurrent.TimeoutException e) {
          // A closing trainer waits as long as one commit attempt would (max.block.ms), no longer.
          if (closing.requested() && System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(maxBlockMs)) {
            throw new AbandonedException("stopped while waiting for the broker to acknowledge snapshot v" + version,
                e);
          }
          stalls.stalled("waiting for the broker to acknowledge snapshot v" + version,
              new TimeoutException("no acknowledgement within " + ACK_STALL_MS + " ms"));
        } catch (ExecutionException e) {
          Throwable c = e.getCause();
          throw c instanceof KafkaException ke ? ke : new KafkaException("snapshot v" + version + " not delivered", c);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptException(e);
        }
      }
    }
  }
}
