package io.lorastream.metrics;

/**
 * The answer of one health check registered on a {@link MetricsServer}: ready or not, alive or
 * not, with an optional one-line detail that operators see in {@code /health} (say why a check is
 * down; never put secrets here, the endpoint is unauthenticated). Readiness says whether the
 * service does its job now; liveness whether it can still get there by itself. A trainer that
 * waits for its registry is alive but not ready: a liveness probe must not restart it.
 */
public record Health(boolean healthy, boolean alive, String detail) {

  public static Health up() {
    return new Health(true, true, null);
  }

  public static Health up(String detail) {
    return new Health(true, true, detail);
  }

  /** Not ready, but alive: it recovers by itself (restoring, waiting for Kafka or the registry). */
  public static Health down(String detail) {
    return new Health(false, true, detail);
  }

  /** Neither ready nor alive: it stopped or failed, and only a restart helps. */
  public static Health dead(String detail) {
    return new Health(false, false, detail);
  }

  public static Health of(boolean healthy) {
    return new Health(healthy, true, null);
  }

  /** {@code UP} or {@code DOWN} (readiness), as written in the JSON. */
  public String status() {
    return healthy ? "UP" : "DOWN";
  }

  /** {@code UP} or {@code DOWN} for liveness. */
  public String liveStatus() {
    return alive ? "UP" : "DOWN";
  }
}
