package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lorastream.avro.LabeledExample;
import io.lorastream.testing.LocalStackExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code lorastream replay} from a JSONL file and from the generator into examples.raw on a real broker. */
class ReplayIT {
  @RegisterExtension static LocalStackExtension stack = new LocalStackExtension(1);

  @TempDir Path tmp;

  private static final String RAW = "replay-it.raw";

  @Test
  void replaysAFileAndTheGeneratorAsAvroKeyedById() throws Exception {
    Path file = tmp.resolve("examples.jsonl");
    Files.writeString(file, """
        {"features":[0.5,-1.0,2.0],"label":1}
        {"features":[1.5,0.0,-2.0],"label":0}
        {"features":[0.0,0.25,1.0],"label":2}
        """);
    int code = new CommandLine(new Main()).execute("replay", "--bootstrap", stack.bootstrapServers(),
        "--registry", stack.registryUrl(), "--source", file.toString(), "--task", "file-task", "--examples", "10", "--await-ingest", "PT0S");
    assertThat(code).isZero();
    code = new CommandLine(new Main()).execute("replay", "--bootstrap", stack.bootstrapServers(),
        "--registry", stack.registryUrl(), "--task", "drift", "--examples", "40", "--seed", "3", "--await-ingest", "PT0S");
    assertThat(code).isZero();

    List<ConsumerRecord<String, LabeledExample>> got = new ArrayList<>();
    String topic = stack.catalog().examplesRaw.name();
    try (KafkaConsumer<String, LabeledExample> c = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()), new StringDeserializer(),
        stack.serdes().labeledExample().deserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        c.poll(Duration.ofMillis(200)).forEach(got::add);
        return got.size() >= 43;
      });
    }
    assertThat(got).hasSize(43);
    List<ConsumerRecord<String, LabeledExample>> fromFile = got.stream().filter(r -> r.value().getTask().equals("file-task")).toList();
    assertThat(fromFile).hasSize(3);
    assertThat(fromFile.get(0).value().getFeatures()).containsExactly(0.5f, -1.0f, 2.0f);
    assertThat(fromFile.get(0).value().getLabel()).isEqualTo(1);
    assertThat(fromFile.get(2).value().getLabel()).isEqualTo(2);
    got.forEach(r -> assertThat(r.key()).isEqualTo(r.value().getId()));
    List<ConsumerRecord<String, LabeledExample>> generated = got.stream().filter(r -> r.value().getTask().equals("drift")).toList();
    assertThat(generated).hasSize(40);
    assertThat(generated).allSatisfy(r -> {
      assertThat(r.value().getFeatures()).hasSize(32);
      assertThat(r.value().getLabel()).isBetween(0, 5);
      assertThat(r.value().getAttributes()).containsKey("phase");
    });
  }

  @Test
  void idsAreFreshPerRunUnlessSeededAndAReplayDroppedAsDuplicatesSaysSo() throws Exception {
    io.lorastream.config.CommonConfig common = new io.lorastream.config.CommonConfig(
        io.lorastream.config.LayeredConfig.load(io.lorastream.config.CommonConfig.DEFAULTS, null, Map.of(),
            Map.of("kafka.bootstrap.servers", stack.bootstrapServers(), "registry.url", stack.registryUrl(),
                "topics.partitions", "1", "topic.examples.raw", RAW, "topic.examples.train", RAW + ".train",
                "topic.examples.eval", RAW + ".eval", "topic.examples.dlq", RAW + ".dlq", "topic.metrics",
                RAW + ".metrics")));
    // Own topics: the other test's records must not reach this ingest or its counters.
    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
        Map.<String, Object>of("bootstrap.servers", stack.bootstrapServers()))) {
      common.catalog().createAll(admin, (short) 1);
    }
    io.lorastream.stream.ingest.StreamAppConfig app = io.lorastream.stream.ingest.StreamAppConfig.of(Map.of(
        "ingest.application.id", "replay-it-ingest", "ingest.state.dir", tmp.resolve("streams").toString(),
        "ingest.metrics.interval.ms", "200", "ingest.commit.interval.ms", "100"));
    try (io.lorastream.stream.ingest.IngestService ingest = new io.lorastream.stream.ingest.IngestService(common, app,
        stack.serdes()).start()) {
      String seeded1 = replay("--examples", "40", "--seed", "5", "--task", "dedupe");
      assertThat(seeded1).contains("ids are fixed by --seed 5", "ingest: 40 of 40 records processed")
          .contains("0 dropped as duplicates");
      String seeded2 = replay("--examples", "40", "--seed", "5", "--task", "dedupe");
      assertThat(seeded2).contains("ingest: 40 of 40 records processed", "40 dropped as duplicates",
          "Replay without --seed for fresh ids");
      String fresh1 = replay("--examples", "40", "--task", "dedupe");
      String fresh2 = replay("--examples", "40", "--task", "dedupe");
      assertThat(fresh1).contains("fresh example ids for this run", "0 dropped as duplicates");
      assertThat(fresh2).contains("fresh example ids for this run", "0 dropped as duplicates");
    }
  }

  /** Runs {@code lorastream replay} against the stack and returns what it printed. */
  private static String replay(String... args) {
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    java.io.PrintStream old = System.out;
    System.setOut(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      List<String> all = new ArrayList<>(List.of("replay", "--bootstrap", stack.bootstrapServers(), "--registry",
          stack.registryUrl(), "--set", "topic.examples.raw=" + RAW, "--set", "topic.metrics=" + RAW + ".metrics"));
      all.addAll(List.of(args));
      assertThat(new CommandLine(new Main()).execute(all.toArray(String[]::new))).isZero();
    } finally {
      System.setOut(old);
    }
    String out = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
    System.out.print(out);
    return out;
  }
}
