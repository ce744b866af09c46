package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The repository's docker-compose.yml passes the {@link ComposeGuard}, and deliberately broken
 * copies of it (written to a temp file and parsed again) each fail with a message naming the fault.
 */
class ComposeGuardTest {
  @TempDir Path tmp;

  @Test
  void repositoryComposeFileMatchesTheCode() throws IOException {
    ComposeFile f = ComposeFile.repository();
    assertThat(ComposeGuard.check(f)).isEmpty();
    // and it really is the deployment the architecture names
    assertThat(f.services()).containsKeys("kafka", "schema-registry", "topics", "pretrain", "stream-app", "trainer");
    assertThat(f.services().keySet().stream().filter(s -> f.command(s).equals(List.of("inference")))).hasSize(2);
  }

  @Test
  void unknownEnvironmentVariableIsDetected() throws IOException {
    List<String> problems = broken(c -> env(c, "trainer").put("LORASTREAM_TRAINER_LEARNING_RATE", "0.01"));
    assertThat(problems).anySatisfy(p -> assertThat(p).contains("trainer", "LORASTREAM_TRAINER_LEARNING_RATE",
        "trainer.learning.rate", "not a setting"));
    assertThat(problems).as("exactly the one fault, no collateral noise").hasSize(1);
  }

  @Test
  void settingOfAnotherRoleIsDetected() throws IOException {
    List<String> problems = broken(c -> env(c, "inference-1").put("LORASTREAM_TRAINER_LR", "0.01"));
    assertThat(problems).anySatisfy(p -> assertThat(p).contains("inference-1", "trainer.lr", "lorastream inference"));
  }

  @Test
  void misspeltKafkaPassThroughIsDetected() throws IOException {
    List<String> problems = broken(c -> env(c, "stream-app").put("LORASTREAM_KAFKA_BOOTSTRAP_SERVER", "kafka:9092"));
    assertThat(problems).anySatisfy(p -> assertThat(p).contains("kafka.bootstrap.server", "not a Kafka client setting"));
  }

  @Test
  void foreignVariableOnALorastreamServiceIsDetected() throws IOException {
    List<String> problems = broken(c -> env(c, "trainer").put("TRAINER_LR", "0.01"));
    assertThat(problems).anySatisfy(p -> assertThat(p).contains("TRAINER_LR", "neither"));
  }

  @Test
  void invalidValueIsDetectedByTheTypedConfig() throws IOException {
    List<String> problems = broken(c -> env(c, "trainer").put("LORASTREAM_TRAINER_LR", "-1"));
    assertThat(problems).anySatisfy(p -> assertThat(p).contains("trainer", "would not start", "trainer.lr"));
    assertThat(problems).as("exactly the one fault, no collateral noise").hasSize(1);
  }

  @Test
  void missingServiceIsDetected() throws IOException {
    List<String> problems = broken(c -> services(c).remove("inference-2"));
    assertThat(problems).anySatisfy(p -> assertThat(p).contains("missing service", "two inference replicas", "found 1"));

    List<String> noTopics = broken(c -> {
      services(c).remove("topics");
      services(c).values().forEach(s -> dependsOn(s).remove("topics"));
    });
    assertThat(noTopics).anySatisfy(p -> assertThat(p).contains("missing service", "lorastream topics"));

    List<String> noRegistry = broken(c -> services(c).remove("schema-registry"));
    assertThat(noRegistry).anySatisfy(p -> assertThat(p).contains("schema registry", "found []"));
  }

  @Test
  void topicRenamedOnOneServiceOnlyIsDetected() throws IOException {
    List<String> problems = broken(c -> env(c, "trainer").put("LORASTREAM_TOPIC_ADAPTERS", "adapters-v2"));
    assertThat(problems).anySatisfy(p -> assertThat(p).contains("trainer", "adapters-v2", "topics job"));
    assertThat(problems).as("exactly the one fault, no collateral noise").hasSize(1);
  }

  @Test
  void unknownTopicNameIsDetected() throws IOException {
    List<String> problems = broken(c -> env(c, "inference-2").put("LORASTREAM_TOPIC_ADAPTER", "adapters"));
    assertThat(problems).anySatisfy(p -> assertThat(p).contains("topic.adapter", "names no catalog topic"));
    assertThat(problems).as("exactly the one fault, no collateral noise").hasSize(1);

    List<String> registryTopic = broken(c -> env(c, "schema-registry").put("SCHEMA_REGISTRY_KAFKASTORE_TOPIC", "schemas"));
    assertThat(registryTopic).anySatisfy(p -> assertThat(p).contains("SCHEMA_REGISTRY_KAFKASTORE_TOPIC", "'schemas'", "_schemas"));
  }

