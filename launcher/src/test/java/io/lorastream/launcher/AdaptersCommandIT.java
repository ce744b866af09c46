package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.peft.PeftExport;
import io.lorastream.lora.peft.Safetensors;
import io.lorastream.lora.snapshot.AdapterDeletion;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import io.lorastream.testing.LocalStackExtension;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code lorastream adapters delete} against the embedded broker and registry: it finds the
 * newest committed version itself, writes a tombstone whose deletion headers verify under the
 * configured key (and are plain without one), and refuses when there is nothing to delete.
 */
class AdaptersCommandIT {
  @RegisterExtension
  static LocalStackExtension stack = new LocalStackExtension(1);

  private static final String KEY = "adapters-command-it-key-0123456789";

  @Test
  void deleteSignsADeletionOfTheNewestVersionAndRefusesAnUnknownAdapter() throws Exception {
    publish("cli", 3);
    publish("cli", 7);
    publish("other", 11);

    StringWriter out = new StringWriter();
    int code = run(out, "adapters", "delete", "--adapter", "cli", "--bootstrap", stack.bootstrapServers(),
        "--registry", stack.registryUrl(), "--set", "trainer.hmac.key=" + KEY);
    assertThat(code).as(out.toString()).isZero();
    assertThat(out.toString()).contains("deleted adapter cli through v7 (signed)");
    ConsumerRecord<String, byte[]> last = lastRecord("cli");
    assertThat(last.value()).isNull();
    AdapterDeletion.Verdict v = AdapterDeletion.classify("cli", last.headers(), KEY.getBytes(StandardCharsets.UTF_8));
    assertThat(v.kind()).isEqualTo(AdapterDeletion.Kind.AUTHENTIC);
    assertThat(v.through()).isEqualTo(7);
    // The signature binds the adapter id: the same headers do not delete another adapter.
    assertThat(AdapterDeletion.classify("other", last.headers(), KEY.getBytes(StandardCharsets.UTF_8)).kind())
        .isEqualTo(AdapterDeletion.Kind.FORGED);

    StringWriter unsigned = new StringWriter();
    assertThat(run(unsigned, "adapters", "delete", "--adapter", "other", "--through", "11", "--bootstrap",
        stack.bootstrapServers(), "--registry", stack.registryUrl())).as(unsigned.toString()).isZero();
    assertThat(unsigned.toString()).contains("through v11 (unsigned");
    assertThat(AdapterDeletion.classify("other", lastRecord("other").headers(), null).through()).isEqualTo(11);

    StringWriter none = new StringWriter();
    assertThat(run(none, "adapters", "delete", "--adapter", "never-published", "--bootstrap",
        stack.bootstrapServers(), "--registry", stack.registryUrl())).isEqualTo(1);
    assertThat(none.toString()).contains("no committed snapshot", "--through");
  }

  @Test
  void exportWritesTheNewestVerifiedVersionForPeft(@TempDir Path tmp) throws Exception {
    ModelSpec spec = ModelSpec.bert(40, 8, 16, 2, 2, 32, 2, ModelSpec.POOL_MEAN, 5);
    Path baseFile = tmp.resolve("bert.lsbase");
    try (BaseModel base = BaseModel.create(spec, Device.cpu())) {
      base.save(baseFile);
      for (long v = 1; v <= 2; v++) {
        try (LoraModel m = LoraModel.create(base, AdapterConfig.defaults().withRank((int) (2 * v)), DataType.FLOAT32)) {
          AdapterSnapshot s = SnapshotCodec.encode(m, SnapshotMeta.of("peft", v, "it"), KEY.getBytes(StandardCharsets.UTF_8));
          try (KafkaProducer<String, AdapterSnapshot> p = new KafkaProducer<>(new HashMap<>(stack.clientProperties()),
              new StringSerializer(), stack.serdes().adapterSnapshot().serializer())) {
            p.send(new ProducerRecord<>(stack.catalog().adapters.name(), "peft", s)).get();
          }
        }
      }
    }
    Path dir = tmp.resolve("peft");
    StringWriter out = new StringWriter();
    int code = run(out, "adapters", "export", "--adapter", "peft", "--base", baseFile.toString(), "--out", dir.toString(),
        "--bootstrap", stack.bootstrapServers(), "--registry", stack.registryUrl(), "--set", "trainer.hmac.key=" + KEY);
    assertThat(code).as(out.toString()).isZero();
    assertThat(out.toString()).contains("exported adapter peft v2", "signature verified");
    Map<String, Safetensors.Tensor> t = Safetensors.read(dir.resolve(PeftExport.WEIGHTS));
    // The default targets of an encoder are Q and V of every layer, at the version's rank 4.
    assertThat(t).hasSize(8).containsKey("base_model.model.encoder.layer.1.attention.self.value.lora_B.weight");
    assertThat(t.get("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight").shape()).containsExactly(4, 16);
    assertThat(dir.resolve(PeftExport.CONFIG)).content().contains("\"peft_type\" : \"LORA\"");

    StringWriter wrongKey = new StringWriter();
    assertThat(run(wrongKey, "adapters", "export", "--adapter", "peft", "--version", "1", "--base", baseFile.toString(),
        "--out", tmp.resolve("x").toString(), "--bootstrap", stack.bootstrapServers(), "--registry", stack.registryUrl(),
        "--set", "trainer.hmac.key=another-key-of-enough-length")).isEqualTo(2);
    assertThat(wrongKey.toString()).contains("does not verify");
    StringWriter missing = new StringWriter();
    assertThat(run(missing, "adapters", "export", "--adapter", "peft", "--version", "9", "--base", baseFile.toString(),
        "--out", tmp.resolve("y").toString(), "--bootstrap", stack.bootstrapServers(), "--registry",
        stack.registryUrl())).isEqualTo(1);
    assertThat(missing.toString()).contains("no committed version 9", "[1, 2]");
  }

