package io.lorastream.metrics;

/**
 * The answer of one health check registered on a {@link MetricsServer}: healthy or not, with an
 * optional one-line detail that operators see in {@code /health} (say why a check is down; never put
 * secrets here, the endpoint is unauthenticated).
 */
public record Health(boolean healthy, String detail) {

  public static Health up() {
    return new Health(true, null);
  }

  public static Health up(String detail) {
    return new Health(true, detail);
  }

  public static Health down(String detail) {
    return new Health(false, detail);
  }

  public static Health of(boolean healthy) {
    return new Health(healthy, null);
  }

  /** {@code UP} or {@code DOWN}, as written in the JSON. */
  public String status() {
    return healthy ? "UP" : "DOWN";
  }
}
