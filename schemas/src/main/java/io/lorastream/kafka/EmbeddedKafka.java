package io.lorastream.kafka;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-process single-node Kafka cluster in KRaft combined mode (broker and controller in one
 * JVM). It formats its data directory on first start and reuses it afterwards, so a
 * {@link #stop()} followed by {@link #start()} keeps every topic and offset; ports chosen on the
 * first start are kept across restarts so that running clients can reconnect. Internal topics
 * (offsets, transactions, share state) use replication factor 1. Used by {@code lorastream local},
 * {@code demo} and the integration tests; production deployments point at a real cluster instead.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafka.class);
  private static final String HOST = "127.0.0.1";

  private final Path dataDir;
  private final boolean deleteOnClose;
  private final Map<String, String> overrides;
  private int brokerPort;
  private int controllerPort;
  private KafkaRaftServer server;

  private EmbeddedKafka(Builder b) {
    try {
      this.deleteOnClose = b.dataDir == null;
      this.dataDir = b.dataDir != null ? b.dataDir : Files.createTempDirectory("lorastream-kafka-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary Kafka data directory", e);
    }
    this.brokerPort = b.brokerPort;
    this.controllerPort = b.controllerPort;
    this.overrides = Map.copyOf(b.overrides);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Formats the data directory if needed and starts the broker; returns once it serves clients. */
  public synchronized EmbeddedKafka start() {
    if (server != null) {
      return this;
    }
    if (brokerPort == 0) {
      brokerPort = freePort();
    }
    if (controllerPort == 0) {
      controllerPort = freePort();
    }
    Path logDir = dataDir.resolve("kraft");
    Map<String, String> props = brokerConfig(logDir);
    try {
      Files.createDirectories(logDir);
      if (!Files.exists(logDir.resolve("meta.properties"))) {
        format(logDir);
      }
    } catch (Exception e) {
      throw new IllegalStateException("cannot format Kafka storage in " + logDir + ": " + e.getMessage(), e);
    }
    Properties p = new Properties();
    p.putAll(props);
    KafkaRaftServer s = new KafkaRaftServer(KafkaConfig.fromProps(p, false), Time.SYSTEM);
    s.startup();
    server = s;
    awaitReady(Duration.ofSeconds(60));
    log.info("embedded Kafka ready at {} (data {})", bootstrapServers(), dataDir);
    return this;
  }

  /** Stops the broker and waits for it; the data directory is kept for a later {@link #start()}. */
  public synchronized void stop() {
    if (server == null) {
      return;
    }
    server.shutdown();
    server.awaitShutdown();
    server = null;
    log.info("embedded Kafka stopped (data kept in {})", dataDir);
  }

  public synchronized boolean isRunning() {
    return server != null;
  }

  public String bootstrapServers() {
    return HOST + ":" + brokerPort;
  }

  public int brokerPort() {
    return brokerPort;
  }

  public Path dataDir() {
    return dataDir;
  }

  @Override
  public void close() {
    stop();
    if (deleteOnClose) {
      deleteRecursively(dataDir);
    }
  }

  private Map<String, String> brokerConfig(Path logDir) {
    Map<String, String> c = new LinkedHashMap<>();
    c.put("process.roles", "broker,controller");
    c.put("node.id", "1");
    c.put("controller.quorum.voters", "1@" + HOST + ":" + controllerPort);
    c.put("controller.listener.names", "CONTROLLER");
    c.put("listeners", "PLAINTEXT://" + HOST + ":" + brokerPort + ",CONTROLLER://" + HOST + ":" + controllerPort);
    c.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + brokerPort);
    c.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    c.put("inter.broker.listener.name", "PLAINTEXT");
    c.put("log.dirs", logDir.toString());
    c.put("num.partitions", "1");
    c.put("auto.create.topics.enable", "false");
    // A single node: every internal topic has one replica, and few partitions so that the first
    // group join or transaction does not have to create 50 partitions on two cores.
    c.put("offsets.topic.replication.factor", "1");
    c.put("offsets.topic.num.partitions", "4");
    c.put("transaction.state.log.replication.factor", "1");
    c.put("transaction.state.log.min.isr", "1");
    c.put("transaction.state.log.num.partitions", "4");
    c.put("share.coordinator.state.topic.replication.factor", "1");
    c.put("share.coordinator.state.topic.min.isr", "1");
    c.put("group.initial.rebalance.delay.ms", "0");
    c.put("log.segment.bytes", String.valueOf(64 * 1024 * 1024));
    c.put("log.cleaner.dedupe.buffer.size", String.valueOf(8 * 1024 * 1024));
    c.put("controlled.shutdown.enable", "true");
    overrides.forEach((k, v) -> {
      if (!k.startsWith("probe.")) {
        c.put(k, v);
      }
    });
    return c;
  }

  private void format(Path logDir) throws Exception {
    Formatter f = new Formatter()
        .setClusterId(Uuid.randomUuid().toString())
        .setNodeId(1)
        .addDirectory(logDir.toString())
        .setMetadataLogDirectory(logDir.toString())
        .setControllerListenerName("CONTROLLER")
        .setSupportedFeatures(Feature.PRODUCTION_FEATURES)
        .setReleaseVersion(MetadataVersion.latestProduction())
        .setPrintStream(new PrintStream(OutputStream.nullOutputStream()));
    f.run();
  }

  private void awaitReady(Duration timeout) {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    cfg.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
    cfg.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000);
    cfg.putAll(adminOverrides());
    long deadline = System.nanoTime() + timeout.toNanos();
    Exception last = null;
    try (Admin admin = Admin.create(cfg)) {
      while (System.nanoTime() < deadline) {
        try {
          if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
            return;
          }
        } catch (Exception e) {
          last = e;
        }
      }
    }
    throw new IllegalStateException("embedded Kafka did not become ready within " + timeout, last);
  }

  /** Client settings for the admin probe when the client listener needs authentication. */
  private Map<String, String> adminOverrides() {
    Map<String, String> m = new HashMap<>();
    overrides.forEach((k, v) -> {
      if (k.startsWith("probe.")) {
        m.put(k.substring("probe.".length()), v);
      }
    });
    return m;
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(HOST, 0));
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free local port", e);
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException ignored) {
          // best effort: a temp directory left behind is harmless
        }
      });
    } catch (IOException ignored) {
      // best effort
    }
  }

  /** Builder: ports 0 mean "pick a free one"; no data directory means a temporary one. */
  public static final class Builder {
    private Path dataDir;
    private int brokerPort;
    private int controllerPort;
    private final Map<String, String> overrides = new HashMap<>();

    public Builder dataDir(Path dir) {
      this.dataDir = dir;
      return this;
    }

    public Builder brokerPort(int port) {
      this.brokerPort = port;
      return this;
    }

    public Builder controllerPort(int port) {
      this.controllerPort = port;
      return this;
    }

    /**
     * Overrides one broker setting. Keys starting with {@code probe.} are not broker settings: they
     * go to the admin client that waits for readiness (e.g. SASL credentials).
     */
    public Builder brokerProperty(String key, String value) {
      overrides.put(key, value);
      return this;
    }

    public EmbeddedKafka build() {
      return new EmbeddedKafka(this);
    }
  }
}
