package io.lorastream.stream.serving;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.RolloutMode;
import io.lorastream.avro.RolloutState;
import io.lorastream.kafka.ChunkedValues;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.lora.snapshot.AdapterDeletion;
import io.lorastream.registry.RegistryException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps an inference consumer's adapters current: a background thread reads the compacted
 * {@code adapters} topic from the beginning with {@code read_committed} (so a snapshot appears only
 * once the trainer's transaction commits, and never if it aborts) and feeds every snapshot to an
 * {@link AdapterSwapper}, which verifies it, merges it off the request path and swaps it in.
 * It uses manual assignment and no consumer group, so every consumer instance sees every snapshot
 * and none commits offsets. Record values are decoded here, not by the Kafka consumer, so that an
 * undecodable record is counted and skipped instead of wedging the poll loop.
 *
 * <p>With a state deserializer it also reads {@code adapters.control} (each adapter's rollout
 * state) and {@code adapters.retained} (the snapshots kept for rollback and pinning) from the
 * beginning, so what it serves follows the rollout controller's decisions, and a restarted
 * consumer restores them before it is caught up.
 *
 * <p>Rollout latency is dominated by how long an empty fetch waits on the broker; the default
 * {@code fetch.max.wait.ms} of 5 ms keeps commit-to-active in the low milliseconds on loopback,
 * and the merge is a few small products on this thread. Broker outages are retried forever with
 * the last good version serving throughout.
 */
public final class AdapterSubscriber implements ActiveModels, ModelHistory, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AdapterSubscriber.class);
  private static final long MAX_BACKOFF_MS = 2_000;
  /** Default role of the subscriber's consumer among a service's Kafka client metrics. */
  public static final String CLIENT_ROLE = "adapters";

  private final AdapterSwapper swapper;
  private final String topic;
  private final Deserializer<AdapterSnapshot> deserializer;
  // Subscriber thread only: snapshots published in parts are put back together before decoding.
  private final ChunkedValues.Assembler parts = new ChunkedValues.Assembler();
  private final ChunkedValues.Assembler retainedParts = new ChunkedValues.Assembler();
  private final Deserializer<RolloutState> stateDeserializer; // null: no rollouts, newest version serves
  private final String controlTopic;
  private final String retainedTopic;
  private final RolloutMode rolloutMode;
  private final Map<String, Object> consumerProps;
  private final Duration pollTimeout;
  private final String name;
  private final io.lorastream.metrics.KafkaClientMeters clientMeters;
  private final String clientRole;
  private final CountDownLatch stop = new CountDownLatch(1);
  private final CountDownLatch caughtUp = new CountDownLatch(1);
  private final Thread thread;
  private volatile boolean closed;
  private volatile KafkaConsumer<byte[], byte[]> consumer;
  private volatile Throwable failure;

  private AdapterSubscriber(Builder b) {
    this.swapper = new AdapterSwapper(b.base, b.adapterId, b.hmacKey, b.trainTopic, b.historySize, b.clock,
        b.engine == null ? ServingEngine.choose("auto", b.base) : b.engine);
    swapper.configureRollout(b.rolloutMode, b.consumerId == null ? b.clientId : b.consumerId);
    swapper.mergeBudget(new MergeBudget(b.mergeBudgetBytes));
    this.stateDeserializer = b.stateDeserializer;
    this.controlTopic = b.controlTopic;
    this.retainedTopic = b.retainedTopic;
    this.rolloutMode = b.rolloutMode;
    b.swapListeners.forEach(swapper::onSwap);
    b.modelListeners.forEach(swapper::onActivated);
    this.topic = b.topic;
    this.deserializer = b.deserializer;
    this.pollTimeout = b.pollTimeout;
    this.name = b.clientId;
    this.clientMeters = b.clientMeters;
    this.clientRole = b.clientRole;
    this.consumerProps = consumerProps(b);
    this.thread = new Thread(this::run, "adapter-subscriber-" + name);
    this.thread.setDaemon(true);
  }

  /** A builder; {@code base} is the frozen model snapshots must match (not closed by the subscriber). */
  public static Builder builder(BaseModel base) {
    return new Builder(base);
  }

  private static Map<String, Object> consumerProps(Builder b) {
    Map<String, Object> p = new HashMap<>(b.kafka);
    // No group: every instance must see every snapshot, and offsets are never committed because a
    // restart re-reads the compacted topic from the beginning anyway.
    p.remove(ConsumerConfig.GROUP_ID_CONFIG);
    p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, b.clientId);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, String.valueOf(b.fetchMaxWaitMs));
    p.put(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, "1");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    if (!p.containsKey(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG)) {
      throw new IllegalArgumentException("kafka properties must contain bootstrap.servers (kafka.bootstrap.servers)");
    }
    return p;
  }

  private AdapterSubscriber begin() {
    if (stateDeserializer != null) {
      swapper.holdRouting(true);
    }
    thread.start();
    return this;
  }

  private void run() {
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerProps)) {
      consumer = c;
      clientMeters.whileBound(clientRole, c, () -> follow(c));
    } catch (Throwable t) {
      if (!closed) {
        failure = t;
        log.error("Adapter subscriber {} stopped; the last active version keeps serving but no new one will arrive", name, t);
      }
    } finally {
      consumer = null;
    }
  }

  private void follow(KafkaConsumer<byte[], byte[]> c) {
    long backoff = 50;
    Map<TopicPartition, Long> catchUpTo = null;
    while (!closed) {
      try {
        if (c.assignment().isEmpty()) {
          catchUpTo = assign(c);
          if (catchUpTo == null) {
            pause(backoff);
            backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
            continue;
          }
        }
        ConsumerRecords<byte[], byte[]> records = c.poll(pollTimeout);
        boolean retryLater = false;
        for (TopicPartition tp : records.partitions()) {
          for (ConsumerRecord<byte[], byte[]> r : records.records(tp)) {
            if (!handle(r)) {
              // The registry is unreachable: this snapshot may well be valid, so re-read it later
              // instead of rejecting it.
              c.seek(tp, r.offset());
              retryLater = true;
              break;
            }
          }
        }
        if (retryLater) {
          pause(backoff);
          backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
          continue;
        }
        if (catchUpTo != null && reached(c, catchUpTo)) {
          catchUpTo = null;
          if (stateDeserializer != null) {
            swapper.holdRouting(false);
          }
          caughtUp.countDown();
          log.info("Adapter subscriber {} caught up with {}: serving {}", name, topic, describeActive());
        }
        backoff = 50;
      } catch (WakeupException e) {
        if (closed) {
          break;
        }
      } catch (InterruptException e) {
        break; // nobody but close() has a reason to interrupt this private thread
      } catch (KafkaException e) {
        // Broker restarts and transient faults: keep serving the last good version and retry.
        log.warn("Adapter subscriber {} poll failed, retrying in {} ms: {}", name, backoff, e.toString());
        pause(backoff);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
    }
  }

  /**
   * Assigns every partition of the adapters topic (and, with rollouts, of the control and retained
   * topics) from the beginning; null when a topic it cannot do without is not there yet.
   */
  private Map<TopicPartition, Long> assign(KafkaConsumer<byte[], byte[]> c) {
    List<TopicPartition> tps = new ArrayList<>();
    List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(5));
    if (infos == null || infos.isEmpty()) {
      log.warn("Adapter subscriber {}: topic {} does not exist yet; waiting (the frozen base keeps serving)", name, topic);
      return null;
    }
    infos.forEach(i -> tps.add(new TopicPartition(topic, i.partition())));
    if (stateDeserializer != null) {
      for (String t : List.of(controlTopic, retainedTopic)) {
        List<PartitionInfo> more = c.partitionsFor(t, Duration.ofSeconds(5));
        if (more == null || more.isEmpty()) {
          if (rolloutMode != RolloutMode.AUTO) {
            log.warn("Adapter subscriber {}: topic {} does not exist yet; waiting (rollout mode {} serves nothing "
                + "unpromoted; the frozen base keeps serving)", name, t, rolloutMode);
            return null;
          }
          log.warn("Adapter subscriber {}: topic {} does not exist; serving the newest version of each adapter "
              + "without rollout control (create it with lorastream topics create)", name, t);
          continue;
        }
        more.forEach(i -> tps.add(new TopicPartition(t, i.partition())));
      }
    }
    c.assign(tps);
    c.seekToBeginning(tps);
    // With read_committed these are last stable offsets: everything committed so far.
    Map<TopicPartition, Long> end = new HashMap<>(c.endOffsets(tps, Duration.ofSeconds(10)));
    log.info("Adapter subscriber {} reading {} partition(s) of {} from the beginning for adapter {}",
        name, tps.size(), tps.stream().map(TopicPartition::topic).distinct().toList(), swapper.adapterId());
    return end;
  }

  private static boolean reached(KafkaConsumer<byte[], byte[]> c, Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      if (c.position(e.getKey(), Duration.ofSeconds(5)) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  /** Processes one record; false when it must be retried later (schema registry unreachable). */
  private boolean handle(ConsumerRecord<byte[], byte[]> raw) {
    if (stateDeserializer != null && raw.topic().equals(controlTopic)) {
      return handleState(raw);
    }
    boolean retained = stateDeserializer != null && raw.topic().equals(retainedTopic);
    ChunkedValues.Assembler.Offered whole = (retained ? retainedParts : parts).offer(raw);
    if (whole.record() == null) {
      if (whole.missing() != null) {
        log.info("Adapter subscriber {}: snapshot at {}-{}@{} skipped: {}", name, raw.topic(), raw.partition(),
            raw.offset(), whole.missing());
      }
      return true;
    }
    ConsumerRecord<byte[], byte[]> r = whole.record();
    if (retained && r.value() == null) {
      return true; // a released version: the swapper already dropped it with the state that released it
    }
    if (r.value() == null) {
      String id = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
      swapper.delete(id, AdapterDeletion.classify(id, r.headers(), swapper.hmacKey()));
      return true;
    }
    AdapterSnapshot s;
    try {
      s = deserializer.deserialize(r.topic(), r.headers(), r.value());
    } catch (RuntimeException e) {
      if (RegistryException.isOutage(e)) {
        log.warn("Adapter subscriber {}: cannot decode {}-{}@{} right now ({}); will retry", name, r.topic(),
            r.partition(), r.offset(), e.getMessage());
        return false;
      }
      swapper.rejectUndecodable(r.topic() + "-" + r.partition() + "@" + r.offset(), e);
      return true;
    }
    if (s != null) {
      try {
        if (retained) {
          swapper.offerRetained(s);
        } else {
          swapper.offer(s);
        }
      } catch (RuntimeException e) {
        // offer() already turns every verification failure into a counted rejection; anything
        // else is a bug, and one bad record must still not stop future versions from arriving.
        log.error("Adapter subscriber {}: unexpected failure on {}-{}@{}; skipping it", name, r.topic(), r.partition(),
            r.offset(), e);
      }
    }
    return true;
  }

  private boolean handleState(ConsumerRecord<byte[], byte[]> r) {
    if (r.value() == null) {
      return true;
    }
    RolloutState st;
    try {
      st = stateDeserializer.deserialize(r.topic(), r.headers(), r.value());
    } catch (RuntimeException e) {
      if (RegistryException.isOutage(e)) {
        return false;
      }
      swapper.rejectUndecodable(r.topic() + "-" + r.partition() + "@" + r.offset(), e);
      return true;
    }
    if (st != null) {
      swapper.applyState(st);
    }
    return true;
  }

  private void pause(long millis) {
    try {
      stop.await(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  private String describeActive() {
    return AdapterSwapper.ALL_ADAPTERS.equals(swapper.adapterId()) ? "every adapter"
        : swapper.adapterId() + " v" + swapper.activeVersion();
  }

  /**
   * Waits until every snapshot committed before the subscriber started has been processed, so a
   * service can avoid answering with an older version right after a restart; false on timeout.
   */
  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The verify-and-swap core (counters, listeners, history). */
  public AdapterSwapper swapper() {
    return swapper;
  }

  /** The model for one request, with its rollout role (see {@link AdapterSwapper#forRequest}). */
  @Override
  public Optional<AdapterSwapper.Routed> forRequest(String task, String requestId) {
    return swapper.forRequest(task, requestId);
  }

  /** The active model of the configured adapter (read it once per request). */
  public ServingModel current() {
    return swapper.current();
  }

  /** The engine that merges and serves every version. */
  public ServingEngine engine() {
    return swapper.engine();
  }

  @Override
  public ServingModel current(String adapterId) {
    return swapper.current(adapterId);
  }

  @Override
  public Optional<ServingModel> forTask(String task) {
    return swapper.forTask(task);
  }

  @Override
  public Optional<ScoringModel> modelFor(String task, int partition, long offset) {
    return swapper.modelFor(task, partition, offset);
  }

  @Override
  public ServingModel frozen() {
    return swapper.frozen();
  }

  public long activeVersion() {
    return swapper.activeVersion();
  }

  public long activeVersion(String adapterId) {
    return swapper.activeVersion(adapterId);
  }

  public long lastSwapMillis() {
    return swapper.lastSwapMillis();
  }

  public boolean awaitVersion(long version, Duration timeout) throws InterruptedException {
    return swapper.awaitVersion(version, timeout);
  }

  public boolean awaitVersion(String adapterId, long version, Duration timeout) throws InterruptedException {
    return swapper.awaitVersion(adapterId, version, timeout);
  }

  /** Registers a swap listener (swaps that happened before registration are not replayed). */
  public void onSwap(SwapListener listener) {
    swapper.onSwap(listener);
  }

  public void onActivated(Consumer<ServingModel> listener) {
    swapper.onActivated(listener);
  }

  public SwapStats stats() {
    return swapper.stats();
  }

  public long applied() {
    return swapper.applied();
  }

  public long ignoredNotNewer() {
    return swapper.ignoredNotNewer();
  }

  public long rejected(RejectReason reason) {
    return swapper.rejected(reason);
  }

  public long rejectedTotal() {
    return swapper.rejectedTotal();
  }

  /** Whether the background thread is alive. */
  public boolean isRunning() {
    return thread.isAlive() && !closed;
  }

  /** The error that stopped the background thread, if any. */
  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  public String name() {
    return name;
  }

  /** Stops the thread and closes the consumer; the last models stay readable. */
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
    if (thread.isAlive()) {
      log.warn("Adapter subscriber {} did not stop within 30 s", name);
    }
  }

  /** Settings of an {@link AdapterSubscriber}; {@link #start()} validates them and starts the thread. */
  public static final class Builder {
    private final BaseModel base;
    private Map<String, String> kafka = Map.of();
    private String topic = "adapters";
    private String trainTopic = "examples.train";
    private String controlTopic = "adapters.control";
    private String retainedTopic = "adapters.retained";
    private Deserializer<RolloutState> stateDeserializer;
    private RolloutMode rolloutMode = RolloutMode.AUTO;
    private String consumerId;
    private long mergeBudgetBytes;
    private Deserializer<AdapterSnapshot> deserializer;
    private String adapterId;
    private byte[] hmacKey;
    private int fetchMaxWaitMs = 5;
    private Duration pollTimeout = Duration.ofMillis(100);
    private int historySize = AdapterSwapper.DEFAULT_HISTORY;
    private String clientId = "adapter-subscriber";
    private io.lorastream.metrics.KafkaClientMeters clientMeters = io.lorastream.metrics.KafkaClientMeters.NONE;
    private String clientRole = CLIENT_ROLE;
    private LongSupplier clock = System::currentTimeMillis;
    private ServingEngine engine; // null: auto for the base
    private final List<SwapListener> swapListeners = new java.util.ArrayList<>();
    private final List<Consumer<ServingModel>> modelListeners = new java.util.ArrayList<>();

    private Builder(BaseModel base) {
      this.base = Objects.requireNonNull(base, "base");
    }

    /** Kafka client settings (the {@code kafka.*} pass-through without prefix), including bootstrap.servers. */
    public Builder kafkaProperties(Map<String, String> props) {
      this.kafka = Map.copyOf(props);
      return this;
    }

    /** Shortcut for tests: only bootstrap.servers. */
    public Builder bootstrapServers(String servers) {
      Map<String, String> m = new HashMap<>(kafka);
      m.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
      this.kafka = Map.copyOf(m);
      return this;
    }

    /** Takes the adapters and examples.train topic names from the catalog. */
    public Builder topics(TopicCatalog catalog) {
      this.topic = catalog.adapters.name();
      this.trainTopic = catalog.examplesTrain.name();
      this.controlTopic = catalog.adaptersControl.name();
      this.retainedTopic = catalog.adaptersRetained.name();
      return this;
    }

    /**
     * Follows the rollout controller: reads {@code adapters.control} with this deserializer (e.g.
     * {@code serdes.rolloutState().deserializer()}) and {@code adapters.retained}; {@code mode} is
     * what to serve for an adapter before its first state ({@code rollout.mode}).
     */
    public Builder rollouts(Deserializer<RolloutState> states, RolloutMode mode) {
      this.stateDeserializer = Objects.requireNonNull(states, "states");
      this.rolloutMode = Objects.requireNonNull(mode, "mode");
      return this;
    }

    /** Bytes of merged versions to keep (0: no bound); see {@link AdapterSwapper#mergeBudget(MergeBudget)}. */
    public Builder mergeBudgetBytes(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("mergeBudgetBytes must be >= 0, got " + bytes);
      }
      this.mergeBudgetBytes = bytes;
      return this;
    }

    /** The inference consumer id, which a canary may name; default the client id. */
    public Builder consumerId(String id) {
      this.consumerId = Objects.requireNonNull(id);
      return this;
    }

    public Builder topic(String adaptersTopic) {
      this.topic = Objects.requireNonNull(adaptersTopic);
      return this;
    }

    /** Topic whose offsets snapshots record, for {@link AdapterSubscriber#modelFor}. */
    public Builder trainTopic(String examplesTrainTopic) {
      this.trainTopic = Objects.requireNonNull(examplesTrainTopic);
      return this;
    }

    /** A configured value deserializer, e.g. {@code serdes.adapterSnapshot().deserializer()}. */
    public Builder deserializer(Deserializer<AdapterSnapshot> d) {
      this.deserializer = d;
      return this;
    }

    /** The adapter to serve, or {@value AdapterSwapper#ALL_ADAPTERS} for every adapter. */
    public Builder adapterId(String id) {
      this.adapterId = id;
      return this;
    }

    /** Shared signing key; when set, unsigned and forged snapshots are rejected. Null: no signature check. */
    public Builder hmacKey(byte[] key) {
      this.hmacKey = key == null ? null : key.clone();
      return this;
    }

    public Builder fetchMaxWaitMs(int ms) {
      if (ms < 0) {
        throw new IllegalArgumentException("fetchMaxWaitMs must be >= 0, got " + ms);
      }
      this.fetchMaxWaitMs = ms;
      return this;
    }

    public Builder pollTimeout(Duration d) {
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException("pollTimeout must be positive, got " + d);
      }
      this.pollTimeout = d;
      return this;
    }

    public Builder historySize(int n) {
      this.historySize = n;
      return this;
    }

    /**
     * Where the subscriber's consumer binds its Kafka client metrics, under {@code role} (tag
     * {@code client.role}); default {@link io.lorastream.metrics.KafkaClientMeters#NONE}.
     */
    public Builder clientMeters(io.lorastream.metrics.KafkaClientMeters meters, String role) {
      this.clientMeters = Objects.requireNonNull(meters);
      this.clientRole = Objects.requireNonNull(role);
      return this;
    }

    /** Kafka client id and thread-name suffix; make it unique per consumer instance. */
    public Builder clientId(String id) {
      this.clientId = Objects.requireNonNull(id);
      return this;
    }

    /** What merges and serves each version; default {@code auto} for the base (see {@link ServingEngine}). */
    public Builder engine(ServingEngine e) {
      this.engine = Objects.requireNonNull(e);
      return this;
    }

    public Builder clock(LongSupplier epochMillis) {
      this.clock = Objects.requireNonNull(epochMillis);
      return this;
    }

    /** A listener registered before the first record is read, so no swap is missed. */
    public Builder onSwap(SwapListener l) {
      swapListeners.add(Objects.requireNonNull(l));
      return this;
    }

    public Builder onActivated(Consumer<ServingModel> l) {
      modelListeners.add(Objects.requireNonNull(l));
      return this;
    }

    /** Validates the settings and starts the background thread. */
    public AdapterSubscriber start() {
      if (deserializer == null) {
        throw new IllegalArgumentException("an AdapterSnapshot deserializer is required, e.g. serdes.adapterSnapshot().deserializer()");
      }
      if (adapterId == null || adapterId.isBlank()) {
        throw new IllegalArgumentException("adapterId is required (an adapter id or " + AdapterSwapper.ALL_ADAPTERS + ")");
      }
      return new AdapterSubscriber(this).begin();
    }
  }
}