  @Test
  void partitionCountDifferentFromTheTopicsJobIsDetected() throws IOException {
    List<String> problems = broken(c -> env(c, "topics").put("LORASTREAM_TOPICS_PARTITIONS", "4"));
    assertThat(problems).anySatisfy(p -> assertThat(p).contains("partitions", "topics job"));
  }

  @Test
  void wrongPortsAreDetected() throws IOException {
    assertThat(broken(c -> env(c, "trainer").put("LORASTREAM_KAFKA_BOOTSTRAP_SERVERS", "kafka:9093")))
        .anySatisfy(p -> assertThat(p).contains("trainer", "kafka:9093", "advertises"));
    assertThat(broken(c -> env(c, "inference-1").put("LORASTREAM_REGISTRY_URL", "http://schema-registry:8082")))
        .anySatisfy(p -> assertThat(p).contains("inference-1", "registry.url", "8082"));
    assertThat(broken(c -> env(c, "stream-app").put("LORASTREAM_METRICS_PORT", "9500")))
        .anySatisfy(p -> assertThat(p).contains("stream-app", "healthcheck probes port 9400", "9500"));
    assertThat(broken(c -> service(c, "trainer").put("ports", List.of("9402:9401"))))
        .anySatisfy(p -> assertThat(p).contains("trainer", "container port 9401"));
  }

