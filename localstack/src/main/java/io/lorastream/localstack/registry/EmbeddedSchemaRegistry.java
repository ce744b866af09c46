package io.lorastream.localstack.registry;

import com.sun.net.httpserver.HttpServer;
import io.lorastream.registry.CompatibilityLevel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-process HTTP server speaking the Confluent Schema Registry REST API with Confluent's
 * semantics (global ids, idempotent registration, versions per subject, the seven compatibility
 * levels checked with Avro's {@code SchemaCompatibility}, Confluent error codes). State lives in a
 * pluggable {@link SchemaStore}: {@link InMemorySchemaStore} for unit tests, {@link KafkaSchemaStore}
 * on the compacted {@code _schemas} topic for {@code lorastream local}/{@code demo} and the
 * integration tests, where a new registry over the same topic serves the same ids.
 *
 * <p>Status codes: 404 with 40401/40402/40403 for a missing subject/version/schema, 409 (code 409)
 * for an incompatible schema, 422/42201 for invalid schema text or a missing "schema" field,
 * 422/42202 for an invalid version, 422/42203 for an invalid compatibility level, 400 (code 400) for
 * a body that is not JSON (as Confluent's JSON parse error mapper does), 422 (code 422) for JSON that
 * is not an object, 404/405 for unknown paths or methods, and 500/50001 for store or internal
 * errors.
 *
 * <p>Usage: {@code try (var r = EmbeddedSchemaRegistry.builder().kafkaStore(bootstrap).build().start())
 * { r.url(); }}.
 */
public final class EmbeddedSchemaRegistry implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedSchemaRegistry.class);

  private final String host;
  private final int requestedPort;
  private final SchemaStore store;
  private final CompatibilityLevel defaultLevel;
  private HttpServer server;
  private ExecutorService executor;
  private int port;

  private EmbeddedSchemaRegistry(Builder b) {
    this.host = b.host;
    this.requestedPort = b.port;
    this.store = b.store != null ? b.store : new InMemorySchemaStore();
    this.defaultLevel = b.defaultLevel;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A started registry on a free port that keeps its state in memory. */
  public static EmbeddedSchemaRegistry inMemory() {
    return builder().build().start();
  }

  /** A started registry on {@code port} (0 = free) persisting to {@code _schemas} on the given cluster. */
  public static EmbeddedSchemaRegistry kafkaBacked(String bootstrapServers, int port) {
    return kafkaBacked(bootstrapServers, port, Map.of());
  }

  /**
   * As {@link #kafkaBacked(String, int)}, with extra Kafka client settings for the store's clients
   * (e.g. {@code security.protocol}, {@code sasl.*} from the {@code kafka.*} pass-through).
   */
  public static EmbeddedSchemaRegistry kafkaBacked(String bootstrapServers, int port, Map<String, ?> kafkaClientProperties) {
    return builder().port(port).kafkaStore(bootstrapServers, kafkaClientProperties).build().start();
  }

  /**
   * Replays the store and starts serving; returns once the port accepts requests. After
   * {@link #close()} it may be started again: it replays the store anew and keeps its port.
   */
  public synchronized EmbeddedSchemaRegistry start() {
    if (server != null) {
      return this;
    }
    RegistryState state = new RegistryState(store, defaultLevel);
    HttpServer s;
    int bindPort = port > 0 ? port : requestedPort;
    try {
      s = HttpServer.create(new InetSocketAddress(host, bindPort), 64);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind the schema registry to " + host + ":" + bindPort
          + " (port in use? choose another with --registry-port or 0 for a free one)", e);
    }
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor ex = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
      Thread t = new Thread(r, "schema-registry-http-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    ex.allowCoreThreadTimeOut(true);
    s.setExecutor(ex);
    s.createContext("/", new RegistryHttpHandler(state));
    s.start();
    server = s;
    executor = ex;
    port = s.getAddress().getPort();
    log.debug("embedded schema registry serving {}", url());
    return this;
  }

  /** Base URL, e.g. {@code http://127.0.0.1:8081}. */
  public String url() {
    String h = host.equals("0.0.0.0") ? "127.0.0.1" : host;
    return "http://" + h + ":" + port();
  }

  /** The bound port (the chosen one when 0 was requested). */
  public synchronized int port() {
    if (server == null && port == 0) {
      throw new IllegalStateException("the schema registry is not started");
    }
    return port;
  }

  public synchronized boolean isRunning() {
    return server != null;
  }

  /** Stops serving and closes the store; a new instance over the same store can take over. */
  @Override
  public synchronized void close() {
    if (server == null) {
      return;
    }
    server.stop(0);
    executor.shutdownNow();
    server = null;
    store.close();
    log.debug("embedded schema registry on port {} stopped", port);
  }

  /** Builder: port 0 means a free port; without a store the registry keeps state in memory. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port;
    private SchemaStore store;
    private CompatibilityLevel defaultLevel = CompatibilityLevel.BACKWARD;

    public Builder host(String host) {
      this.host = Objects.requireNonNull(host);
      return this;
    }

    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("registry port must be 0 (free) or 1-65535, got " + port);
      }
      this.port = port;
      return this;
    }

    public Builder store(SchemaStore store) {
      this.store = store;
      return this;
    }

    /** Persists to the compacted {@code _schemas} topic of the cluster at {@code bootstrapServers}. */
    public Builder kafkaStore(String bootstrapServers) {
      return kafkaStore(bootstrapServers, Map.of());
    }

    /**
     * As {@link #kafkaStore(String)}, with extra client settings (security, timeouts) for the
     * store's admin, consumer and producer; {@code bootstrapServers} wins over any in the map.
     */
    public Builder kafkaStore(String bootstrapServers, Map<String, ?> kafkaClientProperties) {
      this.store = KafkaSchemaStore.local(bootstrapServers, kafkaClientProperties);
      return this;
    }

    /** The global level used until someone PUTs /config; Confluent's default is BACKWARD. */
    public Builder defaultCompatibility(CompatibilityLevel level) {
      this.defaultLevel = Objects.requireNonNull(level);
      return this;
    }

    public EmbeddedSchemaRegistry build() {
      return new EmbeddedSchemaRegistry(this);
    }
  }
}
