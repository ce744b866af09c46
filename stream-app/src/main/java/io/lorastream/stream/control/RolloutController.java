package io.lorastream.stream.control;

import io.lorastream.stream.rollout.RolloutConfig;
import io.lorastream.stream.rollout.RolloutRules;
import io.lorastream.stream.rollout.RolloutSigning;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.RolloutAction;
import io.lorastream.avro.RolloutCommand;
import io.lorastream.avro.RolloutMode;
import io.lorastream.avro.RolloutState;
import io.lorastream.config.CommonConfig;
import io.lorastream.kafka.ChunkedValues;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.kafka.TopicReads;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedClassifier;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotRejectedException;
import io.lorastream.registry.RegistryException;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.serving.ServingModel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single writer of {@code adapters.control}: folds committed snapshots ({@code adapters}) and
 * commands ({@code adapters.commands}) into each adapter's {@link RolloutState} with
 * {@link RolloutRules}, runs the gate on {@code examples.eval}, and copies every valid snapshot to
 * {@code adapters.retained} (deleting those that leave retention). Each batch of new states, copies
 * and deletions is written in one transaction together with the input offsets it consumed, so a
 * crash neither loses a decision nor makes one twice; a second controller with the same id fences
 * the first. States are restored from the control topic itself at start.
 *
 * <p>The gate's counts are recorded in the state every few examples, so a restarted controller goes
 * on from the last recorded ones (examples that arrived while it was down are not scored). Snapshots are verified (checksum, signature, base fingerprint, shapes) before they can
 * become a candidate or active; an invalid one is recorded as such and never served.
 */
