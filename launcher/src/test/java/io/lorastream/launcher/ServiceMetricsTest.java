package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.metrics.Health;
import io.lorastream.metrics.MetricsConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A service role's metrics endpoint: /metrics carries the service tag, /health runs the registered
 * checks, samplers tick once a second and one failing sampler does not stop the others.
 */
class ServiceMetricsTest {
  private final HttpClient http = HttpClient.newHttpClient();

  private HttpResponse<String> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void enabledServesMetricsWithServiceTagAndHealthAndRunsSamplers() throws Exception {
    try (ServiceMetrics m = ServiceMetrics.start(MetricsConfig.of(true, "127.0.0.1", 0), "trainer")) {
      AtomicInteger ticks = new AtomicInteger();
      m.everySecond(ticks::incrementAndGet);
      m.registry().counter("lorastream.test.things").increment(3);
      m.addHealthCheck("thing", () -> ticks.get() > 0 ? Health.up() : Health.down("no tick yet"));
      await().atMost(Duration.ofSeconds(10)).until(() -> ticks.get() > 0);

      HttpResponse<String> metrics = get(m.url().orElseThrow() + "/metrics");
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.body()).contains("lorastream_test_things_total{service=\"trainer\"} 3.0");
      HttpResponse<String> health = get(m.url().orElseThrow() + "/health");
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(health.body()).contains("\"thing\":{\"status\":\"UP\"}");
    }
  }

  @Test
  void aFailingSamplerDoesNotStopTheOthers() {
    try (ServiceMetrics m = ServiceMetrics.start(MetricsConfig.of(false, "127.0.0.1", 0), "stream-app")) {
      AtomicInteger ticks = new AtomicInteger();
      m.everySecond(() -> {
        throw new IllegalStateException("service stopping");
      });
      m.everySecond(ticks::incrementAndGet);
      await().atMost(Duration.ofSeconds(10)).until(() -> ticks.get() >= 2);
      assertThat(m.url()).isEmpty();
      assertThat(m.describe()).contains("disabled");
    }
  }
}
