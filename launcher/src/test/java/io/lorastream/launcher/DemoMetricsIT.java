package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.testing.LocalStackExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small demo run with one metrics endpoint per service role: while it runs, {@code /metrics}
 * and {@code /health} of each role answer over HTTP with live values (ingest records, trainer
 * step and ranks, an active adapter version, health UP); after it, the final scrapes the demo
 * writes agree with the run's own summary (versions, ranks, trained examples, predictions).
 */
class DemoMetricsIT {
  @RegisterExtension static LocalStackExtension stack = new LocalStackExtension(2);

  @TempDir Path tmp;
  @RegisterExtension final LiveDemo live = new LiveDemo();

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private HttpResponse<String> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private PromText scrape(String base) throws Exception {
    HttpResponse<String> r = get(base + "/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    return new PromText(r.body());
  }

  private void healthy(String base, String... checks) throws Exception {
    HttpResponse<String> r = get(base + "/health");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.body()).startsWith("{\"status\":\"UP\"");
    for (String c : checks) {
      assertThat(r.body()).contains("\"" + c + "\":{\"status\":\"UP\"");
    }
  }

  @Test
  void everyRoleServesLiveMetricsAndHealthAndTheFinalScrapesMatchTheSummary() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    Path out = tmp.resolve("out");
    DemoRun.Settings s = new DemoRun.Settings(6_000, 11, "steps:2@0,4@15,8@35,16@55", "cpu", out, 500, 0.02, 0.02,
        Path.of("target", "it-models"), new PrintStream(console, true, StandardCharsets.UTF_8), Map.of(), 600);
    DemoRun demo = new DemoRun(s, stack.bootstrapServers(), stack.registryUrl());
    // Live values are read while the pipeline still runs: the replay's tail waits until they were seen.
    FutureTask<DemoRun.Summary> running = live.start(demo, 1_500, Duration.ofMinutes(5), "demo-metrics-demo");

    await().atMost(Duration.ofSeconds(120)).until(() -> demo.metricsUrls().size() == 4 || running.isDone());
    Map<String, String> urls = demo.metricsUrls();
    assertThat(urls).as(console.toString(StandardCharsets.UTF_8)).containsOnlyKeys("stream-app", "trainer", "consumer-1", "consumer-2");