public final class RolloutController implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RolloutController.class);
  private static final long MAX_BACKOFF_MS = 2_000;
  /** Longest restore read of one topic; past it the controller backs off and starts again. */
  private static final Duration RESTORE_TIMEOUT = Duration.ofMinutes(10);
  /** Actor of the gate's decisions. */
  public static final String GATE = "gate";

  private final RolloutConfig config;
  private final TopicCatalog topics;
  private final BaseModel base;
  private final ServingEngine engine;
  private final MergedClassifier baseModel;
  private final RolloutRules rules;
  private final byte[] key;
  private final Deserializer<AdapterSnapshot> snapshots;
  private final Deserializer<RolloutCommand> commands;
  private final Deserializer<RolloutState> stateDeserializer;
  private final Serializer<RolloutState> stateSerializer;
  private final Deserializer<LabeledExample> examples;
  private final Map<String, Object> consumerProps;
  private final Map<String, Object> producerProps;
  private final String groupId;
  private final LongSupplier clock;
  private final Thread thread;
  private final io.lorastream.metrics.KafkaClientMeters clientMeters;
  private final CountDownLatch stop = new CountDownLatch(1);
  private final CountDownLatch ready = new CountDownLatch(1);
  private volatile boolean closed;
  private volatile KafkaConsumer<byte[], byte[]> consumer;
  private volatile Throwable failure;

  // Loop thread only.
  private final Map<String, RolloutState> states = new HashMap<>();
  /** Verified snapshots of gated adapters' retained versions, for the gate. */
  private final Map<String, Map<Long, AdapterSnapshot>> kept = new HashMap<>();
  private final Map<String, CandidateGate> gates = new HashMap<>();
  /** Part counts of retained copies written in parts, so that their deletion removes every part. */
  private final Map<String, Integer> retainedParts = new HashMap<>();
  private final Map<String, RolloutState> published = new ConcurrentHashMap<>();
  private Map<TopicPartition, OffsetAndMetadata> lastCommitted = Map.of();
  private final Map<String, java.util.concurrent.atomic.LongAdder> decisionCounts = new ConcurrentHashMap<>();

  private RolloutController(RolloutConfig config, CommonConfig common, LorastreamSerdes serdes, BaseModel base,
      LongSupplier clock, io.lorastream.metrics.KafkaClientMeters clientMeters) {
    this.config = config;
    this.clientMeters = clientMeters;
    this.topics = common.catalog();
    this.base = base;
    this.engine = ServingEngine.choose("auto", base);
    this.baseModel = engine.ofBase(base);
    this.rules = new RolloutRules(config.retainedVersions());
    this.key = config.hmacKey();
    this.snapshots = serdes.adapterSnapshot().deserializer();
    this.commands = serdes.rolloutCommand().deserializer();
    this.stateDeserializer = serdes.rolloutState().deserializer();
    this.stateSerializer = serdes.rolloutState().serializer();
    this.examples = serdes.labeledExample().deserializer();
    this.clock = clock;
    this.groupId = common.prefixed(config.controllerId());
    Map<String, Object> c = new HashMap<>(common.kafkaProperties());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, groupId + "-input");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "5");
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    this.consumerProps = c;
    Map<String, Object> p = new HashMap<>(common.kafkaProperties());
    p.put(ProducerConfig.CLIENT_ID_CONFIG, groupId + "-producer");
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, groupId);
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    p.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(16 * 1024 * 1024));
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    this.producerProps = p;
    this.thread = new Thread(this::run, "rollout-controller");
    this.thread.setDaemon(true);
  }

  /** Starts the controller's thread; {@code base} is the frozen model snapshots must match (not closed here). */
  public static RolloutController start(RolloutConfig config, CommonConfig common, LorastreamSerdes serdes,
      BaseModel base) {
    return start(config, common, serdes, base, io.lorastream.metrics.KafkaClientMeters.NONE);
  }

  /**
   * As {@link #start(RolloutConfig, CommonConfig, LorastreamSerdes, BaseModel)}, binding the
   * controller's consumer ({@value #INPUT_CLIENT_ROLE}) and transactional producer
   * ({@value #DECISIONS_CLIENT_ROLE}) to {@code clientMeters}.
   */
  public static RolloutController start(RolloutConfig config, CommonConfig common, LorastreamSerdes serdes,
      BaseModel base, io.lorastream.metrics.KafkaClientMeters clientMeters) {
    RolloutController c = new RolloutController(config, common, serdes, base, System::currentTimeMillis, clientMeters);
    c.thread.start();
    return c;
  }

  /** Roles of the controller's clients among the service's Kafka client metrics. */
  public static final String INPUT_CLIENT_ROLE = "rollout-input";
  public static final String DECISIONS_CLIENT_ROLE = "rollout-decisions";

  /** Waits until the controller has restored its states and begun reading its inputs; false on timeout. */
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    return ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The newest state the controller committed for {@code adapterId}, if any (for tests and status). */
  public Optional<RolloutState> state(String adapterId) {
    return Optional.ofNullable(published.get(adapterId));
  }

  /**
   * Committed decisions since this controller started, by kind: the action ("PROMOTE",
   * "ROLLBACK", "AUTO_PROMOTE"...), "refused " in front of refused ones, " by gate" after the gate's.
   */
  public Map<String, Long> decisionCounts() {
    Map<String, Long> out = new java.util.TreeMap<>();
    decisionCounts.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  public boolean isRunning() {
    return thread.isAlive() && !closed;
  }

  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  private void run() {
    long backoff = 50;
    while (!closed) {
      try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerProps);
           KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerProps)) {
        consumer = c;
        clientMeters.opened(INPUT_CLIENT_ROLE, c);
        clientMeters.opened(DECISIONS_CLIENT_ROLE, producer);
        try {
          producer.initTransactions();
          restore(c);
          List<TopicPartition> inputs = assignInputs(c);
          if (inputs == null) {
            pause(backoff);
            backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
            continue;
          }
          ready.countDown();
          loop(c, producer, inputs);
        } finally {
          clientMeters.closing(INPUT_CLIENT_ROLE); // a closed client's metrics can no longer be read
          clientMeters.closing(DECISIONS_CLIENT_ROLE);
        }
      } catch (ProducerFencedException e) {
        if (!closed) {
          failure = e;
          log.error("Rollout controller {} was fenced by another instance with the same id; stopping", groupId);
        }
        return;
      } catch (WakeupException | InterruptException e) {
        if (closed) {
          return;
        }
      } catch (KafkaException e) {
        // Abort, re-read the committed states and offsets, and go on from there.
        log.warn("Rollout controller {}: {}; restarting from the committed state in {} ms", groupId, e.toString(),
            backoff);
        pause(backoff);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      } catch (Throwable t) {
        if (!closed) {
          failure = t;
          log.error("Rollout controller {} stopped; no further rollout decisions are made", groupId, t);
        }
        return;
      } finally {
        consumer = null;
      }
    }
  }

  /** Reads the control topic to its end, and the retained snapshots the gate may need. */
  private void restore(KafkaConsumer<byte[], byte[]> c) {
    states.clear();
    kept.clear();
    gates.clear();
    retainedParts.clear();
    readToEnd(c, topics.adaptersControl.name(), r -> {
      if (r.key() == null || r.value() == null) {
        return;
      }
      RolloutState s = stateDeserializer.deserialize(r.topic(), r.headers(), r.value());
      if (RolloutSigning.verify(s, key) != RolloutSigning.Verdict.OK) {
        log.warn("Rollout controller: ignoring an unsigned or forged state of {} at {}-{}@{}", s.getAdapterId(),
            r.topic(), r.partition(), r.offset());
        return;
      }
      states.put(s.getAdapterId(), s);
    });
    ChunkedValues.Assembler parts = new ChunkedValues.Assembler();
    readToEnd(c, topics.adaptersRetained.name(), raw -> {
      ChunkedValues.Assembler.Offered whole = parts.offer(raw);
      ConsumerRecord<byte[], byte[]> r = whole.record();
      if (r == null || r.key() == null) {
        return;
      }
      String k = new String(r.key(), StandardCharsets.UTF_8);
      if (r.value() == null) {
        retainedParts.remove(k);
        return;
      }
      byte[] count = header(raw, ChunkedValues.PARTS_HEADER);
      if (count != null) {
        retainedParts.put(k, Integer.parseInt(new String(count, StandardCharsets.US_ASCII)));
      }
      AdapterSnapshot s = snapshots.deserialize(r.topic(), r.headers(), r.value());
      RolloutState st = states.get(s.getAdapterId());
      if (st != null && st.getMode() != RolloutMode.AUTO && RolloutRules.retained(st).contains(s.getVersion())) {
        kept.computeIfAbsent(s.getAdapterId(), x -> new HashMap<>()).put(s.getVersion(), s);
      }
    });
    published.clear();
    published.putAll(states);
    states.values().forEach(this::refreshGate);
    log.info("Rollout controller {} restored {} adapter state(s) from {}", groupId, states.size(),
        topics.adaptersControl.name());
  }

  private static byte[] header(ConsumerRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? null : h.value();
  }

  /** Reads {@code topic} to its end for the restore; a missing topic waits for {@code lorastream topics}. */
  private static void readToEnd(KafkaConsumer<byte[], byte[]> c, String topic,
      java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> sink) {
    if (!TopicReads.readToEnd(c, topic, RESTORE_TIMEOUT, sink)) {
      throw new KafkaException("topic " + topic + " does not exist yet (create the catalog topics: lorastream topics create)");
    }
  }

  /** Assigns adapters and commands from the committed offsets, and the holdout stream from its end. */
  private List<TopicPartition> assignInputs(KafkaConsumer<byte[], byte[]> c) {
    List<TopicPartition> all = new ArrayList<>();
    List<TopicPartition> committedOnes = new ArrayList<>();
    for (String t : List.of(topics.adapters.name(), topics.adaptersCommands.name(), topics.examplesEval.name())) {
      List<PartitionInfo> infos = c.partitionsFor(t, Duration.ofSeconds(10));
      if (infos == null || infos.isEmpty()) {
        log.warn("Rollout controller: topic {} does not exist yet; waiting", t);
        return null;
      }
      for (PartitionInfo i : infos) {
        TopicPartition tp = new TopicPartition(t, i.partition());
        all.add(tp);
        if (!t.equals(topics.examplesEval.name())) {
          committedOnes.add(tp);
        }
      }
    }
    c.assign(all);
    Map<TopicPartition, OffsetAndMetadata> committed = c.committed(Set.copyOf(committedOnes), Duration.ofSeconds(10));
    for (TopicPartition tp : committedOnes) {
      OffsetAndMetadata om = committed.get(tp);
      if (om == null) {
        c.seekToBeginning(List.of(tp));
      } else {
        c.seek(tp, om.offset());
      }
    }
    List<TopicPartition> eval = all.stream().filter(tp -> tp.topic().equals(topics.examplesEval.name())).toList();
    c.seekToEnd(eval);
    // seekToEnd is lazy: fix the positions now, so that every holdout example written after
    // awaitReady() returns is scored rather than skipped by an end offset looked up later.
    eval.forEach(tp -> c.position(tp, Duration.ofSeconds(10)));
    lastCommitted = Map.of();
    return committedOnes;
  }

  private void loop(KafkaConsumer<byte[], byte[]> c, KafkaProducer<String, byte[]> producer,
      List<TopicPartition> committedInputs) {
    ChunkedValues.Assembler parts = new ChunkedValues.Assembler();
    Map<TopicPartition, Long> pendingPart = new HashMap<>(); // first offset of a value still in parts
    long backoff = 50;
    while (!closed) {
      ConsumerRecords<byte[], byte[]> records = c.poll(config.pollTimeout());
      Batch batch = new Batch();
      boolean retryLater = false;
      for (TopicPartition tp : records.partitions()) {
        for (ConsumerRecord<byte[], byte[]> r : records.records(tp)) {
          boolean done;
          if (tp.topic().equals(topics.adapters.name())) {
            done = onSnapshotRecord(r, parts, pendingPart, batch);
          } else if (tp.topic().equals(topics.adaptersCommands.name())) {
            done = onCommand(r, batch);
          } else {
            done = onExample(r, batch);
          }
          if (!done) {
            c.seek(tp, r.offset()); // the registry is unreachable: read it again later
            retryLater = true;
            break;
          }
        }
      }
      commit(c, producer, committedInputs, pendingPart, batch);
      if (retryLater) {
        pause(backoff);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      } else {
        backoff = 50;
      }
    }
  }

  /** States, copies and deletions of one transaction. */
  private static final class Batch {
    final Map<String, RolloutState> states = new LinkedHashMap<>();
    final List<ProducerRecord<String, byte[]>> retained = new ArrayList<>();
    final List<io.lorastream.avro.RolloutDecision> decided = new ArrayList<>();

    boolean isEmpty() {
      return states.isEmpty() && retained.isEmpty();
    }
  }

  private boolean onSnapshotRecord(ConsumerRecord<byte[], byte[]> raw, ChunkedValues.Assembler parts,
      Map<TopicPartition, Long> pendingPart, Batch batch) {
    TopicPartition tp = new TopicPartition(raw.topic(), raw.partition());
    ChunkedValues.Assembler.Offered whole = parts.offer(raw);
    if (whole.part()) {
      pendingPart.putIfAbsent(tp, raw.offset());
      return true;
    }
    pendingPart.remove(tp);
    ConsumerRecord<byte[], byte[]> r = whole.record();
    if (r == null || r.key() == null || r.value() == null) {
      return true; // skipped parts and tombstones: a deletion is the consumers' business, not the rollout's
    }
    AdapterSnapshot s;
    try {
      s = snapshots.deserialize(r.topic(), r.headers(), r.value());
    } catch (RuntimeException e) {
      if (RegistryException.isOutage(e)) {
        log.warn("Rollout controller: cannot decode {}-{}@{} right now ({}); will retry", r.topic(), r.partition(),
            r.offset(), e.getMessage());
        return false;
      }
      log.warn("Rollout controller: undecodable snapshot record at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(),
          e.toString());
      return true;
    }
    String id = s.getAdapterId();
    long now = clock.getAsLong();
    RolloutState prev = stateOf(id, batch, now);
    if (s.getVersion() <= prev.getLatestVersion()) {
      return true; // already seen (replayed after a restart)
    }
    try {
      SnapshotCodec.decode(s, base, key);
    } catch (SnapshotRejectedException e) {
      apply(rules.invalid(prev, s.getVersion(), e.getMessage(), now), batch);
      return true;
    } catch (RuntimeException e) {
      apply(rules.invalid(prev, s.getVersion(), "INVALID: " + e, now), batch);
      return true;
    }
    String retainedKey = retainedKey(id, s.getVersion());
    List<ProducerRecord<String, byte[]>> copy = ChunkedValues.records(topics.adaptersRetained.name(), retainedKey,
        r.value(), ChunkedValues.DEFAULT_PART_BYTES, topics.adaptersRetained.partitions());
    if (copy.size() > 1) {
      retainedParts.put(retainedKey, copy.size());
    }
    batch.retained.addAll(copy);
    kept.computeIfAbsent(id, x -> new HashMap<>()).put(s.getVersion(), s);
    apply(rules.published(prev, s.getVersion(), now), batch);
    return true;
  }

  private boolean onCommand(ConsumerRecord<byte[], byte[]> r, Batch batch) {
    if (r.value() == null) {
      return true;
    }
    RolloutCommand cmd;
    try {
      cmd = commands.deserialize(r.topic(), r.headers(), r.value());
    } catch (RuntimeException e) {
      if (RegistryException.isOutage(e)) {
        return false;
      }
      log.warn("Rollout controller: undecodable command at {}-{}@{}: {}; it cannot be answered", r.topic(),
          r.partition(), r.offset(), e.toString());
      return true;
    }
    long now = clock.getAsLong();
    String id = cmd.getAdapterId();
    if (id == null || !id.matches("[A-Za-z0-9._-]+")) {
      log.warn("Rollout controller: command {} names no valid adapter id ({}); ignored", cmd.getCommandId(), id);
      return true;
    }
    RolloutState prev = stateOf(id, batch, now);
    RolloutSigning.Verdict v = RolloutSigning.verify(cmd, key);
    if (v != RolloutSigning.Verdict.OK) {
      log.warn("Rollout controller: {} command {} from {} for {} refused", v, cmd.getCommandId(), cmd.getActor(), id);
      apply(rules.unauthenticated(prev, cmd, v.name() + ": the controller requires commands signed with "
          + RolloutConfig.HMAC_KEY, now), batch);
      return true;
    }
    apply(rules.command(prev, cmd, now), batch);
    log.info("Rollout {} {} v{} by {}: {}", id, cmd.getAction(), cmd.getVersion() == null ? "-" : cmd.getVersion(),
        cmd.getActor(), lastReason(batch.states.get(id)));
    return true;
  }

  private boolean onExample(ConsumerRecord<byte[], byte[]> r, Batch batch) {
    if (gates.isEmpty() || r.value() == null) {
      return true;
    }
    LabeledExample ex;
    try {
      ex = examples.deserialize(r.topic(), r.headers(), r.value());
    } catch (RuntimeException e) {
      return !RegistryException.isOutage(e);
    }
    if (ex == null) {
      return true;
    }
    CandidateGate gate = gates.get(ex.getTask());
    if (gate == null) {
      return true;
    }
    Optional<CandidateGate.Verdict> done = gate.offer(ex);
    if (done.isEmpty() && gate.seen() > 0 && gate.seen() % CandidateGate.PERSIST_EVERY == 0) {
      long now = clock.getAsLong();
      apply(rules.gateProgress(stateOf(ex.getTask(), batch, now), gate.progress(), now), batch);
    }
    done.ifPresent(verdict -> {
      gates.remove(ex.getTask());
      long now = clock.getAsLong();
      RolloutCommand decision = RolloutCommand.newBuilder()
          .setCommandId("gate-" + UUID.randomUUID())
          .setAdapterId(ex.getTask())
          .setAction(verdict.promote() ? RolloutAction.PROMOTE : RolloutAction.REJECT)
          .setVersion(verdict.candidateVersion())
          .setActor(GATE)
          .setReason(verdict.reason())
          .setFigures(verdict.figures())
          .setIssuedAt(java.time.Instant.ofEpochMilli(now))
          .build();
      apply(rules.command(stateOf(ex.getTask(), batch, now), decision, now), batch);
      log.info("Rollout {}: {}", ex.getTask(), verdict.reason());
    });
    return true;
  }

  private RolloutState stateOf(String id, Batch batch, long now) {
    RolloutState s = batch.states.get(id);
    if (s == null) {
      s = states.get(id);
    }
    return s != null ? s : RolloutRules.initial(id, config.mode(), now);
  }

  private void apply(RolloutRules.Change change, Batch batch) {
    RolloutState s = change.state();
    String id = s.getAdapterId();
    batch.states.put(id, s);
    batch.decided.addAll(change.decided());
    for (long v : change.released()) {
      String k = retainedKey(id, v);
      Integer n = retainedParts.remove(k);
      if (n != null) {
        for (int i = 0; i < n - 1; i++) {
          batch.retained.add(new ProducerRecord<>(topics.adaptersRetained.name(), ChunkedValues.partKey(k, i), null));
        }
      }
      batch.retained.add(new ProducerRecord<>(topics.adaptersRetained.name(), k, null));
    }
    Map<Long, AdapterSnapshot> mine = kept.get(id);
    if (mine != null) {
      Set<Long> keep = RolloutRules.retained(s);
      mine.keySet().removeIf(v -> !keep.contains(v) || s.getMode() == RolloutMode.AUTO);
    }
    refreshGate(s);
  }

  /** Starts, keeps or drops the gate of one adapter to match its state. */
  private void refreshGate(RolloutState s) {
    String id = s.getAdapterId();
    Long candidate = s.getCandidateVersion();
    CandidateGate g = gates.get(id);
    if (s.getMode() != RolloutMode.GATED || candidate == null) {
      gates.remove(id);
      return;
    }
    if (g != null && g.candidateVersion() == candidate && g.activeVersion() == s.getActiveVersion()) {
      return;
    }
    Optional<ServingModel> cand = model(id, candidate);
    Optional<ServingModel> act = s.getActiveVersion() == 0 ? Optional.of(ServingModel.base(id, baseModel, 0))
        : model(id, s.getActiveVersion());
    if (cand.isEmpty() || act.isEmpty()) {
      gates.remove(id);
      log.warn("Rollout {}: cannot gate candidate v{}: the snapshot of v{} is not available", id, candidate,
          cand.isEmpty() ? candidate : s.getActiveVersion());
      return;
    }
    CandidateGate gate = new CandidateGate(cand.get(), act.get(), config.gateExamples(), config.gateMargin(), s.getGate());
    gates.put(id, gate);
    log.info("Rollout {}: gating candidate v{} against active v{} on {} holdout examples{}", id, candidate,
        s.getActiveVersion(), config.gateExamples(), gate.seen() == 0 ? "" : " (going on from " + gate.seen() + ")");
  }

  private Optional<ServingModel> model(String id, long version) {
    AdapterSnapshot s = kept.getOrDefault(id, Map.of()).get(version);
    if (s == null) {
      return Optional.empty();
    }
    DecodedAdapter d = SnapshotCodec.decode(s, base, key);
    return Optional.of(ServingModel.of(id, version, d.merge(base, engine), d.sourceOffsets()));
  }

  private void commit(KafkaConsumer<byte[], byte[]> c, KafkaProducer<String, byte[]> producer,
      List<TopicPartition> inputs, Map<TopicPartition, Long> pendingPart, Batch batch) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (TopicPartition tp : inputs) {
      long pos = c.position(tp, Duration.ofSeconds(10));
      Long pending = pendingPart.get(tp);
      offsets.put(tp, new OffsetAndMetadata(pending == null ? pos : Math.min(pos, pending)));
    }
    if (batch.isEmpty() && offsets.equals(lastCommitted)) {
      return; // only holdout examples were read: nothing to write
    }
    producer.beginTransaction();
    try {
      for (ProducerRecord<String, byte[]> r : batch.retained) {
        producer.send(r);
      }
      for (RolloutState s : batch.states.values()) {
        RolloutState signed = RolloutSigning.sign(s, key);
        producer.send(new ProducerRecord<>(topics.adaptersControl.name(), s.getAdapterId(),
            stateSerializer.serialize(topics.adaptersControl.name(), signed)));
      }
      producer.sendOffsetsToTransaction(offsets, c.groupMetadata());
      producer.commitTransaction();
    } catch (ProducerFencedException e) {
      throw e;
    } catch (KafkaException e) {
      try {
        producer.abortTransaction();
      } catch (KafkaException ignored) {
        // the restart below re-reads everything from the committed state anyway
      }
      throw e;
    }
    lastCommitted = offsets;
    for (io.lorastream.avro.RolloutDecision d : batch.decided) {
      String k = (d.getAccepted() ? "" : "refused ") + d.getAction() + (GATE.equals(d.getActor()) ? " by gate" : "");
      decisionCounts.computeIfAbsent(k, x -> new java.util.concurrent.atomic.LongAdder()).increment();
    }
    states.putAll(batch.states);
    published.putAll(batch.states);
  }

  private static String lastReason(RolloutState s) {
    if (s == null || s.getDecisions().isEmpty()) {
      return "";
    }
    var d = s.getDecisions().get(s.getDecisions().size() - 1);
    return (d.getAccepted() ? "" : "refused: ") + d.getReason();
  }

  /** The key of a retained copy: adapter ids cannot contain {@code @}. */
  public static String retainedKey(String adapterId, long version) {
    return adapterId + "@" + version;
  }

  private void pause(long millis) {
    try {
      stop.await(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  @Override
  public void close() {
    closed = true;
    stop.countDown();
    KafkaConsumer<byte[], byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
