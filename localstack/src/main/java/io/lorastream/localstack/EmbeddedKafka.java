package io.lorastream.localstack;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.SaslConfigs;
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
 *
 * <p>With {@link Builder#saslPlain(Map)} the client listener speaks SASL_PLAINTEXT with mechanism
 * PLAIN, so tests can prove that services authenticate through their {@code kafka.*} settings. The
 * broker itself talks to its own client listener (transaction markers, readiness probe) as
 * {@value #SASL_ADMIN_USER}; the controller listener stays PLAINTEXT because only the broker uses it.
 * Passwords are kept in memory only and never logged.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafka.class);
  private static final String HOST = "127.0.0.1";
  /** The user the broker authenticates as on its own SASL listener (inter-broker traffic). */
  public static final String SASL_ADMIN_USER = "admin";
  private static final String PLAIN_LOGIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule";
  private static final Pattern SASL_USER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

  private final Path dataDir;
  private final boolean deleteOnClose;
  private final Map<String, String> overrides;
  /** Username to password, including {@value #SASL_ADMIN_USER}; empty when SASL is off. */
  private final Map<String, String> saslUsers;
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
    this.saslUsers = b.saslUsers == null ? Map.of() : withAdmin(b.saslUsers);
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
    log.info("embedded Kafka ready at {} ({}; data {})", bootstrapServers(), saslEnabled()
        ? "SASL_PLAINTEXT/PLAIN, users " + new TreeMap<>(saslUsers).keySet() : "PLAINTEXT", dataDir);
    return this;
  }

  /** Stops the broker and waits for it; the data directory is kept for a later {@link #start()}. */
  public synchronized void stop() {
    if (stopServer()) {
      log.info("embedded Kafka stopped (data kept in {} for a restart)", dataDir);
    }
  }

  private synchronized boolean stopServer() {
    if (server == null) {
      return false;
    }
    server.shutdown();
    server.awaitShutdown();
    server = null;
    return true;
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

  /** True when the client listener requires SASL/PLAIN authentication. */
  public boolean saslEnabled() {
    return !saslUsers.isEmpty();
  }

  /**
   * Settings for a client with full rights on this broker: {@code bootstrap.servers} and, when SASL
   * is on, the {@value #SASL_ADMIN_USER} credentials. Used for topic creation and the schema store.
   */
  public Map<String, String> clientProperties() {
    Map<String, String> m = new HashMap<>();
    if (saslEnabled()) {
      m.putAll(saslClientProperties(SASL_ADMIN_USER, saslUsers.get(SASL_ADMIN_USER)));
    }
    m.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    return Map.copyOf(m);
  }

  /** {@code bootstrap.servers} plus the SASL/PLAIN settings of {@code user}. */
  public Map<String, String> clientProperties(String user, String password) {
    Map<String, String> m = new HashMap<>(saslClientProperties(user, password));
    m.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    return Map.copyOf(m);
  }

  /**
   * The client settings that authenticate as {@code user} over SASL_PLAINTEXT/PLAIN:
   * {@code security.protocol}, {@code sasl.mechanism} and {@code sasl.jaas.config}. Works for any
   * Kafka client and as {@code kafka.*} pass-through. The JAAS value contains the password, so it
   * must only travel in settings that are redacted when printed.
   */
  public static Map<String, String> saslClientProperties(String user, String password) {
    checkUser(user);
    checkPassword(user, password);
    return Map.of(
        CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT",
        SaslConfigs.SASL_MECHANISM, "PLAIN",
        SaslConfigs.SASL_JAAS_CONFIG, PLAIN_LOGIN_MODULE + " required username=" + jaasQuote(user)
            + " password=" + jaasQuote(password) + ";");
  }

  @Override
  public void close() {
    boolean wasRunning = stopServer();
    String how = wasRunning ? "stopped" : "closed";
    if (deleteOnClose) {
      deleteRecursively(dataDir);
      log.info("embedded Kafka {}; its temporary data directory {} was deleted", how, dataDir);
    } else {
      log.info("embedded Kafka {}; data kept in {}", how, dataDir);
    }
  }

  private Map<String, String> brokerConfig(Path logDir) {
    Map<String, String> c = new LinkedHashMap<>();
    c.put("process.roles", "broker,controller");
    c.put("node.id", "1");
    c.put("controller.quorum.voters", "1@" + HOST + ":" + controllerPort);
    c.put("controller.listener.names", "CONTROLLER");
    // The client listener is named after its protocol so that the PLAINTEXT default reads as before.
    String client = saslEnabled() ? "CLIENT" : "PLAINTEXT";
    c.put("listeners", client + "://" + HOST + ":" + brokerPort + ",CONTROLLER://" + HOST + ":" + controllerPort);
    c.put("advertised.listeners", client + "://" + HOST + ":" + brokerPort);
    c.put("listener.security.protocol.map",
        (saslEnabled() ? "CLIENT:SASL_PLAINTEXT" : "PLAINTEXT:PLAINTEXT") + ",CONTROLLER:PLAINTEXT");
    c.put("inter.broker.listener.name", client);
    if (saslEnabled()) {
      c.put("sasl.enabled.mechanisms", "PLAIN");
      c.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
      c.put("listener.name.client.sasl.enabled.mechanisms", "PLAIN");
      c.put("listener.name.client.plain.sasl.jaas.config", brokerJaas());
    }
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
    Map<String, Object> cfg = new HashMap<>(clientProperties());
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

  /**
   * Extra settings for the readiness probe ({@code probe.*} overrides), on top of
   * {@link #clientProperties()}, which already carry the admin credentials when SASL is on.
   */
  private Map<String, String> adminOverrides() {
    Map<String, String> m = new HashMap<>();
    overrides.forEach((k, v) -> {
      if (k.startsWith("probe.")) {
        m.put(k.substring("probe.".length()), v);
      }
    });
    return m;
  }

  /**
   * The listener's JAAS entry: {@code username}/{@code password} are what the broker sends when it
   * connects to itself; each {@code user_<name>} is an account clients may log in with.
   */
  private String brokerJaas() {
    StringBuilder sb = new StringBuilder(PLAIN_LOGIN_MODULE).append(" required username=")
        .append(jaasQuote(SASL_ADMIN_USER)).append(" password=").append(jaasQuote(saslUsers.get(SASL_ADMIN_USER)));
    new TreeMap<>(saslUsers).forEach((u, p) -> sb.append(" user_").append(u).append('=').append(jaasQuote(p)));
    return sb.append(';').toString();
  }

  /** Kafka parses JAAS values with a StreamTokenizer: inside quotes, backslash escapes. */
  private static String jaasQuote(String v) {
    return '"' + v.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }

  private static Map<String, String> withAdmin(Map<String, String> users) {
    Map<String, String> m = new HashMap<>();
    users.forEach((u, p) -> {
      checkUser(u);
      checkPassword(u, p);
      m.put(u, p);
    });
    // Nobody needs to know the admin password unless they chose it: generate one.
    m.computeIfAbsent(SASL_ADMIN_USER, u -> randomPassword());
    return Map.copyOf(m);
  }

  private static void checkUser(String user) {
    if (user == null || !SASL_USER_NAME.matcher(user).matches()) {
      throw new IllegalArgumentException("SASL username " + (user == null ? "null" : "'" + user + "'")
          + " is not allowed: use letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
  }

  private static void checkPassword(String user, String password) {
    if (password == null || password.isEmpty()) {
      throw new IllegalArgumentException("SASL password of user '" + user + "' must not be empty");
    }
  }

  private static String randomPassword() {
    byte[] b = new byte[24];
    new SecureRandom().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
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
    private Map<String, String> saslUsers;

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

    /**
     * Makes the client listener SASL_PLAINTEXT with mechanism PLAIN and these accounts (username to
     * password). The broker adds {@value EmbeddedKafka#SASL_ADMIN_USER} for its own connections, with
     * a random password unless {@code users} names it. Clients then need
     * {@link EmbeddedKafka#saslClientProperties(String, String)}; unauthenticated ones are refused.
     */
    public Builder saslPlain(Map<String, String> users) {
      Objects.requireNonNull(users, "users");
      if (users.isEmpty()) {
        throw new IllegalArgumentException("saslPlain needs at least one user (username -> password)");
      }
      users.forEach((u, p) -> {
        checkUser(u);
        checkPassword(u, p);
      });
      this.saslUsers = Map.copyOf(users);
      return this;
    }

    public EmbeddedKafka build() {
      return new EmbeddedKafka(this);
    }
  }
}