    // during the run: live values over HTTP
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
      PromText m = scrape(urls.get("stream-app"));
      assertThat(m.value("lorastream_ingest_records_total", "outcome", "processed", "service", "stream-app")).isPositive();
      assertThat(m.value("lorastream_ingest_examples_per_second")).isPositive();
      assertThat(m.value("lorastream_ingest_partitions")).isEqualTo(2);
      healthy(urls.get("stream-app"), "ingest", "eval", "eval-adapters");
    });
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
      PromText m = scrape(urls.get("trainer"));
      assertThat(m.value("lorastream_trainer_step", "adapter", DemoRun.TASK, "service", "trainer")).isPositive();
      assertThat(m.value("lorastream_trainer_loss", "adapter", DemoRun.TASK)).isFinite().isPositive();
      assertThat(m.find("lorastream_trainer_rank", "adapter", DemoRun.TASK)).isNotEmpty()
          .allSatisfy(r -> assertThat(r.value()).isGreaterThanOrEqualTo(2));
      healthy(urls.get("trainer"), "trainer");
    });
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
      for (String c : List.of("consumer-1", "consumer-2")) {
        PromText m = scrape(urls.get(c));
        assertThat(m.value("lorastream_adapter_active_version", "adapter", DemoRun.TASK, "consumer", c,
            "service", "inference")).isGreaterThanOrEqualTo(1);
        assertThat(m.find("jvm_memory_used_bytes")).isNotEmpty();
        healthy(urls.get(c), "adapters", "inference");
      }
    });

    // Kafka's own client metrics through Micrometer's binders: the trainer's consumer and
    // transactional producer, and the Streams apps' embedded clients and threads.
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
      PromText t = scrape(urls.get("trainer"));
      assertThat(t.find("kafka_consumer_fetch_manager_records_lag_max", "client_role", "input")).isNotEmpty();
      assertThat(t.sum("kafka_consumer_fetch_manager_records_consumed_total", "client_role", "input")).isPositive();
      assertThat(t.sum("kafka_producer_txn_commit_time_ns_total", "client_role", "snapshots")).isPositive();
      PromText a = scrape(urls.get("stream-app"));
      assertThat(a.sum("kafka_stream_alive_stream_threads", "app", "ingest")).isPositive();
      assertThat(a.find("kafka_consumer_fetch_manager_records_lag_max", "app", "eval")).isNotEmpty();
      assertThat(a.sum("kafka_consumer_fetch_manager_records_consumed_total", "client_role", "eval-adapters")).isPositive();
      assertThat(a.find("kafka_consumer_fetch_manager_records_lag_max", "client_role", "rollout-input")).isNotEmpty();
      assertThat(a.find("kafka_producer_record_send_total", "client_role", "rollout-decisions")).isNotEmpty();
      for (String c : List.of("consumer-1", "consumer-2")) {
        PromText m = scrape(urls.get(c));
        assertThat(m.sum("kafka_stream_alive_stream_threads", "app", "inference")).isPositive();
        // the adapter subscriber's consumer and the metrics reporter's producer
        assertThat(m.sum("kafka_consumer_fetch_manager_records_consumed_total", "client_role", "adapters")).isPositive();
        assertThat(m.sum("kafka_producer_record_send_total", "client_role", "metrics-reporter")).isPositive();
      }
    });
    // Every metric the shipped Grafana dashboard and Prometheus alert rules query is one a service exports.
    java.util.Set<String> queried = new java.util.TreeSet<>();
    for (MonitoringFiles.Query q : MonitoringFiles.allQueries()) {
      queried.addAll(MonitoringFiles.metricNames(q.expr()));
    }
    queried.removeAll(MonitoringFiles.PROMETHEUS_OWN);
    java.util.Set<String> exportedLive = new java.util.TreeSet<>();
    await().atMost(Duration.ofSeconds(90)).ignoreExceptions().untilAsserted(() -> {
      for (String role : urls.keySet()) {
        exportedLive.addAll(MonitoringFiles.exported(get(urls.get(role) + "/metrics").body()));
      }
      assertThat(exportedLive).as("metrics queried by docker/monitoring but exported by no service").containsAll(queried);
    });

    live.releaseTail();
    DemoRun.Summary sm = running.get(240, TimeUnit.SECONDS);
    String log = console.toString(StandardCharsets.UTF_8);
    assertThat(sm.ok()).as(log).isTrue();
    assertThat(log).contains("metrics trainer", urls.get("trainer") + "/metrics");

    // after the run: the final scrapes agree with what the pipeline reported
    PromText trainer = new PromText(Files.readString(out.resolve("metrics/trainer.prom")));
    assertThat(trainer.value("lorastream_trainer_snapshot_version", "adapter", DemoRun.TASK)).isEqualTo(sm.versionsPublished());
    assertThat(trainer.value("lorastream_trainer_snapshots_total", "adapter", DemoRun.TASK)).isEqualTo(sm.versionsPublished());
    assertThat(trainer.value("lorastream_trainer_examples_total", "adapter", DemoRun.TASK)).isEqualTo(sm.examplesTrained());
    assertThat(trainer.value("lorastream_trainer_snapshot_bytes", "adapter", DemoRun.TASK)).isPositive();
    assertThat(trainer.value("lorastream_trainer_skipped_batches_total", "adapter", DemoRun.TASK)).isZero();
    sm.finalRanks().forEach((layer, rank) ->
        assertThat(trainer.value("lorastream_trainer_rank", "layer", layer)).as(layer).isEqualTo(rank.doubleValue()));

    double predictions = 0;
    for (Map<String, Object> c : sm.consumers()) {
      String name = (String) c.get("name");
      PromText m = new PromText(Files.readString(out.resolve("metrics/" + name + ".prom")));
      assertThat(m.value("lorastream_adapter_active_version", "consumer", name)).isEqualTo(((Long) c.get("activeVersion")).doubleValue());
      assertThat(m.value("lorastream_adapter_swaps_total", "consumer", name)).isEqualTo(((Integer) c.get("versionsApplied")).doubleValue());
      assertThat(m.sum("lorastream_adapter_rejected_total", "consumer", name)).isZero();
      double swapsTimed = m.value("lorastream_adapter_swap_latency_seconds_count", "consumer", name);
      assertThat(swapsTimed).isPositive().isLessThanOrEqualTo(((Integer) c.get("versionsApplied")).doubleValue());
      double made = m.value("lorastream_inference_predictions_total", "consumer", name);
      assertThat(m.value("lorastream_inference_prediction_latency_seconds_count", "consumer", name)).isEqualTo(made);
      predictions += made;
    }
    assertThat(predictions).isEqualTo(sm.consumers().stream().mapToLong(c -> (Long) c.get("predictions")).sum());

    PromText streamApp = new PromText(Files.readString(out.resolve("metrics/stream-app.prom")));
    double processed = streamApp.value("lorastream_ingest_records_total", "outcome", "processed");
    assertThat(processed).isPositive().isLessThanOrEqualTo(sm.examplesProduced());
    double dlq = streamApp.value("lorastream_ingest_records_total", "outcome", "dlq");
    assertThat(dlq).isPositive().isLessThanOrEqualTo(sm.examplesDeadLettered());
    assertThat(streamApp.sum("lorastream_ingest_dlq_total")).isEqualTo(dlq);
    // one stream-app instance hosts every partition, so its hosted totals are the pipeline's, exactly
    assertThat(streamApp.value("lorastream_ingest_hosted_records", "outcome", "processed")).isEqualTo(sm.examplesProduced());
    assertThat(streamApp.value("lorastream_ingest_hosted_records", "outcome", "train")).isEqualTo(sm.examplesTrained());
    assertThat(streamApp.value("lorastream_ingest_hosted_records", "outcome", "holdout")).isEqualTo(sm.examplesHoldout());
    assertThat(streamApp.value("lorastream_ingest_hosted_records", "outcome", "dlq")).isEqualTo(sm.examplesDeadLettered());
    assertThat(streamApp.value("lorastream_ingest_hosted_records", "outcome", "duplicates")).isEqualTo(sm.examplesDuplicates());
    assertThat(streamApp.value("lorastream_adapter_active_version", "consumer", "eval"))
        .as("the evaluator's subscriber follows the rollout like the consumers")
        .isEqualTo(((Number) ((Map<?, ?>) sm.extra().get("rollout")).get("servedVersion")).doubleValue());

    // the metrics table in README.md lists exactly the lorastream_* meters the services export
    java.util.Set<String> exported = new java.util.TreeSet<>();
    for (String role : List.of("stream-app", "trainer", "consumer-1", "consumer-2")) {
      for (String name : MonitoringFiles.exported(Files.readString(out.resolve("metrics/" + role + ".prom")))) {
        if (name.startsWith("lorastream_")) {
          exported.add(name.replaceAll("_seconds_(bucket|count|sum|max)$", "_seconds"));
        }
      }
    }
    java.util.Set<String> documented = new java.util.TreeSet<>();
    java.util.regex.Matcher row = java.util.regex.Pattern.compile("(?m)^\\| `(lorastream_[a-z_]+)`")
        .matcher(Files.readString(ComposeFile.locate().getParent().resolve("README.md")));
    while (row.find()) {
      documented.add(row.group(1));
    }
    assertThat(exported).as("exported lorastream_* meters vs README.md").isEqualTo(documented);
  }
}
