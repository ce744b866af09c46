package io.lorastream.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real HTTP requests against a {@link MetricsServer} on a free loopback port. */
class MetricsServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private MetricsServer server;

  @BeforeEach
  void start() {
    server = MetricsServer.builder().host("127.0.0.1").port(0).commonTags("service", "unit-test")
        .checkTimeout(Duration.ofMillis(500)).build().start();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void metricsRenderRegisteredMetersAndJvmMetricsInPrometheusText() throws Exception {
    Counter c = server.registry().counter("lorastream.test.events", "kind", "valid");
    c.increment(3);
    Timer t = server.registry().timer("lorastream.test.latency");
    t.record(Duration.ofMillis(20));

    HttpResponse<String> r = get("/metrics", null);

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain; version=0.0.4"));
    assertThat(r.body())
        .containsPattern(Pattern.compile("^lorastream_test_events_total\\{kind=\"valid\",service=\"unit-test\"} 3\\.0$", Pattern.MULTILINE))
        .containsPattern(Pattern.compile("^lorastream_test_latency_seconds_count\\{service=\"unit-test\"} 1$", Pattern.MULTILINE))
        .contains("# TYPE lorastream_test_events_total counter")
        .contains("jvm_memory_used_bytes{")
        .contains("jvm_threads_live_threads{")
        .contains("jvm_gc_memory_allocated_bytes_total{")
        .contains("process_uptime_seconds{");

    c.increment();
    assertThat(get("/metrics", null).body())
        .containsPattern(Pattern.compile("^lorastream_test_events_total\\{kind=\"valid\",service=\"unit-test\"} 4\\.0$", Pattern.MULTILINE));
  }

  @Test
  void metricsSpeakOpenMetricsWhenAskedFor() throws Exception {
    server.registry().counter("lorastream.test.events").increment();

    HttpResponse<String> r = get("/metrics", "application/openmetrics-text; version=1.0.0,text/plain;q=0.5");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/openmetrics-text"));
    assertThat(r.body()).contains("lorastream_test_events_total{service=\"unit-test\"} 1.0").endsWith("# EOF\n");
  }

  @Test
  void healthIsUpWhenEveryCheckPasses() throws Exception {
    assertThat(health().get("status").asText()).isEqualTo("UP"); // no checks yet

    AtomicBoolean broker = new AtomicBoolean(true);
    server.addHealthCheck("kafka", broker::get);
    server.addHealthCheck("model", () -> Health.up("version 7"));

    HttpResponse<String> r = get("/health", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode body = JSON.readTree(r.body());
    assertThat(body.get("status").asText()).isEqualTo("UP");
    assertThat(body.at("/checks/kafka/status").asText()).isEqualTo("UP");
    assertThat(body.at("/checks/model/status").asText()).isEqualTo("UP");
    assertThat(body.at("/checks/model/detail").asText()).isEqualTo("version 7");

    broker.set(false);
    assertThat(get("/health", null).statusCode()).isEqualTo(503);
    broker.set(true);
    assertThat(get("/health", null).statusCode()).isEqualTo(200);
  }

  @Test
  void healthIs503AndNamesTheFailingCheck() throws Exception {
    server.addHealthCheck("kafka", () -> true);
    server.addHealthCheck("adapter", () -> Health.down("no snapshot received yet"));

    HttpResponse<String> r = get("/health", null);

    assertThat(r.statusCode()).isEqualTo(503);
    JsonNode body = JSON.readTree(r.body());
    assertThat(body.get("status").asText()).isEqualTo("DOWN");
    assertThat(body.at("/checks/kafka/status").asText()).isEqualTo("UP");
    assertThat(body.at("/checks/adapter/status").asText()).isEqualTo("DOWN");
    assertThat(body.at("/checks/adapter/detail").asText()).isEqualTo("no snapshot received yet");
  }

  @Test
  void livenessIgnoresChecksThatRecoverByThemselvesAndReadinessDoesNot() throws Exception {
    AtomicReference<Health> trainer = new AtomicReference<>(Health.down("waiting for the schema registry"));
    server.addHealthCheck("trainer", trainer::get);

    assertThat(get("/health/ready", null).statusCode()).isEqualTo(503);
    assertThat(get("/health", null).statusCode()).isEqualTo(503);
    HttpResponse<String> live = get("/health/live", null);
    assertThat(live.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(live.body()).at("/checks/trainer/status").asText()).isEqualTo("UP");
    assertThat(JSON.readTree(live.body()).at("/checks/trainer/detail").asText())
        .isEqualTo("waiting for the schema registry");

    trainer.set(Health.dead("trainer state STOPPED"));
    assertThat(get("/health/live", null).statusCode()).isEqualTo(503);
    assertThat(get("/health/ready", null).statusCode()).isEqualTo(503);

    trainer.set(Health.up());
    assertThat(get("/health/live", null).statusCode()).isEqualTo(200);
    assertThat(get("/health/ready", null).statusCode()).isEqualTo(200);
    assertThat(get("/health/other", null).statusCode()).isEqualTo(404);
  }

  @Test
  void aThrowingOrHangingCheckIsDownInsteadOfBreakingTheProbe() throws Exception {
    CountDownLatch never = new CountDownLatch(1);
    try {
      // A lambda that only throws fits both overloads; a typed variable picks one.
      Supplier<Health> throwing = () -> {
        throw new IllegalStateException("consumer closed");
      };
      server.addHealthCheck("throws", throwing);
      server.addHealthCheck("hangs", () -> {
        try {
          never.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return Health.up();
      });
      server.addHealthCheck("fine", () -> true);

      HttpResponse<String> r = get("/health", null);

      assertThat(r.statusCode()).isEqualTo(503);
      JsonNode body = JSON.readTree(r.body());
      assertThat(body.at("/checks/throws/status").asText()).isEqualTo("DOWN");
      assertThat(body.at("/checks/throws/detail").asText()).contains("IllegalStateException").contains("consumer closed");
      assertThat(body.at("/checks/hangs/status").asText()).isEqualTo("DOWN");
      assertThat(body.at("/checks/hangs/detail").asText()).contains("no answer within");
      assertThat(body.at("/checks/fine/status").asText()).isEqualTo("UP");

      server.removeHealthCheck("throws");
      server.removeHealthCheck("hangs");
      assertThat(get("/health", null).statusCode()).isEqualTo(200);
    } finally {
      never.countDown();
    }
  }

  @Test
  void unknownPathsAre404AndOtherMethods405() throws Exception {
    assertThat(get("/", null).statusCode()).isEqualTo(404);
    assertThat(get("/metricsx", null).statusCode()).isEqualTo(404);
    assertThat(get("/health/extra", null).statusCode()).isEqualTo(404);
    HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/metrics"))
        .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
  }

  @Test
  void closingStopsServing() throws Exception {
    String url = server.url();
    assertThat(get("/health", null).statusCode()).isEqualTo(200);
    server.close();
    HttpClient fresh = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> fresh.send(
            HttpRequest.newBuilder(URI.create(url + "/health")).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(java.io.IOException.class);
  }

  private JsonNode health() throws Exception {
    return JSON.readTree(get("/health", null).body());
  }

  private HttpResponse<String> get(String path, String accept) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(10)).GET();
    if (accept != null) {
      b.header("Accept", accept);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
