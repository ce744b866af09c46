package io.lorastream.metrics;

import io.lorastream.config.ConfigException;
import io.lorastream.config.LayeredConfig;
import java.util.Map;

/**
 * Where a service serves {@code /metrics} and {@code /health}: {@value #ENABLED} (default false, so
 * that several services in one JVM or test do not fight over a port), {@value #PORT} (default
 * {@value #DEFAULT_PORT}; 0 picks a free port) and {@value #HOST} (default {@code 0.0.0.0}, so that
 * Prometheus and container health checks can reach it). Unset keys take their defaults; present but
 * invalid values fail at startup with a message naming the key.
 */
public final class MetricsConfig {
  public static final String ENABLED = "metrics.enabled";
  public static final String PORT = "metrics.port";
  public static final String HOST = "metrics.host";
  public static final int DEFAULT_PORT = 9400;
  public static final String DEFAULT_HOST = "0.0.0.0";

  /** Defaults to merge into a service's {@link LayeredConfig} defaults layer. */
  public static final Map<String, String> DEFAULTS = Map.of(
      ENABLED, "false",
      PORT, String.valueOf(DEFAULT_PORT),
      HOST, DEFAULT_HOST);

  private final boolean enabled;
  private final String host;
  private final int port;
  private final String portSource;

  public MetricsConfig(LayeredConfig c) {
    this.enabled = c.has(ENABLED) ? c.getBoolean(ENABLED) : false;
    this.port = c.has(PORT) ? c.getInt(PORT, 0, 65535) : DEFAULT_PORT;
    String h = c.get(HOST, DEFAULT_HOST);
    if (h.chars().anyMatch(ch -> Character.isWhitespace(ch) || ch == '/')) {
      throw c.invalid(HOST, h, "must be a host name or IP address to bind, e.g. 0.0.0.0 or 127.0.0.1");
    }
    this.host = h;
    this.portSource = c.sourceOf(PORT);
  }

  private MetricsConfig(boolean enabled, String host, int port) {
    this.enabled = enabled;
    this.host = host;
    this.port = port;
    this.portSource = "code";
  }

  /** A config built in code (tests, the demo), validated like the layered one. */
  public static MetricsConfig of(boolean enabled, String host, int port) {
    if (port < 0 || port > 65535) {
      throw new ConfigException(PORT, "Invalid setting '" + PORT + "' = " + port
          + ": must be between 0 and 65535. Fix: " + LayeredConfig.howToSet(PORT) + ".");
    }
    if (host == null || host.isBlank()) {
      throw new ConfigException(HOST, "Missing setting '" + HOST + "'. Fix: " + LayeredConfig.howToSet(HOST) + ".");
    }
    return new MetricsConfig(enabled, host, port);
  }

  public boolean enabled() {
    return enabled;
  }

  public String host() {
    return host;
  }

  /** The port to bind; 0 means a free one (see {@link MetricsServer#port()} for the bound one). */
  public int port() {
    return port;
  }

  /** The startup error when the port cannot be bound, naming the key and where its value came from. */
  ConfigException cannotBind(Exception cause) {
    return new ConfigException(PORT, "Cannot serve metrics on " + host + ":" + port + " (" + PORT + " from "
        + portSource + "): " + cause.getMessage() + ". Fix: free the port, or set " + PORT
        + " to another port (0 picks a free one), or set " + ENABLED + "=false.");
  }

  @Override
  public String toString() {
    return "MetricsConfig{enabled=" + enabled + ", host=" + host + ", port=" + port + "}";
  }
}
