package io.lorastream.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operational HTTP endpoint every lorastream service exposes: {@code GET /metrics} renders the
 * service's Micrometer {@link #registry()} in the Prometheus text format (OpenMetrics when the
 * scraper asks for it), {@code GET /health} answers 200 {@code {"status":"UP","checks":{..}}} when
 * every registered check passes and 503 {@code {"status":"DOWN",..}} naming the failing checks
 * otherwise; {@code /health/ready} answers the same, and {@code /health/live} is DOWN only for
 * checks that are not {@link Health#alive() alive}, so a service that restores or waits for Kafka
 * is not restarted by a liveness probe. JVM metrics (memory, GC, threads, class loading, CPU, uptime) are bound at start.
 * Checks run in parallel on a small pool with a deadline, so a hung check turns into DOWN instead
 * of a hung probe; a check that throws is DOWN with the exception as detail. Any other path is 404.
 *
 * <p>Usage: {@code try (MetricsServer m = MetricsServer.builder().port(0).build().start()) {
 * m.registry().counter("x").increment(); m.addHealthCheck("kafka", () -> true); m.url(); }}
 */
public final class MetricsServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MetricsServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Liveness: DOWN only for checks that cannot recover by themselves (a Kubernetes liveness probe). */
  public static final String LIVE = "/health/live";
  /** Readiness: the same answer as {@code /health} (a Kubernetes readiness probe). */
  public static final String READY = "/health/ready";

  /** Prometheus text exposition format, the default answer of {@code /metrics}. */
  public static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  /** OpenMetrics text, served when the scraper's Accept header asks for it. */
  public static final String OPENMETRICS_TEXT = "application/openmetrics-text; version=1.0.0; charset=utf-8";

  private final String host;
  private final int requestedPort;
  private final PrometheusMeterRegistry registry;
  private final boolean ownsRegistry;
  private final boolean jvmMetrics;
  private final Duration checkTimeout;
  private final Map<String, Supplier<Health>> checks = new ConcurrentHashMap<>();
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private HttpServer server;
  private ExecutorService httpPool;
  private ExecutorService checkPool;
  private int port = -1;
  private boolean closed;

  private MetricsServer(Builder b) {
    this.host = b.host;
    this.requestedPort = b.port;
    this.ownsRegistry = b.registry == null;
    this.registry = b.registry != null ? b.registry : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    if (!b.commonTags.isEmpty()) {
      // Before any meter exists: common tags only apply to meters registered afterwards.
      registry.config().commonTags(b.commonTags.toArray(String[]::new));
    }
    this.jvmMetrics = b.jvmMetrics;
    this.checkTimeout = b.checkTimeout;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Starts a server as configured, or returns empty when {@link MetricsConfig#enabled()} is false.
   * A port that cannot be bound is a {@link io.lorastream.config.ConfigException} naming
   * {@value MetricsConfig#PORT}. Services that run without the endpoint can still record meters
   * in a {@code SimpleMeterRegistry}:
   * {@code startIfEnabled(cfg).map(MetricsServer::registry).orElseGet(SimpleMeterRegistry::new)}.
   */
  public static Optional<MetricsServer> startIfEnabled(MetricsConfig config, String... commonTags) {
    if (!config.enabled()) {
      return Optional.empty();
    }
    MetricsServer s = builder().host(config.host()).port(config.port()).commonTags(commonTags).build();
    try {
      return Optional.of(s.start());
    } catch (UncheckedIOException e) {
      s.close();
      throw config.cannotBind(e.getCause() != null ? e.getCause() : e);
    }
  }

  /** Binds the port, binds the JVM metrics and starts serving. */
  public synchronized MetricsServer start() {
    if (closed) {
      throw new IllegalStateException("this metrics server was closed; build a new one");
    }
    if (server != null) {
      return this;
    }
    HttpServer s;
    try {
      s = HttpServer.create(new InetSocketAddress(host, requestedPort), 16);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind the metrics endpoint to " + host + ":" + requestedPort
          + " (port in use? choose another with " + MetricsConfig.PORT + ", or 0 for a free one)", e);
    }
    if (jvmMetrics) {
      bindJvmMetrics();
    }
    httpPool = Executors.newFixedThreadPool(2, daemon("metrics-http-"));
    // Several threads so that one slow check does not delay the others; bounded so that checks
    // which never return cannot pile up threads (later ones queue and time out as DOWN).
    checkPool = Executors.newFixedThreadPool(4, daemon("health-check-"));
    s.setExecutor(httpPool);
    s.createContext("/", this::handle);
    s.start();
    server = s;
    port = s.getAddress().getPort();
    log.info("metrics endpoint serving {}/metrics and {}/health", url(), url());
    return this;
  }

  /** The bound port (the chosen one when 0 was requested). */
  public synchronized int port() {
    if (server == null) {
      throw new IllegalStateException("the metrics server is not started");
    }
    return port;
  }

  /** Base URL, e.g. {@code http://127.0.0.1:9400}; a wildcard bind is reached through loopback. */
  public String url() {
    String h = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
    if (h.contains(":")) {
      h = "[" + h + "]";
    }
    return "http://" + h + ":" + port();
  }

  /** Where services register their counters, gauges and timers. */
  public MeterRegistry registry() {
    return registry;
  }

  /** The same registry with its Prometheus specifics (e.g. to scrape without HTTP). */
  public PrometheusMeterRegistry prometheusRegistry() {
    return registry;
  }

  /**
   * Registers (or replaces) a named check for {@code /health}. A null answer or an exception counts
   * as DOWN; so does no answer within the check timeout.
   */
  public MetricsServer addHealthCheck(String name, Supplier<Health> check) {
    Objects.requireNonNull(check, "check");
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("a health check needs a name");
    }
    checks.put(name, check);
    return this;
  }

  /**
   * As {@link #addHealthCheck(String, Supplier)} for a plain yes/no check, e.g. {@code kafka::isRunning}.
   * (A lambda whose body only throws fits both overloads: give it a typed variable.)
   */
  public MetricsServer addHealthCheck(String name, BooleanSupplier check) {
    Objects.requireNonNull(check, "check");
    return addHealthCheck(name, () -> Health.of(check.getAsBoolean()));
  }

  public MetricsServer removeHealthCheck(String name) {
    checks.remove(name);
    return this;
  }

  /**
   * Runs every check now (in parallel, within the check timeout) and returns the results by name;
   * this is what {@code /health} renders.
   */
  public Map<String, Health> checkHealth() {
    ExecutorService pool;
    synchronized (this) {
      pool = checkPool;
    }
    if (pool == null) {
      throw new IllegalStateException("the metrics server is not started");
    }
    Map<String, Future<Health>> running = new LinkedHashMap<>();
    new TreeMap<>(checks).forEach((name, check) -> running.put(name, pool.submit(check::get)));
    long deadline = System.nanoTime() + checkTimeout.toNanos();
    Map<String, Health> out = new TreeMap<>();
    running.forEach((name, f) -> out.put(name, await(f, deadline)));
    return out;
  }

  private Health await(Future<Health> f, long deadline) {
    try {
      Health h = f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      return h != null ? h : Health.down("check returned no answer");
    } catch (TimeoutException e) {
      f.cancel(true);
      return Health.down("no answer within " + checkTimeout.toMillis() + " ms");
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      return Health.down(c.getClass().getSimpleName() + (c.getMessage() != null ? ": " + c.getMessage() : ""));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      f.cancel(true);
      return Health.down("interrupted while checking");
    }
  }

  /** Stops serving, unbinds the JVM metrics and closes the registry if this server created it. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (server != null) {
      server.stop(0);
      httpPool.shutdownNow();
      checkPool.shutdownNow();
      server = null;
      log.info("metrics endpoint on port {} stopped", port);
    }
    for (AutoCloseable c : closeables) {
      try {
        c.close();
      } catch (Exception e) {
        log.debug("closing a JVM metrics binder failed: {}", e.toString());
      }
    }
    if (ownsRegistry) {
      registry.close();
    }
  }

  private void bindJvmMetrics() {
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    closeables.add(gc); // it listens for GC notifications until closed
    new JvmThreadMetrics().bindTo(registry);
    new JvmInfoMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
  }

  private void handle(HttpExchange ex) throws IOException {
    try {
      String path = ex.getRequestURI().getPath();
      if (!path.equals("/metrics") && !path.equals("/health") && !path.equals(LIVE) && !path.equals(READY)) {
        send(ex, 404, "text/plain; charset=utf-8", ("no such endpoint: " + path
            + " (try /metrics, /health, /health/live or /health/ready)\n").getBytes(StandardCharsets.UTF_8));
        return;
      }
      String method = ex.getRequestMethod();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        ex.getResponseHeaders().set("Allow", "GET, HEAD");
        send(ex, 405, "text/plain; charset=utf-8", (method + " not allowed on " + path + "\n").getBytes(StandardCharsets.UTF_8));
        return;
      }
      if (path.equals("/metrics")) {
        String accept = ex.getRequestHeaders().getFirst("Accept");
        String type = accept != null && accept.contains("application/openmetrics-text") ? OPENMETRICS_TEXT : PROMETHEUS_TEXT;
        ByteArrayOutputStream body = new ByteArrayOutputStream(16 * 1024);
        registry.scrape(body, type);
        send(ex, 200, type, body.toByteArray());
      } else {
        Map<String, Health> results = checkHealth();
        boolean live = path.equals(LIVE);
        boolean up = results.values().stream().allMatch(live ? Health::alive : Health::healthy);
        ObjectNode root = JSON.createObjectNode();
        root.put("status", up ? "UP" : "DOWN");
        ObjectNode cs = root.putObject("checks");
        results.forEach((name, h) -> {
          ObjectNode n = cs.putObject(name);
          n.put("status", live ? h.liveStatus() : h.status());
          if (h.detail() != null) {
            n.put("detail", h.detail());
          }
        });
        send(ex, up ? 200 : 503, "application/json", JSON.writeValueAsBytes(root));
      }
    } catch (RuntimeException | IOException e) {
      log.warn("metrics endpoint failed to answer {} {}: {}", ex.getRequestMethod(), ex.getRequestURI().getPath(), e.toString());
      try {
        send(ex, 500, "text/plain; charset=utf-8", "internal error\n".getBytes(StandardCharsets.UTF_8));
      } catch (IOException | RuntimeException ignored) {
        // the response may already be under way; the client sees a broken connection instead
      }
    } finally {
      ex.close();
    }
  }

  private static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", contentType);
    ex.getResponseHeaders().set("Cache-Control", "no-store");
    if (ex.getRequestMethod().equals("HEAD")) {
      ex.sendResponseHeaders(status, -1);
      return;
    }
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(body);
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** Builder: port 0 means a free port; without a registry the server creates (and owns) one. */
  public static final class Builder {
    private String host = MetricsConfig.DEFAULT_HOST;
    private int port = MetricsConfig.DEFAULT_PORT;
    private PrometheusMeterRegistry registry;
    private final List<String> commonTags = new ArrayList<>();
    private boolean jvmMetrics = true;
    private Duration checkTimeout = Duration.ofSeconds(5);

    /** Interface to bind; default {@code 0.0.0.0} (all), {@code 127.0.0.1} keeps it local. */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("metrics port must be 0 (free) or 1-65535, got " + port);
      }
      this.port = port;
      return this;
    }

    /** Serves an existing registry (not closed by the server) instead of a new one. */
    public Builder registry(PrometheusMeterRegistry registry) {
      this.registry = Objects.requireNonNull(registry, "registry");
      return this;
    }

    /** Tags on every meter, as key/value pairs, e.g. {@code "service", "trainer"}. */
    public Builder commonTags(String... keyValues) {
      if (keyValues.length % 2 != 0) {
        throw new IllegalArgumentException("common tags come in key/value pairs, got " + keyValues.length + " strings");
      }
      commonTags.addAll(List.of(keyValues));
      return this;
    }

    /** Whether to bind the JVM metrics (default true). */
    public Builder jvmMetrics(boolean enabled) {
      this.jvmMetrics = enabled;
      return this;
    }

    /** How long {@code /health} waits for all checks together (default 5 s). */
    public Builder checkTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("check timeout must be positive, got " + timeout);
      }
      this.checkTimeout = timeout;
      return this;
    }

    public MetricsServer build() {
      return new MetricsServer(this);
    }
  }
}
