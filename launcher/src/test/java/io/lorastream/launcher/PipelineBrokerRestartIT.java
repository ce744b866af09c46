package io.lorastream.launcher;

import io.lorastream.testing.LogCapture;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario 2 of the reliability issue on the stream-app and consumer side: the whole demo
 * pipeline (ingest, evaluation, trainer, two inference consumers, replay with backpressure) runs
 * in the background, and in the middle of it (examples still being produced, both consumers
 * already serving a trained version) the embedded broker is stopped twice: once until every
 * long-running Kafka client of every service has failed to reconnect (so the outage really hit
 * all of them), once for longer than Kafka Streams' exactly-once transaction timeout; each time
 * it is started again on the same data directory and ports. Without any
 * action from the test the pipeline recovers: every role reports healthy and its Kafka Streams
 * apps RUNNING again, ingest and the trainer make progress past where they were, the run drains,
 * both consumers serve the version the rollout controller names, and the record counts reconcile exactly (no example
 * lost, none trained twice). The figures go to {@code target/reliability/pipeline-broker-restart.json}.
 */
class PipelineBrokerRestartIT {
  @RegisterExtension @Order(1) static final LogCapture logs = new LogCapture();
  @RegisterExtension @Order(2) static final LocalStackExtension stack = new LocalStackExtension(2);

  @TempDir Path tmp;
  @RegisterExtension final LiveDemo live = new LiveDemo();

