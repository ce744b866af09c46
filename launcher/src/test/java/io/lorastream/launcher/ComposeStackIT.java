package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.ComposeContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The repository's docker-compose.yml itself, run (not only parsed, as ComposeGuardTest does):
 * built from what {@code mvn package} left in launcher/target, every long-running service becomes
 * healthy, each lorastream service answers /health, Prometheus scrapes all four of them with
 * target health "up" and loads the alert rules, and Grafana serves the provisioned dashboard.
 * Needs a Docker engine with compose, and the packaged launcher; skipped where there is no Docker.
 */
@Testcontainers(disabledWithoutDocker = true)
class ComposeStackIT {
  private static final List<String> SERVICES = List.of("stream-app", "trainer", "inference-1", "inference-2");
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private String get(String url) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(url + ": " + r.body()).isEqualTo(200);
    return r.body();
  }

  @Test
  void theComposeStackComesUpHealthyAndIsMonitored() throws Exception {
    Path compose = ComposeFile.locate();
    Path jar = compose.getParent().resolve("launcher/target/lorastream.jar");
    assertThat(Files.isRegularFile(jar)).as("run `mvn -B -DskipTests package` first: " + jar).isTrue();
    ComposeContainer stack = new ComposeContainer(new File(compose.toString())).withBuild(true)
        .withExposedService("prometheus", 9090, Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3)))
        .withExposedService("grafana", 3000, Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3)));
    for (String s : SERVICES) {
      stack = stack.withExposedService(s, 9400, Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(6)));
    }
    try (AutoCloseable ignored = stack::stop) {
      stack.start();
      for (String s : SERVICES) {
        String health = get("http://" + stack.getServiceHost(s, 9400) + ":" + stack.getServicePort(s, 9400) + "/health");
        assertThat(health).as(s).startsWith("{\"status\":\"UP\"");
      }
      String prom = "http://" + stack.getServiceHost("prometheus", 9090) + ":" + stack.getServicePort("prometheus", 9090);
      ObjectMapper json = new ObjectMapper();
      await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
        JsonNode targets = json.readTree(get(prom + "/api/v1/targets")).path("data").path("activeTargets");
        assertThat(targets).hasSize(SERVICES.size());
        targets.forEach(t -> assertThat(t.path("health").asText()).as(t.toString()).isEqualTo("up"));
      });
      JsonNode rules = json.readTree(get(prom + "/api/v1/rules")).path("data").path("groups");
      assertThat(rules.toString()).contains("LorastreamTrainerStalled", "LorastreamSnapshotRejected");
      String grafana = "http://" + stack.getServiceHost("grafana", 3000) + ":" + stack.getServicePort("grafana", 3000);
      assertThat(get(grafana + "/api/search?query=lorastream")).contains("\"uid\":\"lorastream\"");
    }
  }
}
