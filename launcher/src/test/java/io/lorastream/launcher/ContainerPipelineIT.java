package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import io.lorastream.kafka.TopicCatalog;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.junit.jupiter.Testcontainers;
import picocli.CommandLine;

/**
 * The full pipeline (topics job, ingest, evaluation, trainer, two inference consumers, replay)
 * against a real Kafka broker and the real Confluent Schema Registry in Docker instead of the
 * embedded ones: the run drains and reconciles, every consumer ends on the last published
 * version, and the registry holds the project's schemas under TopicNameStrategy subjects.
 * Skipped when no Docker engine is available.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainerPipelineIT {
  @TempDir Path tmp;

  @Test
  void pipelineRunsAgainstKafkaContainerAndConfluentRegistry() throws Exception {
    String bootstrap = ConfluentContainers.bootstrapServers();
    String registry = ConfluentContainers.registryUrl();

    StringWriter topicsOut = new StringWriter();
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(topicsOut));
    cl.setErr(new PrintWriter(topicsOut));
    assertThat(cl.execute("topics", "--bootstrap", bootstrap, "--registry", registry)).as(topicsOut.toString()).isZero();

    ByteArrayOutputStream console = new ByteArrayOutputStream();
    DemoRun.Settings s = new DemoRun.Settings(6_000, 5, "steps:2@0,4@15,8@35,16@55", "cpu", tmp.resolve("out"), 500,
        0.02, 0.02, Path.of("target", "it-models"), new PrintStream(console, true, StandardCharsets.UTF_8),
        Map.of("trainer.publish.steps", "20", "trainer.publish.min.interval.ms", "0"), 600);
    DemoRun.Summary sm = new DemoRun(s, bootstrap, registry).run();
    String log = console.toString(StandardCharsets.UTF_8);

    assertThat(sm.reconciled()).as(log).isTrue();
    assertThat(sm.ok()).as(log).isTrue();
    assertThat(sm.examplesDeadLettered()).isPositive();
    assertThat(sm.versionsPublished()).isGreaterThanOrEqualTo(2);
    for (Map<String, Object> c : sm.consumers()) {
      assertThat((Long) c.get("activeVersion")).as(log)
          .isEqualTo((Long) ((Map<?, ?>) sm.extra().get("rollout")).get("servedVersion"));
      assertThat((Long) c.get("rejectedSnapshots")).isZero();
    }

    // the serdes registered the contracts in the real registry under TopicNameStrategy subjects
    TopicCatalog catalog = TopicCatalog.defaults(2);
    HttpClient http = HttpClient.newHttpClient();
    ObjectMapper json = new ObjectMapper();
    for (Map.Entry<String, Schema> e : Map.of(catalog.examplesRaw.name(), LabeledExample.getClassSchema(),
        catalog.adapters.name(), AdapterSnapshot.getClassSchema()).entrySet()) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(
          URI.create(registry + "/subjects/" + e.getKey() + "-value/versions/latest")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonNode n = json.readTree(r.body());
      assertThat(new Schema.Parser().parse(n.get("schema").asText())).isEqualTo(e.getValue());
    }
  }
}