  /**
   * A PEFT directory (as Python PEFT saves one, here written by the exporter with LoRA on Q, V and
   * the word embeddings at unequal ranks) is published as the adapter's next version, signed, in
   * parts when it is large; exporting that version gives back the same tensors bit for bit. A
   * directory that does not fit the base is refused and nothing is published.
   */
  @Test
  void importPublishesAPeftAdapterAsTheNextSignedVersionAndExportGivesItBackBitExactly(@TempDir Path tmp)
      throws Exception {
    ModelSpec spec = ModelSpec.bert(20_000, 8, 16, 2, 2, 32, 2, ModelSpec.POOL_MEAN, 6);
    Path baseFile = tmp.resolve("bert.lsbase");
    java.util.Random rnd = new java.util.Random(3);
    List<io.lorastream.lora.adapter.LayerWeights> layers = new java.util.ArrayList<>();
    for (String[] l : new String[][] {{"l0.q", "4", "16", "16"}, {"l1.v", "8", "16", "16"}, {"emb", "16", "20000", "16"}}) {
      int r = Integer.parseInt(l[1]);
      int in = Integer.parseInt(l[2]);
      int o = Integer.parseInt(l[3]);
      float[] a = new float[r * in];
      float[] b = new float[o * r];
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) rnd.nextGaussian();
      }
      for (int i = 0; i < b.length; i++) {
        b[i] = (float) rnd.nextGaussian() * 0.01f;
      }
      layers.add(new io.lorastream.lora.adapter.LayerWeights(l[0], r, in, o, 2f * r, io.lorastream.lora.adapter.Scaling.RSLORA,
          a, b));
    }
    Path peft = tmp.resolve("from-python");
    try (BaseModel base = BaseModel.create(spec, Device.cpu())) {
      base.save(baseFile);
      PeftExport.write(peft, spec, base.id(), layers);
    }
    String[] cluster = {"--bootstrap", stack.bootstrapServers(), "--registry", stack.registryUrl(), "--set",
        "trainer.hmac.key=" + KEY};
    for (int v = 1; v <= 2; v++) {
      StringWriter out = new StringWriter();
      int code = run(out, concat(new String[] {"adapters", "import", "--peft", peft.toString(), "--adapter", "py",
          "--base", baseFile.toString()}, cluster));
      assertThat(code).as(out.toString()).isZero();
      assertThat(out.toString()).contains("published adapter py v" + v, "3 layers", "signed", "records");
    }
    Path back = tmp.resolve("back");
    StringWriter out = new StringWriter();
    assertThat(run(out, concat(new String[] {"adapters", "export", "--adapter", "py", "--base", baseFile.toString(),
        "--out", back.toString()}, cluster))).as(out.toString()).isZero();
    assertThat(out.toString()).contains("exported adapter py v2", "signature verified");
    Map<String, Safetensors.Tensor> want = Safetensors.read(peft.resolve(PeftExport.WEIGHTS));
    Map<String, Safetensors.Tensor> got = Safetensors.read(back.resolve(PeftExport.WEIGHTS));
    assertThat(got.keySet()).isEqualTo(want.keySet());
    for (String k : want.keySet()) {
      assertThat(got.get(k).shape()).as(k).containsExactly(want.get(k).shape());
      assertThat(got.get(k).values()).as(k).containsExactly(want.get(k).values());
    }
    assertThat(back.resolve(PeftExport.CONFIG)).content().contains("\"use_rslora\" : true");

    ModelSpec other = ModelSpec.bert(20_000, 8, 32, 2, 2, 32, 2, ModelSpec.POOL_MEAN, 6);
    Path otherBase = tmp.resolve("other.lsbase");
    try (BaseModel b = BaseModel.create(other, Device.cpu())) {
      b.save(otherBase);
    }
    StringWriter refused = new StringWriter();
    assertThat(run(refused, concat(new String[] {"adapters", "import", "--peft", peft.toString(), "--adapter", "py",
        "--base", otherBase.toString()}, cluster))).isEqualTo(2);
    assertThat(refused.toString()).contains("cannot be published", "needs A [r, 32]");
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void listAndShowReadEveryAdapterAndVerifyChecksumsAndSignatures() throws Exception {
    try (BaseModel base = BaseModel.create(ModelSpec.mlp(4, List.of(6), 2, 3), Device.cpu());
        LoraModel lora = LoraModel.create(base, AdapterConfig.defaults().withRank(4))) {
      publish(SnapshotCodec.encode(lora, SnapshotMeta.of("listed", 5, "trainer-x").withProgress(12, 340),
          KEY.getBytes(StandardCharsets.UTF_8)));
    }
    publish("broken", 2); // a zero checksum

    StringWriter keyed = new StringWriter();
    assertThat(run(keyed, "adapters", "list", "--bootstrap", stack.bootstrapServers(), "--registry", stack.registryUrl(),
        "--set", "trainer.hmac.key=" + KEY)).as(keyed.toString()).isZero();
    assertThat(keyed.toString()).contains("listed | 5 | - |").contains("| trainer-x | 340 | fc0=4, head=4 |")
        .contains("checksum ok, signature ok").containsPattern("broken \\| 2 \\|.*BAD CHECKSUM")
        .containsPattern("\\d+ adapter\\(s\\) on adapters");
    StringWriter plain = new StringWriter();
    assertThat(run(plain, "adapters", "list", "--bootstrap", stack.bootstrapServers(), "--registry",
        stack.registryUrl())).isZero();
    assertThat(plain.toString()).contains("checksum ok, signature not checked (no key)");

    StringWriter show = new StringWriter();
    assertThat(run(show, "adapters", "show", "--adapter", "listed", "--bootstrap", stack.bootstrapServers(),
        "--registry", stack.registryUrl(), "--set", "trainer.hmac.key=" + KEY)).as(show.toString()).isZero();
    assertThat(show.toString()).contains("adapter listed v5 (checksum ok, signature ok)", "by trainer trainer-x: "
        + "optimizer step 12, 340 examples seen", "fc0 | 4 | 16.0 | STANDARD | 4 | 6", "head | 4 | 16.0 | STANDARD | 6 | 2");
    StringWriter missing = new StringWriter();
    assertThat(run(missing, "adapters", "show", "--adapter", "listed", "--version", "9", "--bootstrap",
        stack.bootstrapServers(), "--registry", stack.registryUrl())).isEqualTo(1);
    assertThat(missing.toString()).contains("no committed version 9 (on the topic: [5])");
  }

  @Test
  void rolloutCommandsAreAnsweredByTheControllerAndListShowsEveryVersionsState() throws Exception {
    byte[] key = KEY.getBytes(StandardCharsets.UTF_8);
    io.lorastream.config.CommonConfig common = new io.lorastream.config.CommonConfig(
        io.lorastream.config.LayeredConfig.load(io.lorastream.config.CommonConfig.DEFAULTS, null, Map.of(), Map.of(
            io.lorastream.config.CommonConfig.BOOTSTRAP, stack.bootstrapServers(),
            io.lorastream.config.CommonConfig.REGISTRY_URL, stack.registryUrl())));
    Map<String, String> rs = new HashMap<>(io.lorastream.stream.rollout.RolloutConfig.DEFAULTS);
    rs.put(io.lorastream.stream.rollout.RolloutConfig.HMAC_KEY, KEY);
    String[] cluster = {"--bootstrap", stack.bootstrapServers(), "--registry", stack.registryUrl(),
        "--set", "rollout.hmac.key=" + KEY};
    try (BaseModel base = BaseModel.create(ModelSpec.mlp(4, List.of(6), 2, 3), Device.cpu());
        io.lorastream.stream.control.RolloutController controller = io.lorastream.stream.control.RolloutController
            .start(io.lorastream.stream.rollout.RolloutConfig.from(io.lorastream.config.LayeredConfig.of(rs)), common,
                stack.serdes(), base)) {
      assertThat(controller.awaitReady(Duration.ofSeconds(30))).isTrue();
      StringWriter mode = new StringWriter();
      assertThat(run(mode, concat(new String[] {"adapters", "mode", "--adapter", "ro", "manual"}, cluster)))
          .as(mode.toString()).isZero();
      assertThat(mode.toString()).contains("ro MODE: mode set by ").contains("auto -> manual");
      try (LoraModel lora = LoraModel.create(base, AdapterConfig.defaults().withRank(2))) {
        publish(SnapshotCodec.encode(lora, SnapshotMeta.of("ro", 1, "trainer-ro"), key));
        publish(SnapshotCodec.encode(lora, SnapshotMeta.of("ro", 2, "trainer-ro"), key));
      }
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> controller.state("ro")
          .map(st -> Long.valueOf(2).equals(st.getCandidateVersion())).orElse(false));
      StringWriter promote = new StringWriter();
      assertThat(run(promote, concat(new String[] {"adapters", "promote", "--adapter", "ro", "--reason", "looks good"},
          cluster))).as(promote.toString()).isZero();
      assertThat(promote.toString()).contains("ro PROMOTE v2: looks good", "serving v2");
      StringWriter pin = new StringWriter();
      assertThat(run(pin, concat(new String[] {"adapters", "pin", "--adapter", "ro", "9"}, cluster))).isEqualTo(2);
      assertThat(pin.toString()).contains("refused: v9 is not a known version of ro");
      StringWriter unsigned = new StringWriter();
      assertThat(run(unsigned, "adapters", "unpin", "--adapter", "ro", "--bootstrap", stack.bootstrapServers(),
          "--registry", stack.registryUrl())).isEqualTo(2);
      assertThat(unsigned.toString()).contains("refused: UNSIGNED");
      StringWriter back = new StringWriter();
      assertThat(run(back, concat(new String[] {"adapters", "rollback", "--adapter", "ro", "--to", "0"}, cluster)))
          .as(back.toString()).isZero();
      assertThat(back.toString()).contains("(v2 -> v0)", "serving v0");
      // What a consumer of ro reports on the metrics topic at its interval.
      try (KafkaProducer<String, io.lorastream.avro.PipelineMetric> p = new KafkaProducer<>(
          new HashMap<>(stack.clientProperties()), new StringSerializer(), stack.serdes().pipelineMetric().serializer())) {
        p.send(new ProducerRecord<>(stack.catalog().metrics.name(), "ro", io.lorastream.avro.PipelineMetric.newBuilder()
            .setName(io.lorastream.stream.inference.InferenceMetrics.ACTIVE_VERSION).setTask("ro").setValue(0)
            .setAdapterVersion(0L).setTags(Map.of(io.lorastream.stream.inference.InferenceMetrics.TAG_CONSUMER,
                "inference-7")).setService("inference-7").setTimestamp(Instant.now()).build())).get();
      }
      StringWriter list = new StringWriter();
      assertThat(run(list, concat(new String[] {"adapters", "list"}, cluster))).as(list.toString()).isZero();
      assertThat(list.toString()).contains("ro: mode manual, serving v0").contains("v2 | rolled back | yes")
          .contains("v1 | superseded | no").containsPattern("  consumers: inference-7 v0, \\d+ s ago");
    }
    StringWriter none = new StringWriter();
    assertThat(run(none, "adapters", "promote", "--adapter", "ro", "--timeout", "PT2S", "--bootstrap",
        stack.bootstrapServers(), "--registry", stack.registryUrl())).isEqualTo(1);
    assertThat(none.toString()).contains("is a rollout controller running");
  }

  private static int run(StringWriter out, String... args) {
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(out, true));
    return cl.execute(args);
  }

  private static void publish(String adapter, long version) throws Exception {
    publish(AdapterSnapshot.newBuilder().setAdapterId(adapter).setVersion(version)
        .setTrainerId("it").setCreatedAt(Instant.now()).setBaseModelId("b").setBaseFingerprint("f")
        .setOptimizerStep(1).setExamplesSeen(1).setAlpha(16f).setScalingMode(io.lorastream.avro.ScalingMode.STANDARD)
        .setLayers(List.of()).setSourceOffsets(List.of())
        .setMetrics(Map.of()).setChecksum(ByteBuffer.wrap(new byte[32])).build());
  }

  private static void publish(AdapterSnapshot s) throws Exception {
    try (KafkaProducer<String, AdapterSnapshot> p = new KafkaProducer<>(new HashMap<>(stack.clientProperties()),
        new StringSerializer(), stack.serdes().adapterSnapshot().serializer())) {
      p.send(new ProducerRecord<>(stack.catalog().adapters.name(), s.getAdapterId(), s)).get();
    }
  }

  private static ConsumerRecord<String, byte[]> lastRecord(String adapter) {
    Map<String, Object> p = new HashMap<>(stack.clientProperties());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    String topic = stack.catalog().adapters.name();
    TopicPartition tp = new TopicPartition(topic, 0);
    ConsumerRecord<String, byte[]> last = null;
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(),
        new ByteArrayDeserializer())) {
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      long end = c.endOffsets(List.of(tp)).get(tp);
      while (c.position(tp) < end) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (adapter.equals(r.key())) {
            last = r;
          }
        }
      }
    }
    return last;
  }
}
