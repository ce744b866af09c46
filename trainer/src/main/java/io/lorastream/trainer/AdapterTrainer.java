package io.lorastream.trainer;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.OffsetRange;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.ConfigException;
import io.lorastream.kafka.DlqHeaders;
import io.lorastream.lora.BaseModel;
import io.lorastream.lora.DecodedAdapter;
import io.lorastream.lora.Devices;
import io.lorastream.lora.OnlineLearner;
import io.lorastream.lora.SnapshotCodec;
import io.lorastream.lora.SnapshotMeta;
import io.lorastream.lora.SnapshotRejectedException;
import io.lorastream.lora.StepResult;
import io.lorastream.registry.RegistryException;
import io.lorastream.serde.LorastreamSerdes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer service of one adapter: consumes {@code examples.train} (read_committed), trains the
 * LoRA A/B of its task in micro-batches, and publishes versioned snapshots to {@code adapters}.
 *
 * <p><b>Exactly-once.</b> Each snapshot, its {@code PipelineMetric} records and the input offsets
 * it was trained up to are committed in ONE Kafka transaction. The snapshot names the offset
 * ranges {@code [from, until)} consumed since the previous snapshot ({@link OffsetTracker}); only
 * records whose gradients are in the published weights (or that were skipped: other tasks, bad
 * records) are claimed, so the committed snapshots tile the input exactly once. The
 * transactional.id is stable per adapter: a starting trainer fences its predecessor and aborts
 * whatever transaction it left open, then resumes from the newest committed snapshot: it restores
 * A, B, ranks, optimizer-step and examples-seen counts and seeks every input partition to that
 * snapshot's {@code untilOffset} (partitions it does not name start at their beginning). A crash
 * at any point therefore loses nothing and counts nothing twice.
 *
 * <p><b>Not restored:</b> AdamW moments. They are not part of a snapshot, so after a restart (or a
 * rollback) the optimizer starts again from zero moments with fresh bias correction; the first
 * steps after a restart can differ slightly from an uninterrupted run.
 *
 * <p><b>Failures.</b> A fenced producer (a newer trainer took over) stops this one at once. Any
 * other transaction failure aborts the transaction and rolls the learner back to the last
 * committed snapshot, then re-reads the input from its offsets. A broker outage is ridden out
 * without help: every blocking Kafka call is bounded (max.block.ms, default.api.timeout.ms), a
 * timed-out call is repeated where Kafka allows it (initTransactions, commit, reading the committed
 * state) or the transaction is aborted and the state re-read, and meanwhile the status names what
 * the trainer is stalled on. Bad input records (undecodable, wrong feature size, non-finite
 * values, label out of range) are skipped, counted, logged and dead-lettered to
 * {@code examples.dlq} with reason headers, inside the snapshot transaction that claims their
 * offsets (so each appears there exactly once); a schema-registry outage pauses the
 * partition instead of dropping its records. The published bad-record and skipped-batch counters
 * continue from the restored snapshot and count each record or micro-batch once, like the offsets.
 *
 * <p><b>Threading.</b> {@link #run()} is the trainer thread and owns the learner, the consumer
 * and every piece of state. Only the blocking part of a snapshot transaction (begin, sends, input
 * offsets, acknowledgements, commit) runs on a publisher thread, so training goes on while the
 * broker commits: the cut, the encoded snapshot and the consumer's group metadata are taken on the
 * trainer thread first, at most one transaction is in flight, and its outcome is settled back on
 * the trainer thread (commit: bookkeeping and listener; abortable failure: abort and roll back to
 * the last committed snapshot, discarding what was trained after the cut). {@link #close()} may be
 * called from any thread (for example a shutdown hook): it wakes the consumer, lets the trainer
 * finish the transaction in flight and publish a final snapshot, and waits for it to stop.
 */
public final class AdapterTrainer implements Runnable, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AdapterTrainer.class);
  /** How long one wait for snapshot acknowledgements may take before the status reports a stall. */
  private static final long ACK_STALL_MS = 2_000;
  private static final Duration DEFAULT_CLOSE_WAIT = Duration.ofSeconds(90);
  private static final long REGISTRY_BACKOFF_MS = 1_000;
  /** Bounds of the wait between attempts to read the committed state while the registry is away. */
  private static final long RESTORE_BACKOFF_MIN_MS = 250;
  private static final long RESTORE_BACKOFF_MAX_MS = 5_000;
  private static final long PUBLISH_RETRY_BACKOFF_MS = 1_000;
  /** How often a trainer waiting for its in-flight transaction refreshes its status. */
  private static final long STATUS_WHILE_WAITING_MS = 200;

  private final TrainerConfig cfg;
  private final String inputTopic;
  private final String adaptersTopic;
  private final String metricsTopic;
  private final String dlqTopic;
  private final BaseModel base;
  private final byte[] hmacKey;
  private final Map<String, Object> producerProps;
  private final Map<String, Object> restoreProps;
  private final Map<String, Object> restoreHighWatermarkProps;
  /** Bound of one attempt at reading the committed state (default.api.timeout.ms); attempts repeat. */
  private final Duration restoreTimeout;
  /** The producer's max.block.ms: how long a closing trainer still waits for acknowledgements. */
  private final long maxBlockMs;
  private final Consumer<byte[], byte[]> consumer;
  private final Deserializer<LabeledExample> exampleDeserializer;
  private final Serializer<AdapterSnapshot> snapshotSerializer;
  private final Deserializer<AdapterSnapshot> snapshotDeserializer;
  private final Serializer<PipelineMetric> metricSerializer;
  private final TrainerListener listener;
  private final FaultInjector faults;
  private final MicroBatchAssembler assembler;

  /**
   * Runs the blocking part of a snapshot transaction (begin, send, offsets, acknowledgements,
   * commit) so the trainer thread keeps training meanwhile; at most one transaction is in flight.
   */
  private final java.util.concurrent.ExecutorService publisher;
  /** Guards {@link #fault}: after a crash-like fault no other fault point may consult the injector. */
  private final Object faultLock = new Object();
  private Throwable fatalFault; // guarded by faultLock

  // Trainer-thread state (the producer is also used by the publisher thread, one transaction at a time).
  private volatile Producer<String, byte[]> producer;
  /** The snapshot transaction running on the publisher thread, if any. */
  private InFlight inFlight;
  private OnlineLearner learner;
  private OffsetTracker tracker = new OffsetTracker();
  private List<TopicPartition> partitions = List.of();
  private final Map<TopicPartition, Long> pausedUntil = new HashMap<>();
  private int trainedUnsettled;
  /** False while (re)bootstrapping: a snapshot cut from a half-restored state must never be published. */
  private boolean stateTrusted;
  /** Bumped whenever the consumer is rewound, so a poll in progress stops using its stale records. */
  private long rewinds;
  private DecodedAdapter lastCommitted;
  private long lastVersion;
  private long stepsAtLastCommit;
  private long examplesAtLastCommit;
  private long lastCommitNanos;
  private long nextPublishAttemptNanos;
  private long recordsPolled;
  private long otherTaskRecords;
  /** Bad records met by this instance (log lines only; re-reads after a rollback count again). */
  private long badRecordsThisRun;
  /**
   * Published counters, exactly once like examplesSeen: the values of the last committed snapshot
   * (restored on start) plus what the next cut adds. Bad records are counted by the cut that
   * claims their offsets (OffsetTracker); skipped micro-batches by the cut that settles them.
   */
  private long badCommitted;
  private long skippedCommitted;
  private long skippedSinceCommit;
  private long snapshotsCommitted;
  private long transactionsAborted;
  /** Bad records read since the last cut, in offset order per partition, waiting for the cut that claims them. */
  private final List<DeadLetter> deadLetters = new ArrayList<>();
  /** Tombstones on the adapters topic ignored as unauthentic at the last (re)start. */
  private int ignoredDeletions;
  /** Publish at once: an ignored deletion is the newest record after the restored snapshot. */
  private boolean supersedeDeletion;
  /** What the trainer is retrying because Kafka does not answer; null while it makes progress. */
  private volatile String stalledOn;
  private volatile long stallRetries;
  private TrainerStatus.State state = TrainerStatus.State.CREATED;
  private long lastProgressNanos;
  /** When the last poll returned records; a partial micro-batch is trained after an idle interval. */
  private long lastInputNanos = System.nanoTime();
  private long examplesAtLastProgress;
  private long examplesAtLastCommitForRate;
  private long lastCommitNanosForRate;

  // Lifecycle, shared with close().
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean closing = new AtomicBoolean();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final CountDownLatch closeRequested = new CountDownLatch(1);
  private volatile Thread runner;
  private volatile Throwable failure;
  private volatile TrainerStatus status;

  private AdapterTrainer(TrainerConfig cfg, CommonConfig common, BaseModel base, LorastreamSerdes serdes,
      TrainerListener listener, FaultInjector faults) {
    this.cfg = cfg;
    this.inputTopic = common.catalog().examplesTrain.name();
    this.adaptersTopic = common.catalog().adapters.name();
    this.metricsTopic = common.catalog().metrics.name();
    this.dlqTopic = common.catalog().examplesDlq.name();
    this.base = base;
    this.hmacKey = cfg.hmacKey().orElse(null);
    this.listener = listener == null ? TrainerListener.NONE : listener;
    this.faults = faults == null ? FaultInjector.NONE : faults;
    Map<String, String> kafka = common.kafkaProperties();
    this.producerProps = TrainerClients.producer(kafka, cfg);
    this.restoreProps = TrainerClients.snapshotReader(kafka, cfg, true);
    this.restoreHighWatermarkProps = TrainerClients.snapshotReader(kafka, cfg, false);
    this.restoreTimeout = TrainerClients.apiTimeout(kafka);
    this.maxBlockMs = TrainerClients.maxBlock(kafka).toMillis();
    this.exampleDeserializer = serdes.labeledExample().deserializer();
    this.snapshotSerializer = serdes.adapterSnapshot().serializer();
    this.snapshotDeserializer = serdes.adapterSnapshot().deserializer();
    this.metricSerializer = serdes.pipelineMetric().serializer();
    this.assembler = MicroBatchAssembler.forModel(cfg.microBatchSize(), base);
    this.consumer = new KafkaConsumer<>(TrainerClients.inputConsumer(kafka, cfg));
    this.status = TrainerStatus.initial(cfg.adapterId());
    this.publisher = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "lorastream-publisher-" + cfg.adapterId());
      t.setDaemon(true);
      return t;
    });
  }

  /** {@link #create(TrainerConfig, CommonConfig, TrainerListener, FaultInjector)} without fault injection. */
  public static AdapterTrainer create(TrainerConfig cfg, CommonConfig common, TrainerListener listener) {
    return create(cfg, common, listener, FaultInjector.NONE);
  }

  /**
   * Wires a trainer: resolves the device, loads and checks the base model, builds the serdes and
   * the Kafka clients. Nothing talks to Kafka until {@link #run()}.
   *
   * @throws ConfigException naming the trainer.* key to fix when the base file is missing or
   *     unreadable, the device is unavailable, or a target layer does not exist in the base
   */
  public static AdapterTrainer create(TrainerConfig cfg, CommonConfig common, TrainerListener listener,
      FaultInjector faults) {
    if (!Files.isRegularFile(cfg.base())) {
      throw new ConfigException(TrainerConfig.BASE, "Base-model file " + cfg.base() + " (" + TrainerConfig.BASE
          + ") does not exist. Fix: run `lorastream pretrain` to create it, or point " + TrainerConfig.BASE
          + " at an existing file.");
    }
    ai.djl.Device device;
    try {
      device = Devices.resolve(cfg.device());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(TrainerConfig.DEVICE, "Invalid setting '" + TrainerConfig.DEVICE + "': "
          + e.getMessage() + ". Fix: set " + TrainerConfig.DEVICE + " to auto or cpu.");
    }
    BaseModel base;
    try {
      base = BaseModel.load(cfg.base(), device);
    } catch (IOException e) {
      throw new ConfigException(TrainerConfig.BASE, "Cannot load the base model " + cfg.base() + " ("
          + TrainerConfig.BASE + "): " + e.getMessage() + ". Fix: point " + TrainerConfig.BASE
          + " at a file written by `lorastream pretrain`.");
    }
    try {
      try {
        cfg.adapterConfig().resolveTargets(base.spec());
      } catch (IllegalArgumentException e) {
        throw new ConfigException(TrainerConfig.TARGETS, "Invalid setting '" + TrainerConfig.TARGETS + "': "
            + e.getMessage() + ". Fix: list layers of this base (comma-separated names or globs such as *.q) or leave it empty for"
            + " the model's default.");
      }
      LorastreamSerdes serdes = LorastreamSerdes.create(common.registryConfig());
      return new AdapterTrainer(cfg, common, base, serdes, listener, faults);
    } catch (RuntimeException e) {
      base.close();
      throw e;
    }
  }

  /** The latest status; safe to call from any thread. */
  public TrainerStatus status() {
    return status;
  }

  /** Why the trainer stopped other than by {@link #close()} (crash, fencing), if it did. */
  public java.util.Optional<Throwable> failure() {
    return java.util.Optional.ofNullable(failure);
  }

  public TrainerConfig config() {
    return cfg;
  }

  /** Blocks until the trainer thread has stopped, or the timeout passes; returns whether it stopped. */
  public boolean awaitStopped(Duration timeout) throws InterruptedException {
    return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void run() {
    if (!started.compareAndSet(false, true)) {
      if (closing.get()) {
        return; // closed before it ever ran
      }
      throw new IllegalStateException("trainer for adapter " + cfg.adapterId() + " was already started");
    }
    runner = Thread.currentThread();
    Throwable cause = null;
    boolean clean = false;
    String how = "after an error";
    try {
      log.info("trainer starting: {} input={} adapters={} base={} ({}) on {}", cfg, inputTopic, adaptersTopic,
          base.id(), base.fingerprint(), base.device());
      setState(TrainerStatus.State.STARTING);
      producer = new KafkaProducer<>(producerProps);
      bootstrap();
      setState(TrainerStatus.State.RUNNING);
      while (!closing.get()) {
        try {
          pollOnce();
        } catch (WakeupException e) {
          if (!closing.get()) {
            throw e;
          }
        }
      }
      setState(TrainerStatus.State.STOPPING);
      shutdownCleanly();
      clean = true;
      how = "clean";
    } catch (FencedException e) {
      cause = e;
      log.warn("adapter {}: {}; stopping without a final snapshot", cfg.adapterId(), e.getMessage());
    } catch (AbandonedException e) {
      // Asked to stop while Kafka was unreachable: nothing can be published, nothing is lost.
      log.warn("adapter {}: {}; stopping without a final snapshot (a restart resumes from the last committed one)",
          cfg.adapterId(), e.getMessage());
      how = "on request, while Kafka was unreachable";
    } catch (WakeupException | java.util.concurrent.CancellationException e) {
      if (closing.get()) {
        clean = true; // closed while (re)starting: nothing to publish
        how = "clean";
      } else {
        cause = e;
      }
    } catch (Throwable t) {
      cause = t;
      log.error("adapter {}: trainer stopped by an error (it resumes from its last committed snapshot on restart)",
          cfg.adapterId(), t);
    } finally {
      release(clean);
      failure = cause;
      setState(TrainerStatus.State.STOPPED);
      log.info("adapter {}: trainer stopped ({}); last committed version {}, {} snapshots this run",
          cfg.adapterId(), how, lastVersion, snapshotsCommitted);
      Throwable c = cause;
      notifyListener(() -> listener.onStopped(c));
      stopped.countDown();
    }
  }

  /** Stops the trainer: wakes it, lets it publish a final snapshot, waits up to 90 s for it to stop. */
  @Override
  public void close() {
    close(DEFAULT_CLOSE_WAIT);
  }

  /** As {@link #close()}, waiting at most {@code wait}. Usable from a shutdown hook. */
  public void close(Duration wait) {
    closing.set(true);
    closeRequested.countDown();
    if (!started.get()) {
      if (started.compareAndSet(false, true)) { // never ran: nothing to publish
        release(true);
        setState(TrainerStatus.State.STOPPED);
        stopped.countDown();
        return;
      }
    }
    if (Thread.currentThread() == runner || stopped.getCount() == 0) {
      return; // called on the trainer thread (the loop sees the flag), or already stopped
    }
    consumer.wakeup();
    try {
      if (!stopped.await(wait.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("adapter {}: trainer did not stop within {}", cfg.adapterId(), wait);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Start-up and recovery

  /**
   * (Re)establishes the committed state: fences predecessors, reads the newest committed snapshot,
   * restores the learner from it (or starts fresh) and seeks the input to its offsets.
   */
  private void bootstrap() {
    stateTrusted = false;
    initTransactions();
    fault(FaultInjector.BEFORE_RESTORE);
    CommittedState committed;
    long backoffMs = RESTORE_BACKOFF_MIN_MS;
    while (true) {
      try {
        committed = readCommittedState();
        break;
      } catch (TimeoutException e) {
        // The broker is unreachable (or restarting): nothing has changed yet, so simply try again.
        if (closing.get()) {
          throw new AbandonedException("stopped while reading the committed state", e);
        }
        stalled("reading the committed state", e);
      } catch (CommittedSnapshots.RegistryUnavailable e) {
        // Not bad data: without the registry nothing can be said about the snapshots, so wait.
        if (closing.get()) {
          throw new AbandonedException("stopped while the schema registry was unavailable", e);
        }
        stalled("waiting for the schema registry to read the committed state", e);
        sleepUnlessClosing(backoffMs);
        backoffMs = Math.min(RESTORE_BACKOFF_MAX_MS, backoffMs * 2);
      }
    }
    CommittedSnapshots.Result found = committed.found();
    List<TopicPartition> all = committed.partitions();
    Map<TopicPartition, Long> start = new LinkedHashMap<>(committed.beginnings());
    if (found.decoded() != null) {
      for (OffsetRange r : found.decoded().sourceOffsets()) {
        TopicPartition tp = new TopicPartition(r.getTopic(), r.getPartition());
        if (start.containsKey(tp)) {
          start.put(tp, r.getUntilOffset());
        }
      }
    }
    partitions = all;
    lastVersion = found.maxVersion();
    lastCommitted = found.decoded();
    badCommitted = restoredCounter(lastCommitted, SnapshotMetrics.SNAPSHOT_BAD_RECORDS);
    skippedCommitted = restoredCounter(lastCommitted, SnapshotMetrics.SNAPSHOT_SKIPPED_NON_FINITE);
    skippedSinceCommit = 0;
    resetLearner();
    tracker = new OffsetTracker();
    deadLetters.clear();
    rewinds++;
    start.forEach((tp, off) -> {
      tracker.start(tp, off);
      consumer.seek(tp, off);
    });
    assembler.clear();
    trainedUnsettled = 0;
    resumeAll();
    markCommitPoint();
    stateTrusted = true;
    if (lastCommitted != null) {
      log.info("adapter {}: resumed from committed snapshot v{} (step {}, {} examples, ranks {}); input from {}; "
          + "next version v{}; AdamW moments restart at zero", cfg.adapterId(), lastCommitted.version(),
          learner.optimizerStep(), learner.examplesSeen(), learner.ranks(), start, lastVersion + 1);
    } else {
      log.info("adapter {}: no committed snapshot, starting a fresh adapter (ranks {}); input from {}; next version "
          + "v{}", cfg.adapterId(), learner.ranks(), start, lastVersion + 1);
    }
    if (found.rejected() > 0) {
      log.warn("adapter {}: {} committed snapshot record(s) could not be restored and were skipped",
          cfg.adapterId(), found.rejected());
    }
    ignoredDeletions = found.ignoredDeletions();
    // An ignored deletion newer than the restored snapshot would let compaction drop it: commit a
    // successor at once, so the newest record of the adapter is a valid snapshot again.
    supersedeDeletion = found.supersedeDeletion();
    if (supersedeDeletion) {
      log.warn("adapter {}: committing v{} right away to supersede the ignored deletion", cfg.adapterId(),
          lastVersion + 1);
    }
    unstalled();
    updateStatus();
    long restoredVersion = lastCommitted == null ? 0 : lastCommitted.version();
    long restoredExamples = learner.examplesSeen();
    notifyListener(() -> listener.onRestored(cfg.adapterId(), restoredVersion, restoredExamples));
  }

  /** What bootstrap reads from Kafka before it changes any state. */
  private record CommittedState(CommittedSnapshots.Result found, List<TopicPartition> partitions,
      Map<TopicPartition, Long> beginnings) {
  }

  /**
   * The blocking reads of a (re)start, each bounded by {@link #restoreTimeout}; they come before any
   * state changes, so a timeout or a wakeup here leaves nothing half-done and the attempt can simply
   * be repeated.
   */
  private CommittedState readCommittedState() {
    CommittedSnapshots.Result found = CommittedSnapshots.read(restoreProps, restoreHighWatermarkProps, adaptersTopic,
        cfg.adapterId(), snapshotDeserializer, base, hmacKey, restoreTimeout, closing::get);
    List<PartitionInfo> infos = consumer.partitionsFor(inputTopic, restoreTimeout);
    if (infos == null || infos.isEmpty()) {
      throw new IllegalStateException("input topic '" + inputTopic + "' does not exist; create the lorastream topics "
          + "first or set topic.examples.train to the right name");
    }
    List<TopicPartition> all = infos.stream().map(i -> new TopicPartition(i.topic(), i.partition()))
        .sorted(java.util.Comparator.comparingInt(TopicPartition::partition)).toList();
    consumer.assign(all);
    return new CommittedState(found, all, consumer.beginningOffsets(all, restoreTimeout));
  }

  private void initTransactions() {
    while (true) {
      try {
        producer.initTransactions();
        return;
      } catch (TimeoutException e) {
        if (closing.get()) {
          throw new AbandonedException("stopped while initializing the transactional producer", e);
        }
        stalled("initTransactions", e);
      }
    }
  }

  /** Puts the learner in the last committed state: the decoded snapshot, or a fresh adapter. */
  private void resetLearner() {
    if (learner == null || lastCommitted == null) {
      if (learner != null) {
        learner.close();
      }
      learner = OnlineLearner.create(base, cfg.adapterConfig(), cfg.learnerConfig());
    }
    if (lastCommitted != null) {
      learner.restore(lastCommitted);
    }
  }

  /**
   * After an aborted transaction: the learner goes back to the last committed snapshot and the
   * consumer to its offsets, so every record after them is trained again exactly once.
   */
  private void rollback() {
    skippedSinceCommit = 0;
    deadLetters.clear(); // read again from the rewound offsets, and dead-lettered by a later cut
    resetLearner();
    assembler.clear();
    trainedUnsettled = 0;
    Map<TopicPartition, Long> seek = tracker.rollback();
    rewinds++;
    resumeAll();
    seek.forEach(consumer::seek);
    markCommitPoint();
    log.warn("adapter {}: rolled back to v{} (step {}, {} examples); input rewound to {}", cfg.adapterId(),
        lastCommitted == null ? 0 : lastCommitted.version(), learner.optimizerStep(), learner.examplesSeen(), seek);
    updateStatus();
  }

  private void markCommitPoint() {
    markCommitPoint(learner.optimizerStep(), learner.examplesSeen());
  }

  /** The committed state now reaches optimizer step {@code steps} and {@code examples} examples. */
  private void markCommitPoint(long steps, long examples) {
    stepsAtLastCommit = steps;
    examplesAtLastCommit = examples;
    lastCommitNanos = System.nanoTime();
    examplesAtLastCommitForRate = examplesAtLastCommit;
    lastCommitNanosForRate = lastCommitNanos;
    nextPublishAttemptNanos = lastCommitNanos;
  }

  // ---------------------------------------------------------------------------------------------
  // The loop

  private void pollOnce() {
    resumeExpiredPauses();
    ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(cfg.pollTimeoutMs()));
    if (!records.isEmpty()) {
      fault(FaultInjector.AFTER_POLL);
      Set<TopicPartition> stalled = new HashSet<>();
      long epoch = rewinds;
      for (ConsumerRecord<byte[], byte[]> r : records) {
        if (rewinds != epoch) {
          break; // rolled back mid-poll: the rest of this poll is read again from the rewound positions
        }
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        if (stalled.contains(tp)) {
          continue;
        }
        if (!accept(tp, r)) {
          // The registry is unreachable: re-read this record later instead of dropping it.
          stalled.add(tp);
          consumer.seek(tp, r.offset());
          consumer.pause(List.of(tp));
          pausedUntil.put(tp, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(REGISTRY_BACKOFF_MS));
        }
      }
    }
    for (TopicPartition tp : partitions) {
      tracker.observePosition(tp, consumer.position(tp));
    }
    long now = System.nanoTime();
    if (!records.isEmpty()) {
      lastInputNanos = now;
    } else if (!assembler.isEmpty()
        && now - lastInputNanos >= TimeUnit.MILLISECONDS.toNanos(cfg.publishIntervalMs())) {
      // The stream went quiet with a partial micro-batch: train it, so the interval's snapshot
      // holds every example routed so far instead of waiting for examples that may never come.
      trainBatch();
    }
    maybePublish(false);
    maybeLogProgress();
    updateStatus();
  }

  /** Handles one input record; returns false only when it must be re-read later (registry outage). */
  private boolean accept(TopicPartition tp, ConsumerRecord<byte[], byte[]> r) {
    recordsPolled++;
    if (r.value() == null) {
      bad(tp, r, "NULL_VALUE", "null value");
      return true;
    }
    LabeledExample e;
    try {
      e = exampleDeserializer.deserialize(inputTopic, r.value());
    } catch (RuntimeException ex) {
      if (RegistryException.isOutage(ex)) {
        recordsPolled--;
        log.warn("adapter {}: schema registry unavailable while decoding {}@{} ({}); pausing the partition for {} ms",
            cfg.adapterId(), tp, r.offset(), ex.getMessage(), REGISTRY_BACKOFF_MS);
        return false;
      }
      bad(tp, r, "UNDECODABLE", ex.getMessage());
      return true;
    }
    if (e == null) {
      bad(tp, r, "NULL_VALUE", "null value");
      return true;
    }
    if (!cfg.adapterId().equals(e.getTask())) {
      otherTaskRecords++;
      tracker.polled(tp, r.offset(), false);
      return true;
    }
    String reason = assembler.rejectReason(e);
    if (reason != null) {
      bad(tp, r, "INVALID_EXAMPLE", reason);
      return true;
    }
    tracker.polled(tp, r.offset(), true);
    if (assembler.add(e)) {
      trainBatch();
    }
    return true;
  }


  private void bad(TopicPartition tp, ConsumerRecord<byte[], byte[]> r, String code, String detail) {
    badRecordsThisRun++;
    tracker.polledBad(tp, r.offset());
    String reason = code + ": " + DlqHeaders.brief(detail);
    // Dead-lettered by the snapshot transaction that claims this offset: exactly once, like the counts.
    deadLetters.add(new DeadLetter(tp, r.offset(), new ProducerRecord<>(dlqTopic, null,
        r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8), r.value(),
        DlqHeaders.deadLetter(r.headers(), code, reason, tp.topic(), tp.partition(), r.offset(), null))));
    if (badRecordsThisRun <= 20 || badRecordsThisRun % 1000 == 0) {
      log.warn("adapter {}: dead-lettered bad record {}@{} to {} ({}); {} bad records so far", cfg.adapterId(), tp,
          r.offset(), dlqTopic, reason, badRecordsThisRun);
    }
  }

  private void trainBatch() {
    MicroBatch mb = assembler.drain();
    StepResult r = learner.trainMicroBatch(mb.features(), mb.labels(), mb.weights());
    trainedUnsettled += mb.size();
    if (r.predictions() != null) {
      int[] labels = mb.labels();
      int[] predicted = r.predictions();
      notifyListener(() -> listener.onScored(labels, predicted));
    }
    afterStep(r, mb.size());
    fault(FaultInjector.AFTER_TRAIN);
    maybePublish(false);
  }

  private void afterStep(StepResult r, int batchSize) {
    if (r.skippedNonFinite()) {
      skippedSinceCommit++;
      log.warn("adapter {}: skipped a micro-batch with a non-finite loss or gradient ({} in the adapter's history)",
          cfg.adapterId(), skippedCommitted + skippedSinceCommit);
    }
    if (r.ranksChanged()) {
      log.info("adapter {}: rank grew to {} at optimizer step {}", cfg.adapterId(), learner.ranks(), r.optimizerStep());
    }
    StepStats stats = new StepStats(r.optimizerStep(), learner.examplesSeen(), batchSize, r.loss(), r.gradNorm(),
        learner.lossEma(), r.stepped(), r.skippedNonFinite(), r.ranksChanged(), learner.ranks());
    notifyListener(() -> listener.onStep(stats));
  }

  private void shutdownCleanly() {
    completeInFlight(true);
    if (!stateTrusted) {
      log.warn("adapter {}: stopped while re-reading the committed state; no final snapshot", cfg.adapterId());
      return;
    }
    // Examples already read are trained now rather than re-read after the restart.
    if (!assembler.isEmpty()) {
      trainBatch();
    }
    maybePublish(true);
  }

  // ---------------------------------------------------------------------------------------------
  // Publishing

  private void maybePublish(boolean shutdown) {
    completeInFlight(shutdown);
    long now = System.nanoTime();
    boolean trainedSince = learner.examplesSeen() > examplesAtLastCommit;
    boolean due;
    if (shutdown) {
      due = trainedSince || tracker.hasUncommittedProgress() || supersedeDeletion;
    } else if (supersedeDeletion) {
      due = now >= nextPublishAttemptNanos;
    } else {
      if (now < nextPublishAttemptNanos) {
        return;
      }
      due = learner.optimizerStep() - stepsAtLastCommit >= cfg.publishSteps()
          || (trainedSince && now - lastCommitNanos >= TimeUnit.MILLISECONDS.toNanos(cfg.publishIntervalMs()));
    }
    if (!due) {
      return;
    }
    if (inFlight != null) {
      // The cadence holds: a cut that is due waits for the previous transaction's outcome (training
      // only runs ahead of the broker by one publish interval). After a rollback nothing is due.
      completeInFlight(true);
      maybePublish(shutdown);
      return;
    }
    publish(shutdown);
  }

  /** Cuts, encodes and commits one snapshot transaction (see the class comment). */
  private void publish(boolean shutdown) {
    if (learner.pendingMicroBatches() > 0) {
      // Accumulated gradients are applied now so the snapshot holds every example it claims.
      afterStep(learner.flush(), 0);
    }
    tracker.settle(trainedUnsettled);
    trainedUnsettled = 0;
    OffsetTracker.Cut cut = tracker.cut();
    long version = lastVersion + 1;
    long wallNow = System.currentTimeMillis();
    double seconds = Math.max(1e-3, (System.nanoTime() - lastCommitNanosForRate) / 1e9);
    SnapshotMetrics.Values values = new SnapshotMetrics.Values(version, learner.optimizerStep(),
        learner.examplesSeen(), (learner.examplesSeen() - examplesAtLastCommitForRate) / seconds, learner.lossEma(),
        learner.lastGradNorm(), learner.ranks(), skippedCommitted + skippedSinceCommit, badCommitted + cut.badRecords());
    List<OffsetRange> ranges = new ArrayList<>();
    for (OffsetTracker.Range r : cut.ranges()) {
      ranges.add(OffsetRange.newBuilder().setTopic(r.partition().topic()).setPartition(r.partition().partition())
          .setFromOffset(r.from()).setUntilOffset(r.until()).build());
    }
    SnapshotMeta meta = new SnapshotMeta(cfg.adapterId(), version, cfg.trainerId(), Instant.ofEpochMilli(wallNow),
        0, 0, ranges, SnapshotMetrics.snapshotMap(values));
    AdapterSnapshot snapshot;
    DecodedAdapter verified;
    try {
      snapshot = SnapshotCodec.encode(learner, meta, hmacKey);
      // Publish only what a consumer would accept: same checks, same key.
      verified = SnapshotCodec.decode(snapshot, base, hmacKey);
    } catch (IllegalStateException | SnapshotRejectedException e) {
      log.error("adapter {}: refusing to publish v{}: {}; rolling back to the last committed snapshot",
          cfg.adapterId(), version, e.getMessage());
      rollback();
      return;
    }
    byte[] value;
    List<byte[]> metricValues = new ArrayList<>();
    try {
      value = snapshotSerializer.serialize(adaptersTopic, snapshot);
      for (PipelineMetric m : SnapshotMetrics.records(cfg.adapterId(), cfg.trainerId(), wallNow, values, value.length)) {
        metricValues.add(metricSerializer.serialize(metricsTopic, m));
      }
    } catch (RuntimeException e) {
      // Nothing was sent: keep training and try again shortly (the next cut simply covers more).
      log.warn("adapter {}: cannot serialize snapshot v{} ({}); retrying in {} ms", cfg.adapterId(), version,
          e.getMessage(), PUBLISH_RETRY_BACKOFF_MS);
      stalled("serializing snapshot v" + version, e);
      nextPublishAttemptNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PUBLISH_RETRY_BACKOFF_MS);
      return;
    }
    Map<TopicPartition, OffsetAndMetadata> offsets = new LinkedHashMap<>();
    cut.untilOffsets().forEach((tp, off) -> offsets.put(tp, new OffsetAndMetadata(off, "v" + version)));
    List<ProducerRecord<String, byte[]>> letters = new ArrayList<>();
    for (Iterator<DeadLetter> it = deadLetters.iterator(); it.hasNext(); ) {
      DeadLetter d = it.next();
      Long until = cut.untilOffsets().get(d.partition());
      if (until != null && d.offset() < until) {
        letters.add(d.record());
        it.remove();
      }
    }
    // The consumer is not thread-safe: its group metadata is read here, on the trainer thread.
    org.apache.kafka.clients.consumer.ConsumerGroupMetadata group = consumer.groupMetadata();
    java.util.concurrent.Future<Long> outcome = publisher.submit(() -> transact(version, value, metricValues, letters,
        offsets, group));
    inFlight = new InFlight(version, cut, values, verified, value.length, skippedSinceCommit, shutdown, outcome);
    // The publish cadence counts from this cut; a failed transaction resets it to the committed state.
    markCommitPoint(values.optimizerStep(), values.examplesSeen());
    if (shutdown) {
      completeInFlight(true);
    }
  }

  /**
   * A snapshot cut whose transaction runs on the publisher thread. Everything the trainer thread
   * needs to finish the bookkeeping (or to roll back) once the outcome is known is captured at the
   * cut, because training continues meanwhile.
   */
  private record InFlight(long version, OffsetTracker.Cut cut, SnapshotMetrics.Values values, DecodedAdapter verified,
      long bytes, long skippedAtCut, boolean shutdown, java.util.concurrent.Future<Long> commitWallMillis) {
  }

  /**
   * The blocking transaction, on the publisher thread: begin, snapshot and metrics records, input
   * offsets, wait for the acknowledgements, commit. Returns the wall time right after the commit.
   * It touches only the producer and thread-safe state; every failure is handed back to the
   * trainer thread through the future.
   */
  private long transact(long version, byte[] value, List<byte[]> metricValues,
      List<ProducerRecord<String, byte[]>> letters, Map<TopicPartition, OffsetAndMetadata> offsets,
      org.apache.kafka.clients.consumer.ConsumerGroupMetadata group) {
    producer.beginTransaction();
    fault(FaultInjector.BEFORE_SEND);
    List<Future<RecordMetadata>> acks = new ArrayList<>();
    acks.add(send(new ProducerRecord<>(adaptersTopic, cfg.adapterId(), value)));
    for (byte[] m : metricValues) {
      acks.add(send(new ProducerRecord<>(metricsTopic, cfg.adapterId(), m)));
    }
    for (ProducerRecord<String, byte[]> letter : letters) {
      acks.add(send(letter));
    }
    producer.sendOffsetsToTransaction(offsets, group);
    // commitTransaction() waits for them too; waiting here makes "sent" mean "in the log" (a
    // crash from this point on leaves records that the successor must abort) and lets the
    // status say so while the broker does not answer.
    awaitAcks(acks, version);
    fault(FaultInjector.AFTER_SEND_BEFORE_COMMIT);
    commit(version);
    return System.currentTimeMillis();
  }

  /**
   * Settles the in-flight transaction on the trainer thread, if its outcome is known (or, with
   * {@code wait}, once it is): a commit updates the committed state and notifies the listener; a
   * failure is classified exactly as a synchronous one would be (fenced: stop; abortable: abort
   * and roll back to the last committed snapshot, which also discards what was trained after this
   * cut; anything else, such as an injected crash or an abandoned shutdown, is rethrown).
   */
  private void completeInFlight(boolean wait) {
    InFlight f = inFlight;
    if (f == null || (!wait && !f.commitWallMillis().isDone())) {
      return;
    }
    inFlight = null;
    long commitWall;
    boolean interrupted = false;
    try {
      while (true) {
        try {
          commitWall = f.commitWallMillis().get(STATUS_WHILE_WAITING_MS, TimeUnit.MILLISECONDS);
          break;
        } catch (java.util.concurrent.TimeoutException e) {
          updateStatus(); // e.g. "stalled committing vN" from the publisher thread, while the broker is away
        } catch (InterruptedException e) {
          interrupted = true; // the outcome decides what is committed: wait for it
        }
      }
    } catch (ExecutionException e) {
      failed(f, e.getCause());
      return;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    committed(f, commitWall);
  }

  private void failed(InFlight f, Throwable cause) {
    if (cause instanceof KafkaException e) {
      if (e instanceof TimeoutException) {
        stalled("publishing v" + f.version(), e);
      }
      switch (TransactionErrors.classify(e)) {
        case FENCED -> throw new FencedException("producer fenced while publishing v" + f.version()
            + ": a newer trainer for this adapter took over", e);
        case FATAL -> throw new IllegalStateException("cannot publish snapshot v" + f.version() + ": " + e.getMessage(), e);
        default -> {
          if (f.shutdown()) {
            log.warn("adapter {}: final snapshot v{} failed ({}); a restart resumes from v{}", cfg.adapterId(),
                f.version(), e.getMessage(), lastVersion);
            abortQuietly();
            return;
          }
          abortAndRecover(f.version(), e);
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
    throw new IllegalStateException("publishing v" + f.version() + " failed: " + cause, cause);
  }

  private void committed(InFlight f, long commitWall) {
    SnapshotMetrics.Values values = f.values();
    supersedeDeletion = false;
    tracker.committed(f.cut());
    badCommitted = values.badRecords();
    skippedCommitted = values.skippedNonFiniteBatches();
    skippedSinceCommit -= f.skippedAtCut(); // skips after the cut belong to the next snapshot
    lastVersion = f.version();
    lastCommitted = f.verified();
    snapshotsCommitted++;
    unstalled();
    long bytes = f.bytes();
    long version = f.version();
    Map<String, Integer> ranks = values.ranks();
    log.info("adapter {}: committed snapshot v{} (step {}, {} examples, ranks {}, {} bytes, offsets {})",
        cfg.adapterId(), version, values.optimizerStep(), values.examplesSeen(), ranks, bytes, describe(f.cut()));
    updateStatus();
    notifyListener(() -> listener.onSnapshotCommitted(cfg.adapterId(), version, ranks, bytes, commitWall,
        values.examplesSeen()));
    fault(FaultInjector.AFTER_COMMIT);
  }

  /**
   * Calls the fault injector at {@code point}, from the trainer or the publisher thread. A fault
   * that is not a KafkaException simulates a crash of the whole trainer, so from then on every
   * fault point on either thread rethrows that same fault without consulting the injector again:
   * the instance dies once, of that fault, as a killed process would.
   */
  private void fault(String point) {
    synchronized (faultLock) {
      if (fatalFault instanceof RuntimeException re) {
        throw re;
      }
      if (fatalFault instanceof Error err) {
        throw err;
      }
      try {
        faults.at(point);
      } catch (KafkaException e) {
        throw e; // an abortable or fencing error: the trainer handles it and lives on
      } catch (RuntimeException | Error e) {
        fatalFault = e;
        throw e;
      }
    }
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
        if (closing.get()) {
          throw new AbandonedException("commit of v" + version + " timed out during shutdown; its outcome is "
              + "settled by the next start", e);
        }
        stalled("committing v" + version, e);
      }
    }
  }

  /**
   * Sends one record of the snapshot transaction. KafkaProducer.send does not throw when it cannot
   * even enqueue the record (no metadata within max.block.ms, e.g. while the broker is down): it
   * returns an already failed future and puts the transaction in an error state. Such a failure is
   * rethrown here, so the transaction is abandoned at once and the stall shows, instead of every
   * further send blocking for max.block.ms in turn.
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
        throw new org.apache.kafka.common.errors.InterruptException(e);
      }
    }
    return f;
  }

  /**
   * Waits until the broker has acknowledged every record of the snapshot transaction. A failed
   * delivery surfaces as its KafkaException (classified by the caller like any transaction error).
   */
  private void awaitAcks(List<Future<RecordMetadata>> acks, long version) {
    long start = System.nanoTime();
    for (Future<RecordMetadata> ack : acks) {
      while (true) {
        try {
          ack.get(ACK_STALL_MS, TimeUnit.MILLISECONDS);
          break;
        } catch (java.util.concurrent.TimeoutException e) {
          // A closing trainer waits as long as one commit attempt would (max.block.ms), no longer.
          if (closing.get() && System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(maxBlockMs)) {
            throw new AbandonedException("stopped while waiting for the broker to acknowledge snapshot v" + version,
                e);
          }
          stalled("waiting for the broker to acknowledge snapshot v" + version,
              new TimeoutException("no acknowledgement within " + ACK_STALL_MS + " ms"));
        } catch (ExecutionException e) {
          Throwable c = e.getCause();
          throw c instanceof KafkaException ke ? ke : new KafkaException("snapshot v" + version + " not delivered", c);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new org.apache.kafka.common.errors.InterruptException(e);
        }
      }
    }
  }

  private void abortAndRecover(long version, KafkaException cause) {
    transactionsAborted++;
    log.warn("adapter {}: snapshot v{} transaction failed ({}); aborting", cfg.adapterId(), version,
        cause.toString());
    try {
      producer.abortTransaction();
    } catch (KafkaException | IllegalStateException e) {
      if (e instanceof KafkaException ke && TransactionErrors.classify(ke) == TransactionErrors.Kind.FENCED) {
        throw new FencedException("producer fenced while aborting v" + version, e);
      }
      // The producer is unusable. A new one fences it; only the topic can then say what is
      // committed (a newer trainer may have committed meanwhile), so re-bootstrap from there.
      log.warn("adapter {}: abort failed ({}); recreating the producer and re-reading the committed state",
          cfg.adapterId(), e.toString());
      producer.close(Duration.ZERO);
      producer = new KafkaProducer<>(producerProps);
      bootstrap();
      return;
    }
    rollback();
  }

  private void abortQuietly() {
    try {
      producer.abortTransaction();
    } catch (RuntimeException e) {
      log.debug("abort during shutdown failed", e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private void sleepUnlessClosing(long millis) {
    try {
      closeRequested.await(millis, TimeUnit.MILLISECONDS); // close() ends the wait at once
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AbandonedException("interrupted while waiting for the schema registry", null);
    }
  }

  private void resumeExpiredPauses() {
    if (pausedUntil.isEmpty()) {
      return;
    }
    long now = System.nanoTime();
    for (Iterator<Map.Entry<TopicPartition, Long>> it = pausedUntil.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<TopicPartition, Long> e = it.next();
      if (now >= e.getValue()) {
        consumer.resume(List.of(e.getKey()));
        it.remove();
      }
    }
  }

  private void resumeAll() {
    if (!pausedUntil.isEmpty()) {
      consumer.resume(pausedUntil.keySet());
      pausedUntil.clear();
    }
  }

  private void maybeLogProgress() {
    long now = System.nanoTime();
    long interval = TimeUnit.MILLISECONDS.toNanos(cfg.metricsIntervalMs());
    if (lastProgressNanos == 0) {
      lastProgressNanos = now;
      examplesAtLastProgress = learner.examplesSeen();
      return;
    }
    if (now - lastProgressNanos < interval) {
      return;
    }
    if (learner.examplesSeen() == examplesAtLastProgress) {
      lastProgressNanos = now; // idle: nothing new to report, so no "0 ex/s" line every interval
      return;
    }
    double rate = (learner.examplesSeen() - examplesAtLastProgress) / ((now - lastProgressNanos) / 1e9);
    log.info("adapter {}: step {} | {} examples ({} ex/s) | loss ema {} | ranks {} | last version v{} | bad {} | "
        + "other-task {} | non-finite skipped {}", cfg.adapterId(), learner.optimizerStep(), learner.examplesSeen(),
        String.format("%.0f", rate), String.format("%.4f", learner.lossEma()), learner.ranks(), lastVersion,
        badRecords(), otherTaskRecords, skippedCommitted + skippedSinceCommit);
    lastProgressNanos = now;
    examplesAtLastProgress = learner.examplesSeen();
  }

  private static String describe(OffsetTracker.Cut cut) {
    StringBuilder sb = new StringBuilder();
    for (OffsetTracker.Range r : cut.ranges()) {
      sb.append(sb.length() > 0 ? " " : "").append(r.partition().partition()).append(":[").append(r.from())
          .append(',').append(r.until()).append(')');
    }
    return sb.toString();
  }

  /**
   * A Kafka operation timed out and is being retried (the broker is down, restarting or
   * unreachable): the status says so until the trainer makes progress again. Training state is
   * untouched; the retry loops decide what is safe to repeat.
   */
  private void stalled(String what, Throwable cause) {
    stallRetries++;
    if (stalledOn == null || stallRetries % 10 == 0) {
      log.warn("adapter {}: stalled {}: {}; retrying ({} stall retries so far)", cfg.adapterId(), what,
          cause.getMessage(), stallRetries);
    }
    stalledOn = what;
    if (Thread.currentThread() == runner) {
      updateStatus(); // the publisher thread's stalls show at the trainer thread's next update
    }
  }

  private void unstalled() {
    if (stalledOn != null) {
      log.info("adapter {}: Kafka answers again, no longer stalled ({}); {} stall retries so far", cfg.adapterId(),
          stalledOn, stallRetries);
      stalledOn = null;
    }
  }

  private void setState(TrainerStatus.State s) {
    state = s;
    updateStatus();
  }

  private void updateStatus() {
    TrainerStatus o = status;
    OnlineLearner l = learner;
    if (l == null) { // not restored yet, or released: keep the last known figures
      status = new TrainerStatus(o.adapterId(), state, o.optimizerStep(), o.examplesSeen(), o.examplesBuffered(),
          o.recordsPolled(), o.otherTaskRecords(), o.badRecords(), o.skippedNonFiniteBatches(),
          o.lastCommittedVersion(), o.snapshotsCommitted(), o.transactionsAborted(), o.inputLag(), o.lossEma(),
          o.ranks(), stalledOn, stallRetries, ignoredDeletions);
      return;
    }
    status = new TrainerStatus(cfg.adapterId(), state, l.optimizerStep(), l.examplesSeen(), assembler.size(),
        recordsPolled, otherTaskRecords, badRecords(), skippedCommitted + skippedSinceCommit, lastVersion,
        snapshotsCommitted, transactionsAborted, inputLag(), l.lossEma(), l.ranks(), stalledOn, stallRetries, ignoredDeletions);
  }

  /** Bad records in the adapter's history: published ones plus those read since the last commit. */
  private long badRecords() {
    return badCommitted + tracker.uncommittedBadRecords();
  }

  private static long restoredCounter(DecodedAdapter snapshot, String key) {
    if (snapshot == null) {
      return 0;
    }
    Double v = snapshot.metrics().get(key);
    return v == null || !Double.isFinite(v) || v < 0 ? 0 : Math.round(v);
  }

  /** Sum of the input partitions' lag as of the last fetch; -1 while some partition has none yet. */
  private long inputLag() {
    long sum = 0;
    for (TopicPartition tp : partitions) {
      java.util.OptionalLong lag = consumer.currentLag(tp);
      if (lag.isEmpty()) {
        return -1;
      }
      sum += lag.getAsLong();
    }
    return partitions.isEmpty() ? -1 : sum;
  }

  private void notifyListener(Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      log.warn("adapter {}: listener failed: {}", cfg.adapterId(), e.toString());
    }
  }

  /**
   * Closes clients and the learner. After a clean stop the producer gets time to finish; after a
   * crash it is closed at once, leaving any open transaction to be aborted by the next trainer's
   * initTransactions (or the broker's transaction timeout), just like a killed process would.
   */
  private void release(boolean clean) {
    Duration wait = clean ? Duration.ofSeconds(5) : Duration.ZERO;
    publisher.shutdownNow(); // after a crash a transaction still in flight fails with the closed producer
    try {
      consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(wait));
    } catch (RuntimeException e) {
      log.debug("consumer close failed", e);
    }
    if (producer != null) {
      try {
        producer.close(wait);
      } catch (RuntimeException e) {
        log.debug("producer close failed", e);
      }
    }
    if (learner != null) {
      learner.close();
      learner = null;
    }
    base.close();
  }

  /** A bad input record and the dead letter that the cut claiming its offset will send. */
  private record DeadLetter(TopicPartition partition, long offset, ProducerRecord<String, byte[]> record) {
  }

  /** Asked to stop while a Kafka operation was being retried: stop at once, publish nothing. */
  static final class AbandonedException extends RuntimeException {
    AbandonedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** A newer trainer with the same transactional.id took over. */
  static final class FencedException extends RuntimeException {
    FencedException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