  private static final Duration LIMIT = Duration.ofSeconds(120);
  /**
   * Client-id prefixes of the Kafka clients that talk to the broker all the time, one or more per
   * service: the trainer's (its input consumer, or its producer while a snapshot is in flight), the
   * stream threads of ingest, evaluation and both inference apps, and the three adapter
   * subscribers. Each must have failed to reach the stopped broker.
   */
  private static final List<String> PROBES = List.of("demo-trainer-", "lorastream-ingest-", "lorastream-eval-",
      "consumer-1-StreamThread-", "consumer-2-StreamThread-", "consumer-1-adapters", "consumer-2-adapters",
      "eval-adapters");
  private static final Pattern CONNECT_FAILED = Pattern.compile(
      "\\[(?:Consumer|Producer|AdminClient) clientId=([^,\\]]+)[^\\]]*\\] Connection to node \\S+ .*could not be established");

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void thePipelineRecoversFromBrokerRestartsByItselfAndStillReconcilesExactly() throws Exception {
    long t0 = System.nanoTime();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    Path out = tmp.resolve("out");
    DemoRun.Settings s = new DemoRun.Settings(10_000, 11, "steps:2@0,4@15,8@35,16@55", "cpu", out, 400, 0.02, 0.02,
        Path.of("target", "it-models"), new PrintStream(console, true, StandardCharsets.UTF_8),
        Map.of("trainer.publish.steps", "10", "trainer.publish.min.interval.ms", "0"), 600);
    DemoRun demo = new DemoRun(s, stack.bootstrapServers(), stack.registryUrl());
    // The replay runs through both outages but must not finish before the recovery from the last
    // one has been seen: after an outage the paced replay catches up, and on a busy machine it
    // could otherwise drain the run while the test still waits for a role to report healthy.
    FutureTask<DemoRun.Summary> running = live.start(demo, 2_000, LIMIT.multipliedBy(4), "broker-restart-demo");

    await().atMost(LIMIT).until(() -> demo.metricsUrls().size() == 4 || running.isDone());
    Map<String, String> urls = demo.metricsUrls();
    assertThat(urls).as(console.toString(StandardCharsets.UTF_8)).hasSize(4);
    await("both consumers serve a trained version").atMost(LIMIT)
        .failFast("the demo ended early", running::isDone).ignoreExceptions()
        .until(() -> active(urls, "consumer-1") >= 2 && active(urls, "consumer-2") >= 2);

    // A blip (every client fails to reconnect once), then an outage longer than Kafka Streams'
    // exactly-once transaction timeout (10 s): reconnects back off to reconnect.backoff.max.ms
    // (1 s), so 15 failed attempts of every client take over 10 s.
    List<Outage> outages = new java.util.ArrayList<>();
    for (int failures : List.of(1, 15)) {
      assertThat(console.toString(StandardCharsets.UTF_8)).as("examples are still being replayed")
          .doesNotContain("replay finished");
      Outage o = outage(urls, running, failures);
      outages.add(o);
      awaitRecovery(urls, running, o, console);
    }
    live.releaseTail();

    DemoRun.Summary sm = running.get(LIMIT.toSeconds() * 2, TimeUnit.SECONDS);
    String text = console.toString(StandardCharsets.UTF_8);
    assertThat(sm.ok()).as(text).isTrue();
    assertThat(sm.reconciled()).as(text).isTrue();
    assertThat(text).as("the replay was held until the recovery was seen").contains("replay held at 8000 examples");
    assertThat(sm.examplesTrained() + sm.examplesHoldout() + sm.examplesDeadLettered() + sm.examplesDuplicates())
        .isEqualTo(sm.examplesProduced());
    // The trainer's own count against ingest's routing count, each from its service's final scrape.
    PromText trainerEnd = new PromText(Files.readString(out.resolve("metrics/trainer.prom")));
    PromText appEnd = new PromText(Files.readString(out.resolve("metrics/stream-app.prom")));
    long routedToTrain = (long) appEnd.value("lorastream_ingest_hosted_records", "outcome", "train");
    assertThat((long) trainerEnd.value("lorastream_trainer_examples_total")).isEqualTo(sm.examplesTrained());
    assertThat(sm.examplesTrained()).as("every example routed to training trained exactly once").isEqualTo(routedToTrain);
    assertThat((long) sm.versionsPublished()).isGreaterThan(outages.get(outages.size() - 1).versionAtStop());
    long served = (Long) ((Map<?, ?>) sm.extra().get("rollout")).get("servedVersion");
    assertThat(served).as("the gate promoted versions through the outages%n%s", text).isPositive();
    for (Map<String, Object> c : sm.consumers()) {
      assertThat((Long) c.get("activeVersion")).as("%s serves what the rollout state says%n%s", c.get("name"), text)
          .isEqualTo(served);
      assertThat(c.get("rejectedSnapshots")).isEqualTo(0L);
    }
    assertThat(sm.extra().get("predictionsNamingUnpublishedVersion")).isEqualTo(0L);

    List<String> all = logs.lines();
    long threadsReplaced = all.stream().filter(l -> l.contains("stream thread failed; replacing it")).count();
    long rebalances = all.stream().filter(l -> l.contains("RUNNING -> REBALANCING")).count();
    long trainerStalls = all.stream().filter(l -> l.contains("AdapterTrainer") && l.contains("stalled")).count();
    long trainerAborts = (long) trainerEnd.value("lorastream_trainer_transactions_aborted_total");
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("scenario", "broker restart (whole pipeline: ingest, eval, trainer, 2 inference consumers)");
    json.put("command", "mvn -B -pl launcher verify -Dit.test=PipelineBrokerRestartIT");
    json.put("brokerRestarts", outages.size());
    json.put("outageSeconds", outages.stream().map(o -> Math.round(o.seconds() * 10) / 10.0).toList());
    json.put("clientsThatFailedToReconnect", outages.stream().map(Outage::clients).toList());
    json.put("streamThreadsReplaced", threadsReplaced);
    json.put("streamsRebalances", rebalances);
    json.put("trainerStallWarnings", trainerStalls);
    json.put("trainerTransactionsAborted", trainerAborts);
    json.put("recordsProduced", sm.examplesProduced());
    json.put("trained", sm.examplesTrained());
    json.put("routedToTrain", routedToTrain);
    json.put("holdout", sm.examplesHoldout());
    json.put("deadLettered", sm.examplesDeadLettered());
    json.put("deduplicated", sm.examplesDuplicates());
    json.put("versionsAtStops", outages.stream().map(Outage::versionAtStop).toList());
    json.put("versionsPublished", sm.versionsPublished());
    json.put("recordsLost", sm.examplesProduced()
        - (sm.examplesTrained() + sm.examplesHoldout() + sm.examplesDeadLettered() + sm.examplesDuplicates()));
    json.put("recordsTrainedTwice", Math.max(0, sm.examplesTrained() - routedToTrain));
    json.put("seconds", ReliabilityFigures.seconds(t0));
    ReliabilityFigures.write("pipeline-broker-restart.json", json);
    System.out.printf("RELIABILITY pipeline broker restart: outages %s s, %d stream threads replaced, %d rebalances, "
        + "%d trainer transactions aborted; %d records = %d trained + %d holdout + %d dead-lettered + %d duplicates; "
        + "v%d at the end%n", json.get("outageSeconds"), threadsReplaced, rebalances, trainerAborts,
        sm.examplesProduced(), sm.examplesTrained(), sm.examplesHoldout(), sm.examplesDeadLettered(),
        sm.examplesDuplicates(), sm.versionsPublished());
  }