  @Test
  void singleBrokerReplicationSettingsAreChecked() throws IOException {
    assertThat(broken(c -> env(c, "kafka").remove("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR")))
        .anySatisfy(p -> assertThat(p).contains("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "must be 1"));
  }

  @Test
  void startupOrderIsChecked() throws IOException {
    assertThat(broken(c -> dependsOn(service(c, "trainer")).put("topics", Map.of("condition", "service_started"))))
        .anySatisfy(p -> assertThat(p).contains("trainer", "topics", "service_completed_successfully", "service_started"));
    assertThat(broken(c -> service(c, "inference-2").remove("healthcheck")))
        .anySatisfy(p -> assertThat(p).contains("inference-2", "no healthcheck on /health"));
    assertThat(broken(c -> env(c, "stream-app").put("LORASTREAM_METRICS_ENABLED", "false")))
        .anySatisfy(p -> assertThat(p).contains("stream-app", "metrics.enabled must be true"));
  }

  @Test
  void baseModelOutsideThePretrainVolumeIsDetected() throws IOException {
    assertThat(broken(c -> env(c, "trainer").put("LORASTREAM_TRAINER_BASE", "/tmp/base.lsbase")))
        .anySatisfy(p -> assertThat(p).contains("trainer", "/tmp/base.lsbase", "pretrain"));
  }

  @Test
  @SuppressWarnings("unchecked")
  void imageBuiltFromAnotherDockerfileIsDetected() throws IOException {
    assertThat(broken(c -> ((Map<String, Object>) service(c, "trainer").get("build")).put("dockerfile", "docker/Other.Dockerfile")))
        .anySatisfy(p -> assertThat(p).contains("one Dockerfile"));
  }

  @Test
  void unknownSubcommandIsDetected() throws IOException {
    assertThat(broken(c -> service(c, "trainer").put("command", List.of("train"))))
        .anySatisfy(p -> assertThat(p).contains("trainer", "[train]", "subcommand"));
  }

  @Test
  @SuppressWarnings("unchecked")
  void aHealthCheckToolTheImageLacksIsDetected() throws IOException {
    List<String> problems = broken(c -> ((Map<String, Object>) service(c, "prometheus").get("healthcheck"))
        .put("test", List.of("CMD", "curl", "-fsS", "http://localhost:9090/-/ready")));
    assertThat(problems).anyMatch(p -> p.contains("prometheus") && p.contains("curl") && p.contains("does not have"));
    List<String> unknown = broken(c -> service(c, "grafana").put("image", "example/unknown:1.0"));
    assertThat(unknown).anyMatch(p -> p.contains("no known health-check tools for image example/unknown:1.0"));
  }

  @Test
  @SuppressWarnings("unchecked")
  void monitoringThatMissesAServiceOrItsFilesIsDetected() throws IOException {
    // Prometheus without its rule file mounted, and Grafana without its dashboard
    List<String> problems = broken(c -> {
      ((List<Object>) service(c, "prometheus").get("volumes")).removeIf(v -> String.valueOf(v).contains("alerts.yml"));
      ((List<Object>) service(c, "grafana").get("volumes")).removeIf(v -> String.valueOf(v).contains("lorastream.json"));
    });
    assertThat(problems).anyMatch(p -> p.contains("rule file /etc/prometheus/alerts.yml") && p.contains("not mounted"));
    assertThat(problems).anyMatch(p -> p.contains("grafana") && p.contains("no dashboard JSON is mounted"));
    // a third inference replica that Prometheus does not scrape
    List<String> unscraped = broken(c -> {
      Map<String, Object> third = (Map<String, Object>) copy(service(c, "inference-2"));
      ((Map<String, Object>) third.get("environment")).put("LORASTREAM_INFERENCE_CONSUMER_ID", "inference-3");
      third.put("ports", List.of("9405:9400"));
      services(c).put("inference-3", third);
    });
    assertThat(unscraped).anyMatch(p -> p.contains("prometheus.yml scrapes") && p.contains("inference-3:9400"));
  }

  @Test
  @SuppressWarnings("unchecked")
  void aMissingMemoryLimitPlatformOrSharedLibtorchCacheIsDetected() throws IOException {
    assertThat(broken(c -> service(c, "trainer").remove("mem_limit")))
        .anyMatch(p -> p.contains("trainer runs a JVM but sets no mem_limit"));
    assertThat(broken(c -> service(c, "schema-registry").remove("mem_limit")))
        .anyMatch(p -> p.contains("schema-registry runs a JVM but sets no mem_limit"));
    assertThat(broken(c -> service(c, "inference-2").put("platform", "linux/arm64")))
        .anyMatch(p -> p.contains("inference-2: platform must be linux/amd64"));
    assertThat(broken(c -> ((List<Object>) service(c, "trainer").get("volumes")).removeIf(v -> String.valueOf(v)
        .startsWith("djl-cache")))).anyMatch(p -> p.contains("trainer loads libtorch but mounts no volume at DJL_CACHE_DIR"));
    assertThat(broken(c -> {
      List<Object> vols = (List<Object>) service(c, "inference-1").get("volumes");
      vols.replaceAll(v -> String.valueOf(v).startsWith("djl-cache") ? "other-cache:/var/lib/lorastream/djl" : v);
    })).anyMatch(p -> p.contains("mount different volumes") && p.contains("share one"));
  }

  // ---- helpers: edit the parsed file, write it out, parse and check the copy -----------------------

  private List<String> broken(Consumer<Map<String, Object>> edit) throws IOException {
    ComposeFile original = ComposeFile.repository();
    Map<String, Object> copy = deepCopy(original.root);
    edit.accept(copy);
    DumperOptions o = new DumperOptions();
    o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    Path file = tmp.resolve("docker-compose.broken.yml");
    Files.writeString(file, new Yaml(o).dump(copy));
    // checked as `docker compose --project-directory <repo> -f <copy>`: relative paths (Dockerfile) resolve in the repo
    List<String> problems = ComposeGuard.check(ComposeFile.load(file, original.projectDir));
    assertThat(problems).as("the guard must reject the broken copy").isNotEmpty();
    return problems;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> deepCopy(Map<String, Object> m) {
    // YAML aliases (*service-deps, *lorastream-image) share one object between services: copy every
    // map and list so that an edit breaks exactly one service, as a hand edit of the file would
    return (Map<String, Object>) copy(m);
  }

  private static Object copy(Object o) {
    if (o instanceof Map<?, ?> m) {
      Map<String, Object> out = new java.util.LinkedHashMap<>();
      m.forEach((k, v) -> out.put(String.valueOf(k), copy(v)));
      return out;
    }
    if (o instanceof List<?> l) {
      return new java.util.ArrayList<>(l.stream().map(ComposeGuardTest::copy).toList());
    }
    return o;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> services(Map<String, Object> c) {
    return (Map<String, Object>) c.get("services");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> service(Map<String, Object> c, String name) {
    return (Map<String, Object>) services(c).get(name);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> env(Map<String, Object> c, String name) {
    return (Map<String, Object>) service(c, name).get("environment");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> dependsOn(Object service) {
    Object d = ((Map<String, Object>) service).get("depends_on");
    return d instanceof Map<?, ?> ? (Map<String, Object>) d : new java.util.HashMap<>();
  }
}
