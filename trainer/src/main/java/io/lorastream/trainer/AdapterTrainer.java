package io.lorastream.trainer;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.ConfigException;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.text.TextTokenizer;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.lora.train.StepResult;
import io.lorastream.serde.LorastreamSerdes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
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
 * other transaction failure aborts the transaction and rolls back to the last committed snapshot
 * ({@link SnapshotTransactions}). A broker or registry outage is ridden out without help: every
 * blocking call is bounded and repeated where Kafka allows it ({@link CommittedStateReader}),
 * while the status names what is retried ({@link Stalls}). Bad input records are dead-lettered
 * inside the snapshot transaction that claims their offsets ({@link RecordIntake},
 * {@link DeadLetters}); a registry outage pauses the partition instead ({@link PartitionPauses}).
 * Published counters continue from the restored snapshot ({@link CommitLedger}).
 *
 * <p><b>Threading.</b> {@link #run()} is the trainer thread and owns the learner, the consumer
 * and every piece of state. The learner's steps run on the step thread ({@link StepPipeline}), up
 * to {@code trainer.steps.ahead} micro-batches behind, so polling, decoding and packing overlap
 * the step; each finished step is settled back on the trainer thread, in order, and a snapshot cut
 * waits for all of them. Only the blocking part of a snapshot transaction runs on the
 * publisher thread, so training goes on while the broker commits; at most one is in flight and
 * its outcome is settled back on the trainer thread. {@link #close()} may be called from any
 * thread (for example a shutdown hook): it wakes the consumer, lets the trainer finish the
 * transaction in flight and publish a final snapshot, and waits for it to stop.
 */
public final class AdapterTrainer implements Runnable, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AdapterTrainer.class);
  private static final Duration DEFAULT_CLOSE_WAIT = Duration.ofSeconds(90);
  private static final long REGISTRY_BACKOFF_MS = 1_000;
  private static final long PUBLISH_RETRY_BACKOFF_MS = 1_000;

  private final TrainerConfig cfg;
  private final String inputTopic;
  private final String adaptersTopic;
  private final BaseModel base;
  private final Consumer<byte[], byte[]> consumer;
  /** The records' way in: the consumer above, or fetcher threads ahead of this one ({@code trainer.fetch.threads}). */
  private final TrainerInput input;
  private final io.lorastream.metrics.KafkaClientMeters clientMeters;
  private final RecordIntake intake;
  /** Decodes each poll's records ahead of the trainer thread (one thread: the tokenizer is never shared); null: inline. */
  private final ExecutorService decoder;
  /** Runs the learner's steps behind the trainer thread (or inline with trainer.steps.ahead=0). */
  private final StepPipeline steps;
  private final SnapshotEncoder encoder;
  private final TrainerListener listener;
  private final FaultPoints faults;
  private final MicroBatchAssembler assembler;
  private final TextTokenizer tokenizer; // null when the base carries none
  private final CloseSignal closing = new CloseSignal();
  private final Stalls stalls;
  private final SnapshotTransactions transactions;
  private final CommittedStateReader committedState;
  private final DeadLetters deadLetters;
  private final PublishCadence cadence;
  private final ProgressLog progress;
  private final PartitionPauses pauses;

  // Trainer-thread state.
  private OnlineLearner learner;
  private OffsetTracker tracker = new OffsetTracker();
  private List<TopicPartition> partitions = List.of();
  private int trainedUnsettled;
  /**
   * The learner's counters as the trainer thread may read them while steps are queued: set after
   * every finished step, restore and flush, the only things that change them.
   */
  private StepPipeline.LearnerView lastView;
  /** False while (re)bootstrapping: a snapshot cut from a half-restored state must never be published. */
  private boolean stateTrusted;
  /** Bumped whenever the consumer is rewound, so a poll in progress stops using its stale records. */
  private long rewinds;
  private long recordsPolled;
  private long otherTaskRecords;
  private final CommitLedger ledger = new CommitLedger();
  private TrainerStatus.State state = TrainerStatus.State.CREATED;
  /** When the last poll returned records; a partial micro-batch is trained after an idle interval. */
  private long lastInputNanos = System.nanoTime();

  // Lifecycle, shared with close().
  private final AtomicBoolean started = new AtomicBoolean();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile Thread runner;
  private volatile Throwable failure;
  private volatile TrainerStatus status;

  private AdapterTrainer(TrainerConfig cfg, CommonConfig common, BaseModel base, LorastreamSerdes serdes,
      TrainerListener listener, FaultInjector faults) {
    this.cfg = cfg;
    this.inputTopic = common.catalog().examplesTrain.name();
    this.adaptersTopic = common.catalog().adapters.name();
    String metricsTopic = common.catalog().metrics.name();
    this.base = base;
    byte[] hmacKey = cfg.hmacKey().orElse(null);
    this.listener = listener == null ? TrainerListener.NONE : listener;
    this.faults = new FaultPoints(faults);
    Map<String, String> kafka = common.kafkaProperties();
    this.assembler = MicroBatchAssembler.forModel(cfg.microBatchSize(), base);
    this.tokenizer = TrainerBase.tokenizer(cfg, base);
    this.intake = new RecordIntake(cfg.adapterId(), inputTopic, serdes.labeledExample().deserializer(), assembler,
        tokenizer, base.id());
    // Fetchers decode too, unless text must go through the tokenizer, which is never shared.
    boolean fetchersDecode = cfg.fetchThreads() > 0 && tokenizer == null;
    this.decoder = !cfg.decodeAhead() || fetchersDecode ? null : Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "trainer-decode-" + cfg.adapterId());
      t.setDaemon(true);
      return t;
    });
    this.steps = new StepPipeline(cfg.stepsAhead(base.device().isGpu(), base.inputSize()), cfg.adapterId());
    this.encoder = new SnapshotEncoder(cfg.adapterId(), cfg.trainerId(), base, hmacKey, adaptersTopic, metricsTopic,
        serdes.adapterSnapshot().serializer(), serdes.pipelineMetric().serializer());
    this.consumer = new KafkaConsumer<>(TrainerClients.inputConsumer(kafka, cfg));
    this.clientMeters = clientMeters(this.listener);
    clientMeters.opened("input", consumer);
    this.input = cfg.fetchThreads() == 0 ? new DirectInput(consumer)
        : new PartitionFetchers(cfg.fetchThreads(), TrainerClients.fetcherConsumer(kafka, cfg),
            Duration.ofMillis(cfg.pollTimeoutMs()), fetchersDecode ? intake::classify : null, clientMeters,
            cfg.adapterId());
    this.pauses = new PartitionPauses(input, REGISTRY_BACKOFF_MS);
    this.status = TrainerStatus.initial(cfg.adapterId());
    this.stalls = new Stalls(cfg.adapterId(), this::updateStatus);
    this.transactions = new SnapshotTransactions(cfg.adapterId(), adaptersTopic, metricsTopic,
        TrainerClients.producer(kafka, cfg), TrainerClients.maxBlock(kafka).toMillis(), cfg.snapshotPartBytes(), closing, stalls,
        this.faults, clientMeters);
    this.committedState = new CommittedStateReader(cfg.adapterId(), inputTopic, adaptersTopic,
        TrainerClients.snapshotReader(kafka, cfg, true), TrainerClients.snapshotReader(kafka, cfg, false),
        TrainerClients.apiTimeout(kafka), serdes.adapterSnapshot().deserializer(), base, hmacKey, closing, stalls);
    this.deadLetters = new DeadLetters(cfg.adapterId(), common.catalog().examplesDlq.name());
    this.cadence = new PublishCadence(cfg.publishSteps(), cfg.publishIntervalMs(), cfg.publishMinIntervalMs(), System::nanoTime);
    this.progress = new ProgressLog(cfg.metricsIntervalMs());
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
    BaseModel base = TrainerBase.load(cfg);
    try {
      return new AdapterTrainer(cfg, common, base, LorastreamSerdes.create(common.registryConfig()), listener, faults);
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
  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
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
      if (closing.requested()) {
        return; // closed before it ever ran
      }
      throw new IllegalStateException("trainer for adapter " + cfg.adapterId() + " was already started");
    }
    runner = Thread.currentThread();
    stalls.owner(runner);
    Throwable cause = null;
    boolean clean = false;
    String how = "after an error";
    try {
      log.info("trainer starting: {} input={} adapters={} base={} ({}) on {}", cfg, inputTopic, adaptersTopic,
          base.id(), base.fingerprint(), base.device());
      setState(TrainerStatus.State.STARTING);
      transactions.open();
      bootstrap();
      setState(TrainerStatus.State.RUNNING);
      while (!closing.requested()) {
        try {
          pollOnce();
        } catch (WakeupException e) {
          if (!closing.requested()) {
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
    } catch (WakeupException | CancellationException e) {
      if (closing.requested()) {
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
          cfg.adapterId(), how, ledger.lastVersion(), ledger.snapshotsCommitted());
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
    closing.request();
    if (started.compareAndSet(false, true)) { // never ran: nothing to publish
      release(true);
      setState(TrainerStatus.State.STOPPED);
      stopped.countDown();
      return;
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
    transactions.initTransactions();
    faults.at(FaultInjector.BEFORE_RESTORE);
    CommittedStateReader.State committed = committedState.read(consumer);
    partitions = committed.partitions();
    input.assign(partitions);
    ledger.restored(committed);
    resetLearner();
    tracker = new OffsetTracker();
    deadLetters.clear();
    rewinds++;
    committed.start().forEach((tp, off) -> {
      tracker.start(tp, off);
      input.seek(tp, off);
    });
    assembler.clear();
    trainedUnsettled = 0;
    pauses.resumeAll();
    markCommitPoint();
    stateTrusted = true;
    if (ledger.lastCommitted() != null) {
      log.info("adapter {}: resumed from committed snapshot v{} (step {}, {} examples, ranks {}); input from {}; "
          + "next version v{}; AdamW moments restart at zero", cfg.adapterId(), ledger.lastCommittedVersion(),
          learner.optimizerStep(), learner.examplesSeen(), learner.ranks(), committed.start(), ledger.nextVersion());
    } else {
      log.info("adapter {}: no committed snapshot, starting a fresh adapter (ranks {}); input from {}; next version "
          + "v{}", cfg.adapterId(), learner.ranks(), committed.start(), ledger.nextVersion());
    }
    if (committed.found().rejected() > 0) {
      log.warn("adapter {}: {} committed snapshot record(s) could not be restored and were skipped",
          cfg.adapterId(), committed.found().rejected());
    }
    // An ignored deletion newer than the restored snapshot would let compaction drop it: commit a
    // successor at once, so the newest record of the adapter is a valid snapshot again.
    if (ledger.supersedeDeletion()) {
      log.warn("adapter {}: committing v{} right away to supersede the ignored deletion", cfg.adapterId(),
          ledger.nextVersion());
    }
    stalls.cleared();
    updateStatus();
    long restoredVersion = ledger.lastCommittedVersion();
    long restoredExamples = learner.examplesSeen();
    notifyListener(() -> listener.onRestored(cfg.adapterId(), restoredVersion, restoredExamples));
  }

  /** Puts the learner in the last committed state: the decoded snapshot, or a fresh adapter. */
  private void resetLearner() {
    steps.discard(); // their examples are read again from the offsets restored with the learner
    DecodedAdapter lastCommitted = ledger.lastCommitted();
    if (learner == null || lastCommitted == null) {
      if (learner != null) {
        learner.close();
      }
      learner = OnlineLearner.create(base, cfg.adapterConfig(), cfg.learnerConfig());
    }
    if (lastCommitted != null) {
      learner.restore(lastCommitted.state());
    }
    lastView = StepPipeline.LearnerView.of(learner);
  }

  /**
   * After an aborted transaction: the learner goes back to the last committed snapshot and the
   * consumer to its offsets, so every record after them is trained again exactly once.
   */
  private void rollback() {
    ledger.rolledBack();
    deadLetters.clear(); // read again from the rewound offsets, and dead-lettered by a later cut
    resetLearner();
    assembler.clear();
    trainedUnsettled = 0;
    Map<TopicPartition, Long> seek = tracker.rollback();
    rewinds++;
    pauses.resumeAll();
    seek.forEach(input::seek);
    markCommitPoint();
    log.warn("adapter {}: rolled back to v{} (step {}, {} examples); input rewound to {}", cfg.adapterId(),
        ledger.lastCommittedVersion(), learner.optimizerStep(), learner.examplesSeen(), seek);
    updateStatus();
  }

  private void markCommitPoint() {
    cadence.mark(learner.optimizerStep(), learner.examplesSeen());
  }

  // ---------------------------------------------------------------------------------------------
  // The loop

  private void pollOnce() {
    pauses.resumeExpired();
    TrainerInput.Polled records = input.poll(Duration.ofMillis(cfg.pollTimeoutMs()));
    if (!records.isEmpty()) {
      faults.at(FaultInjector.AFTER_POLL);
      Set<TopicPartition> stalled = new HashSet<>();
      long epoch = rewinds;
      List<ConsumerRecord<byte[], byte[]>> polled = records.records();
      List<RecordIntake.Outcome> fetched = records.outcomes();
      // Decoding runs ahead on its own thread (or on the fetchers) while this one trains; what each
      // record is, and so every offset claimed, is still settled here, in order.
      List<Future<RecordIntake.Outcome>> ahead = fetched != null ? null : decodeAhead(polled);
      try {
        for (int i = 0; i < polled.size(); i++) {
          ConsumerRecord<byte[], byte[]> r = polled.get(i);
          if (rewinds != epoch) {
            break; // rolled back mid-poll: the rest of this poll is read again from the rewound positions
          }
          TopicPartition tp = new TopicPartition(r.topic(), r.partition());
          if (stalled.contains(tp) || !input.current(records, tp)) {
            continue; // sought since this poll (a pause or a rewind): read again from there
          }
          RecordIntake.Outcome in = fetched != null ? fetched.get(i)
              : ahead == null ? intake.classify(r) : decoded(ahead.get(i));
          if (!accept(tp, r, in)) {
            // The registry is unreachable: re-read this record later instead of dropping it.
            stalled.add(tp);
            pauses.pauseAt(tp, r.offset());
          }
        }
      } finally {
        if (ahead != null) {
          ahead.forEach(f -> f.cancel(false)); // records read again after a rewind or stall are decoded again
        }
      }
    }
    input.positions(records, partitions).forEach(tracker::observePosition);
    long now = System.nanoTime();
    if (!records.isEmpty()) {
      lastInputNanos = now;
    } else if (!assembler.isEmpty()
        && now - lastInputNanos >= TimeUnit.MILLISECONDS.toNanos(cfg.publishIntervalMs())) {
      // The stream went quiet with a partial micro-batch: train it, so the interval's snapshot
      // holds every example routed so far instead of waiting for examples that may never come.
      trainBatch();
    }
    steps.completeReady(this::stepDone);
    maybePublish(false);
    updateStatus();
    progress.maybeLog(status);
  }

  /** The poll's records submitted to the decode thread, in order; null when decoding is inline. */
  private List<Future<RecordIntake.Outcome>> decodeAhead(List<ConsumerRecord<byte[], byte[]>> polled) {
    if (decoder == null) {
      return null;
    }
    List<Future<RecordIntake.Outcome>> out = new ArrayList<>(polled.size());
    // Once a partition's record waits for the registry, the trainer re-reads the partition's rest
    // later, so decoding it now would only wait for the registry again, record by record.
    Set<TopicPartition> stalledAhead = new HashSet<>(); // decode thread only
    for (ConsumerRecord<byte[], byte[]> r : polled) {
      out.add(decoder.submit(() -> {
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        if (stalledAhead.contains(tp)) {
          return null; // never read: the trainer thread skips the stalled partition first
        }
        RecordIntake.Outcome o = intake.classify(r);
        if (o.kind() == RecordIntake.Kind.REGISTRY_UNAVAILABLE) {
          stalledAhead.add(tp);
        }
        return o;
      }));
    }
    return out;
  }

  /** The outcome the decode thread computed, with its failure rethrown here as the inline call would. */
  private static RecordIntake.Outcome decoded(Future<RecordIntake.Outcome> f) {
    return StepPipeline.result(f, "decoding an input record failed");
  }

  /** Handles one input record; returns false only when it must be re-read later (registry outage). */
  private boolean accept(TopicPartition tp, ConsumerRecord<byte[], byte[]> r, RecordIntake.Outcome in) {
    if (in.kind() == RecordIntake.Kind.REGISTRY_UNAVAILABLE) {
      log.warn("adapter {}: schema registry unavailable while decoding {}@{} ({}); pausing the partition for {} ms",
          cfg.adapterId(), tp, r.offset(), in.detail(), REGISTRY_BACKOFF_MS);
      return false;
    }
    recordsPolled++;
    switch (in.kind()) {
      case BAD -> {
        tracker.polledBad(tp, r.offset());
        deadLetters.add(tp, r, in.code(), in.detail());
      }
      case OTHER_TASK -> {
        otherTaskRecords++;
        tracker.polled(tp, r.offset(), false);
      }
      default -> {
        tracker.polled(tp, r.offset(), true);
        if (assembler.addChecked(in.example())) {
          trainBatch();
        }
      }
    }
    return true;
  }

  private void trainBatch() {
    steps.submit(learner, assembler.drain(), this::stepDone);
    maybePublish(false);
  }

  /** A finished step, on the trainer thread and in order: only now do its examples count as trained. */
  private void stepDone(StepPipeline.Done d) {
    MicroBatch mb = d.batch();
    StepResult r = d.result();
    lastView = d.after();
    trainedUnsettled += mb.size();
    if (r.predictions() != null) {
      int[] labels = mb.labels();
      int[] predicted = r.predictions();
      notifyListener(() -> listener.onScored(labels, predicted));
    }
    afterStep(r, mb.size(), d.after());
    faults.at(FaultInjector.AFTER_TRAIN);
  }

  private void afterStep(StepResult r, int batchSize, StepPipeline.LearnerView after) {
    if (r.skippedNonFinite()) {
      ledger.skippedMicroBatch();
      log.warn("adapter {}: skipped a micro-batch with a non-finite loss or gradient ({} in the adapter's history)",
          cfg.adapterId(), ledger.skippedTotal());
    }
    if (r.ranksChanged()) {
      log.info("adapter {}: rank grew to {} at optimizer step {}", cfg.adapterId(), after.ranks(), r.optimizerStep());
    }
    StepStats stats = new StepStats(r.optimizerStep(), after.examplesSeen(), batchSize, r.loss(), r.gradNorm(),
        after.lossEma(), r.stepped(), r.skippedNonFinite(), r.ranksChanged(), after.ranks());
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
    steps.drain(this::stepDone);
    maybePublish(true);
  }

  // ---------------------------------------------------------------------------------------------
  // Publishing

  private void maybePublish(boolean shutdown) {
    completeInFlight(shutdown);
    // The cadence counts the steps already queued, as if they had finished: a cut drains them first,
    // so a snapshot is still cut every publish.steps optimizer steps, not that plus the queue.
    StepPipeline.LearnerView v = learnerView();
    long expectedSteps = v.optimizerStep() + (v.pendingMicroBatches() + steps.inFlight()) / cfg.accumulationSteps();
    long expectedExamples = v.examplesSeen() + steps.queuedExamples();
    if (!cadence.due(shutdown, ledger.supersedeDeletion(), expectedSteps, expectedExamples,
        tracker.hasUncommittedProgress())) {
      return;
    }
    if (transactions.busy()) {
      // The cadence holds: a cut that is due waits for the previous transaction's outcome (training
      // only runs ahead of the broker by one publish interval). After a rollback nothing is due.
      completeInFlight(true);
      maybePublish(shutdown);
      return;
    }
    publish(shutdown);
  }

  /** Cuts, encodes and hands one snapshot transaction to the publisher thread (see the class comment). */
  private void publish(boolean shutdown) {
    steps.drain(this::stepDone); // the cut claims only examples whose step has finished: all of them now
    if (learner.pendingMicroBatches() > 0) {
      // Accumulated gradients are applied now so the snapshot holds every example it claims.
      StepResult flushed = learner.flush();
      lastView = StepPipeline.LearnerView.of(learner);
      afterStep(flushed, 0, lastView);
    }
    tracker.settle(trainedUnsettled);
    trainedUnsettled = 0;
    OffsetTracker.Cut cut = tracker.cut();
    long version = ledger.nextVersion();
    long wallNow = System.currentTimeMillis();
    SnapshotMetrics.Values values = new SnapshotMetrics.Values(version, learner.optimizerStep(),
        learner.examplesSeen(), cadence.rate(learner.examplesSeen()), learner.lossEma(),
        learner.lastGradNorm(), learner.ranks(), ledger.skippedTotal(), ledger.badCommitted() + cut.badRecords());
    SnapshotEncoder.Encoded encoded;
    try {
      encoded = encoder.encode(learner, cut, values, wallNow);
    } catch (SnapshotEncoder.Unpublishable e) {
      log.error("adapter {}: refusing to publish v{}: {}; rolling back to the last committed snapshot",
          cfg.adapterId(), version, e.getMessage());
      rollback();
      return;
    } catch (RuntimeException e) {
      // Nothing was sent: keep training and try again shortly (the next cut simply covers more).
      log.warn("adapter {}: cannot serialize snapshot v{} ({}); retrying in {} ms", cfg.adapterId(), version,
          e.getMessage(), PUBLISH_RETRY_BACKOFF_MS);
      stalls.stalled("serializing snapshot v" + version, e);
      cadence.retryAfter(PUBLISH_RETRY_BACKOFF_MS);
      return;
    }
    Map<TopicPartition, OffsetAndMetadata> offsets = new LinkedHashMap<>();
    cut.untilOffsets().forEach((tp, off) -> offsets.put(tp, new OffsetAndMetadata(off, "v" + version)));
    // The consumer is not thread-safe: its group metadata is read here, on the trainer thread.
    transactions.submit(new SnapshotTransactions.Pending(version, cut, values, encoded.verified(),
        encoded.snapshot().length, ledger.skippedSinceCommit(), shutdown), new SnapshotTransactions.Batch(version,
        encoded.snapshot(), encoded.metrics(), deadLetters.claim(cut.untilOffsets()), offsets, consumer.groupMetadata()));
    // The publish cadence counts from this cut; a failed transaction resets it to the committed state.
    cadence.mark(values.optimizerStep(), values.examplesSeen());
    if (shutdown) {
      completeInFlight(true);
    }
  }

  /** Settles the transaction in flight (see {@link SnapshotTransactions#settle}); with {@code wait}, waits for it. */
  private void completeInFlight(boolean wait) {
    // Meanwhile the status shows e.g. "stalled committing vN" from the publisher thread.
    transactions.settle(wait, this::updateStatus, this::committed, this::aborted);
  }

  /** The transaction failed and was aborted; with a replaced producer only the topic says what is committed. */
  private void aborted(SnapshotTransactions.Pending p, boolean producerReplaced) {
    ledger.aborted();
    if (producerReplaced) {
      bootstrap(); // a newer trainer may have committed meanwhile
    } else {
      rollback(); // also discards what was trained after this cut
    }
  }

  private void committed(SnapshotTransactions.Pending f, long commitWall) {
    SnapshotMetrics.Values values = f.values();
    tracker.committed(f.cut());
    ledger.committed(f.version(), f.verified(), values, f.skippedAtCut());
    stalls.cleared();
    long bytes = f.bytes();
    long version = f.version();
    Map<String, Integer> ranks = values.ranks();
    log.info("adapter {}: committed snapshot v{} (step {}, {} examples, ranks {}, {} bytes, offsets {})",
        cfg.adapterId(), version, values.optimizerStep(), values.examplesSeen(), ranks, bytes, f.cut().describe());
    updateStatus();
    notifyListener(() -> listener.onSnapshotCommitted(cfg.adapterId(), version, ranks, bytes, commitWall,
        values.examplesSeen()));
    faults.at(FaultInjector.AFTER_COMMIT);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private void setState(TrainerStatus.State s) {
    state = s;
    updateStatus();
  }

  private void updateStatus() {
    StepPipeline.LearnerView l = learnerView();
    status = l == null // not restored yet, or released: keep the last known figures
        ? status.with(state, stalls.on(), stalls.retries(), ledger.ignoredDeletions())
        : new TrainerStatus(cfg.adapterId(), state, l.optimizerStep(), l.examplesSeen(),
            assembler.size() + (int) steps.queuedExamples(), // read, not yet trained
            recordsPolled, otherTaskRecords, ledger.badCommitted() + tracker.uncommittedBadRecords(),
            ledger.skippedTotal(), ledger.lastVersion(), ledger.snapshotsCommitted(), ledger.transactionsAborted(),
            inputLag(), l.lossEma(), l.ranks(), stalls.on(), stalls.retries(), ledger.ignoredDeletions());
  }

  /** The learner's counters (see {@link #lastView}); null before the first restore and after release. */
  private StepPipeline.LearnerView learnerView() {
    return learner == null ? null : lastView;
  }

  /** Sum of the input partitions' lag as of the last fetch; -1 while some partition has none yet. */
  private long inputLag() {
    long sum = 0;
    for (TopicPartition tp : partitions) {
      OptionalLong lag = input.lag(tp);
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

  /** The listener's client meters; a listener that fails to provide them costs the metrics, never the trainer. */
  private io.lorastream.metrics.KafkaClientMeters clientMeters(TrainerListener l) {
    try {
      io.lorastream.metrics.KafkaClientMeters m = l.kafkaClientMeters();
      return m == null ? io.lorastream.metrics.KafkaClientMeters.NONE : m;
    } catch (RuntimeException e) {
      log.warn("adapter {}: listener failed to provide Kafka client meters: {}", cfg.adapterId(), e.toString());
      return io.lorastream.metrics.KafkaClientMeters.NONE;
    }
  }

  /**
   * Closes clients and the learner. After a clean stop the producer gets time to finish; after a
   * crash it is closed at once (see {@link SnapshotTransactions#close}).
   */
  private void release(boolean clean) {
    Duration wait = clean ? Duration.ofSeconds(5) : Duration.ZERO;
    if (decoder != null) {
      decoder.shutdownNow(); // before the tokenizer closes below: nothing decodes after this
      try {
        decoder.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    transactions.close(wait);
    input.close();
    clientMeters.closing("input");
    try {
      consumer.close(CloseOptions.timeout(wait));
    } catch (RuntimeException e) {
      log.debug("consumer close failed", e);
    }
    boolean idle = steps.stop();
    if (learner != null && idle) {
      learner.close();
      learner = null;
    } else if (learner != null) {
      log.error("adapter {}: a training step is still running after 60 s; the learner is left open", cfg.adapterId());
    }
    if (tokenizer != null) {
      tokenizer.close();
    }
    base.close();
  }
}