  /** One broker outage: how long it lasted, how many clients saw it, where ingest and the trainer were. */
  private record Outage(double seconds, int clients, double processedAtStop, long versionAtStop) {}

  /**
   * Stops the broker, keeps it down until every probe client has failed to reconnect
   * {@code failures} times, and starts it again on the same data directory and ports.
   */
  private Outage outage(Map<String, String> urls, FutureTask<DemoRun.Summary> running, int failures) {
    double processed = scrape(urls.get("stream-app")).value("lorastream_ingest_records_total", "outcome", "processed");
    long version = (long) scrape(urls.get("trainer")).value("lorastream_trainer_snapshot_version");
    int mark = logs.size();
    long down = System.nanoTime();
    stack.kafka().stop();
    await("every service's Kafka clients failed to reach the broker " + failures + " time(s)").atMost(LIMIT)
        .untilAsserted(() -> {
          Map<String, Integer> seen = clientsThatFailedToConnect(mark);
          assertThat(PROBES.stream().filter(p -> seen.entrySet().stream()
              .noneMatch(e -> e.getKey().startsWith(p) && e.getValue() >= failures)).toList())
              .as("clients that have not failed often enough yet").isEmpty();
        });
    int clients = clientsThatFailedToConnect(mark).size();
    stack.kafka().start();
    double seconds = (System.nanoTime() - down) / 1e9;
    assertThat(running.isDone()).as("the demo was still running through the outage").isFalse();
    return new Outage(seconds, clients, processed, version);
  }

  /** Waits, without doing anything else, until every role is healthy and ingest and the trainer moved on. */
  private void awaitRecovery(Map<String, String> urls, FutureTask<DemoRun.Summary> running, Outage o,
      ByteArrayOutputStream console) {
    await("every role is healthy again and makes progress").atMost(LIMIT)
        .failFast("the demo ended before it recovered", () -> assertThat(running.isDone())
            .as("%s%n%s", ended(running), console.toString(StandardCharsets.UTF_8)).isFalse())
        .ignoreExceptions().untilAsserted(() -> {
          healthy(urls.get("stream-app"), "ingest", "eval", "eval-adapters");
          healthy(urls.get("trainer"), "trainer");
          healthy(urls.get("consumer-1"), "inference", "adapters");
          healthy(urls.get("consumer-2"), "inference", "adapters");
          PromText app = scrape(urls.get("stream-app"));
          assertThat(app.value("lorastream_streams_running", "app", "ingest")).isEqualTo(1.0);
          assertThat(app.value("lorastream_streams_running", "app", "eval")).isEqualTo(1.0);
          for (String c : List.of("consumer-1", "consumer-2")) {
            assertThat(scrape(urls.get(c)).value("lorastream_streams_running", "app", "inference")).as(c).isEqualTo(1.0);
          }
          assertThat(app.value("lorastream_ingest_records_total", "outcome", "processed")).isGreaterThan(o.processedAtStop());
          assertThat(scrape(urls.get("trainer")).value("lorastream_trainer_snapshot_version")).isGreaterThan(o.versionAtStop());
        });
  }

  /** How the demo ended, for a failure message: its summary's verdict or its exception. */
  private static String ended(FutureTask<DemoRun.Summary> running) {
    if (!running.isDone()) {
      return "still running";
    }
    try {
      DemoRun.Summary sm = running.get();
      return "the demo finished: ok=" + sm.ok() + ", reconciled=" + sm.reconciled();
    } catch (Exception e) {
      return "the demo failed: " + e;
    }
  }

  /** Client id -> failed connection attempts logged since log line {@code from}. */
  private static Map<String, Integer> clientsThatFailedToConnect(int from) {
    Map<String, Integer> out = new TreeMap<>();
    for (String l : logs.lines(from)) {
      Matcher m = CONNECT_FAILED.matcher(l);
      if (m.find()) {
        out.merge(m.group(1), 1, Integer::sum);
      }
    }
    return out;
  }

  private long active(Map<String, String> urls, String consumer) {
    return (long) scrape(urls.get(consumer)).value("lorastream_adapter_active_version", "consumer", consumer);
  }

  private void healthy(String base, String... checks) {
    HttpResponse<String> r = get(base + "/health");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    for (String c : checks) {
      assertThat(r.body()).contains("\"" + c + "\":{\"status\":\"UP\"");
    }
  }

  private PromText scrape(String base) {
    HttpResponse<String> r = get(base + "/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    return new PromText(r.body());
  }

  private HttpResponse<String> get(String url) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
