package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.Prediction;
import io.lorastream.config.CommonConfig;
import io.lorastream.kafka.ChunkedValues;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.importer.BertImporter;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.peft.PeftFixture;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.text.TestTokenizers;
import io.lorastream.lora.text.TextTokenizer;
import io.lorastream.pipeline.LocalPipeline;
import io.lorastream.pipeline.RunningTrainer;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.inference.InferenceConfig;
import io.lorastream.stream.inference.InferenceService;
import io.lorastream.stream.ingest.IngestService;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.testing.LocalStackExtension;
import io.lorastream.trainer.TrainerConfig;
import io.lorastream.trainer.TrainerListener;
import io.lorastream.trainer.TrainerStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Raw text end to end on an imported encoder. A tiny random BERT is written as a Hugging Face
 * directory with BERT's real uncased tokenizer and imported (the tokenizer travels in the base
 * file). Producers send only text: examples to {@code examples.raw}, requests to
 * {@code inference.requests}. Ingest routes the text untouched, the trainer tokenizes it with the
 * base's tokenizer and trains LoRA on the word embeddings, Q and V at r=16 (about 2 MB per
 * snapshot, on an adapters topic that takes 1 MB per message, so every snapshot goes out in
 * parts), and the inference consumer tokenizes each request the same way and answers with the
 * newest version. Every answer is checked against an independent forward: the DJL LoRA model
 * (unmerged) rebuilt from the committed snapshot, on the ids the tokenizer gives for that text.
 */
class TextPipelineIT {
  @RegisterExtension static LocalStackExtension stack = new LocalStackExtension(1);

  @TempDir static Path tmp;

  private static final String TASK = "texts";
  private static final String ADAPTERS = "text-adapters";
  private static final int SEQ = 16;
  private static final int EXAMPLES = 320;
  private static final Duration LIMIT = Duration.ofSeconds(120);
  private static final String[] SPAM = {"winner", "prize", "claim", "free", "cash", "offer", "urgent", "click"};
  private static final String[] HAM = {"meeting", "tomorrow", "report", "lunch", "project", "thanks", "notes",
      "schedule"};

  @Test
  void textExamplesTrainAnImportedBertAndRawTextRequestsAreAnsweredByTheNewestAdapter() throws Exception {
    Path base = importTinyBert();
    try (Admin admin = Admin.create(new HashMap<String, Object>(stack.clientProperties()))) {
      admin.createTopics(List.of(new NewTopic(ADAPTERS, 1, (short) 1).configs(Map.of(
          TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
          TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(1024 * 1024))))).all().get();
    }
    LocalPipeline pipeline = pipeline(base).createTopics();
    CommonConfig common = pipeline.common();
    LorastreamSerdes serdes = pipeline.serdes();
    Random rnd = new Random(12);

    long finalVersion;
    List<InferenceRequest> requests = new ArrayList<>();
    List<Prediction> answers;
    try (BaseModel served = BaseModel.load(base, Device.cpu());
        InferenceService consumer = InferenceService.start(InferenceConfig.from(pipeline.config()), common, serdes,
            served);
        IngestService ingest = pipeline.startIngest()) {
      RunningTrainer running = pipeline.startTrainer(TrainerListener.NONE, "text-it-trainer");
      try {
        assertThat(ingest.awaitRunning(LIMIT)).isTrue();
        try (KafkaProducer<String, LabeledExample> p = producer(serdes.labeledExample().serializer())) {
          for (int i = 0; i < EXAMPLES; i++) {
            int label = i % 2;
            LabeledExample e = LabeledExample.newBuilder().setId("x" + i).setTask(TASK).setText(sentence(rnd, label))
                .setLabel(label).setEventTime(Instant.ofEpochMilli(i)).setSource("text-it").build();
            p.send(new ProducerRecord<>(common.catalog().examplesRaw.name(), e.getId(), e));
          }
        }
        await("the trainer read every routed text example").atMost(LIMIT)
            .failFast("the trainer failed", () -> running.trainer().failure().isPresent())
            .until(() -> {
              TrainerStatus s = running.trainer().status();
              return s.examplesSeen() >= EXAMPLES * 0.8 && s.inputLag() == 0 && s.examplesBuffered() == 0
                  && s.lastCommittedVersion() >= 2;
            });
      } finally {
        running.stop(LIMIT);
      }
      TrainerStatus end = running.trainer().status();
      assertThat(running.trainer().failure()).isEmpty();
      assertThat(end.badRecords()).as("no text example was refused").isZero();
      finalVersion = end.lastCommittedVersion();
      assertThat(consumer.subscriber().awaitVersion(TASK, finalVersion, LIMIT)).as("consumer reached v%d",
          finalVersion).isTrue();
      assertThat(consumer.subscriber().rejectedTotal()).isZero();
      assertThat(consumer.subscriber().current(TASK).engine()).isEqualTo("djl:cpu()");

      try (KafkaProducer<String, InferenceRequest> p = producer(serdes.inferenceRequest().serializer())) {
        for (int i = 0; i < 40; i++) {
          InferenceRequest r = InferenceRequest.newBuilder().setRequestId("q" + i).setTask(TASK)
              .setText(sentence(rnd, i % 2)).setLabel(i % 2).setSentAt(Instant.now()).build();
          requests.add(r);
          p.send(new ProducerRecord<>(common.catalog().inferenceRequests.name(), r.getRequestId(), r));
        }
      }
      answers = new ArrayList<>();
      var predictions = serdes.prediction().deserializer();
      await("every text request is answered").atMost(LIMIT).until(() -> {
        answers.clear();
        for (ConsumerRecord<byte[], byte[]> r : CommittedRecords.readAll(stack.clientProperties(),
            common.catalog().inferencePredictions.name())) {
          answers.add(predictions.deserialize(common.catalog().inferencePredictions.name(), r.value()));
        }
        return answers.size() >= requests.size();
      });
    }
    assertThat(answers).hasSize(requests.size());
    assertThat(answers).allSatisfy(a -> {
      assertThat(a.getError()).isNull();
      assertThat(a.getAdapterVersion()).isEqualTo(finalVersion);
    });

    // The committed snapshot, put back together from its parts, in an unmerged DJL forward.
    DecodedAdapter newest = newestSnapshot(common, serdes, base);
    assertThat(newest.version()).isEqualTo(finalVersion);
    assertThat(newest.layers()).extracting(LayerWeights::name).contains("emb", "l0.q", "l0.v");
    try (BaseModel b = BaseModel.load(base, Device.cpu());
        TextTokenizer tok = TextTokenizer.forBase(b, 0).orElseThrow();
        LoraModel m = LoraModel.of(b, newest.layers())) {
      double worst = 0;
      int correct = 0;
      Map<String, Prediction> byId = new HashMap<>();
      answers.forEach(a -> byId.put(a.getRequestId(), a));
      for (InferenceRequest r : requests) {
        List<Integer> ids = tok.encode(r.getText());
        float[] row = new float[SEQ];
        for (int i = 0; i < ids.size(); i++) {
          row[i] = ids.get(i);
        }
        double[] z = m.logits(row, 1);
        double mx = Math.max(z[0], z[1]);
        double p1 = Math.exp(z[1] - mx) / (Math.exp(z[0] - mx) + Math.exp(z[1] - mx));
        Prediction a = byId.get(r.getRequestId());
        worst = Math.max(worst, Math.abs(a.getProbabilities().get(1) - p1));
        correct += a.getPredictedClass() == r.getLabel() ? 1 : 0;
      }
      System.out.printf("text pipeline: v%d served, %d/%d requests right, worst |p - unmerged DJL| = %.2g%n",
          finalVersion, correct, requests.size(), worst);
      assertThat(worst).as("served probabilities vs the unmerged forward of the committed snapshot")
          .isLessThan(1e-4);
      assertThat(correct).as("the adapter learned the text task").isGreaterThanOrEqualTo(requests.size() * 3 / 4);
    }
  }

  /** A sentence of six words from the label's vocabulary, with two shared filler words. */
  private static String sentence(Random rnd, int label) {
    String[] words = label == 1 ? SPAM : HAM;
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 6; i++) {
      s.append(i == 2 ? "the" : i == 4 ? "and" : words[rnd.nextInt(words.length)]).append(' ');
    }
    return s.toString().trim();
  }

  /** A random tiny BERT as a Hugging Face directory with BERT's tokenizer, imported as a base file. */
  private static Path importTinyBert() throws Exception {
    ModelSpec spec = ModelSpec.bert(TestTokenizers.BERT_VOCAB, SEQ, 16, 2, 1, 32, 2, ModelSpec.POOL_MEAN, 21);
    Path dir = tmp.resolve("tiny-bert-hf");
    try (BaseModel random = BaseModel.create(spec, Device.cpu())) {
      PeftFixture.writeBase(dir, random);
    }
    Files.write(dir.resolve("tokenizer.json"), TestTokenizers.miniLm());
    Path file = tmp.resolve("tiny-bert.lsbase");
    try (BaseModel imported = BertImporter.fromHuggingFace(dir, new BertImporter.Options(0, SEQ, 2,
        ModelSpec.POOL_MEAN, 5L), "tiny-bert", Device.cpu())) {
      assertThat(imported.tokenizerJson()).as("the directory's tokenizer.json travels in the base").isPresent();
      imported.save(file);
    }
    return file;
  }

  private static DecodedAdapter newestSnapshot(CommonConfig common, LorastreamSerdes serdes, Path baseFile)
      throws Exception {
    ChunkedValues.Assembler parts = new ChunkedValues.Assembler();
    AdapterSnapshot newest = null;
    int partRecords = 0;
    for (ConsumerRecord<byte[], byte[]> raw : CommittedRecords.readAll(stack.clientProperties(), ADAPTERS)) {
      assertThat(raw.value() == null ? 0 : raw.value().length).isLessThanOrEqualTo(ChunkedValues.DEFAULT_PART_BYTES);
      if (!TASK.equals(new String(raw.key(), StandardCharsets.UTF_8))) {
        partRecords++;
      }
      ConsumerRecord<byte[], byte[]> r = parts.offer(raw).record();
      if (r != null && r.value() != null) {
        newest = serdes.adapterSnapshot().deserializer().deserialize(ADAPTERS, r.value());
      }
    }
    assertThat(partRecords).as("snapshots went out in parts").isPositive();
    try (BaseModel b = BaseModel.load(baseFile, Device.cpu())) {
      return SnapshotCodec.decode(newest, b, null);
    }
  }

  private static <V> KafkaProducer<String, V> producer(org.apache.kafka.common.serialization.Serializer<V> values) {
    Map<String, Object> p = new HashMap<>(stack.clientProperties());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(p, new StringSerializer(), values);
  }

  private static LocalPipeline pipeline(Path baseFile) {
    Map<String, String> s = new HashMap<>(stack.kafkaSettings());
    s.put(CommonConfig.REGISTRY_URL, stack.registryUrl());
    s.put("topic.adapters", ADAPTERS);
    s.put(StreamAppConfig.INGEST_APPLICATION_ID, "text-ingest");
    s.put(StreamAppConfig.INGEST_STATE_DIR, tmp.resolve("streams").toString());
    s.put(StreamAppConfig.INGEST_COMMIT_INTERVAL_MS, "100");
    s.put(StreamAppConfig.METRICS_INTERVAL_MS, "500");
    s.put(StreamAppConfig.INGEST_TASKS, TASK);
    s.put(StreamAppConfig.TASK_PREFIX + TASK + StreamAppConfig.INPUT_SIZE_SUFFIX,
        Integer.toString(TestTokenizers.BERT_VOCAB));
    s.put(StreamAppConfig.TASK_PREFIX + TASK + StreamAppConfig.CLASSES_SUFFIX, "2");
    s.put(StreamAppConfig.TASK_PREFIX + TASK + StreamAppConfig.FEATURE_KIND_SUFFIX, "tokens");
    s.put(TrainerConfig.ADAPTER_ID, TASK);
    s.put(TrainerConfig.ID, "text-trainer");
    s.put(TrainerConfig.BASE, baseFile.toString());
    s.put(TrainerConfig.DEVICE, "cpu");
    s.put(TrainerConfig.TARGETS, "emb,*.q,*.v");
    s.put(TrainerConfig.RANK_SCHEDULE, "fixed:16");
    s.put(TrainerConfig.LR, "0.02");
    s.put(TrainerConfig.PUBLISH_STEPS, "4");
    s.put(TrainerConfig.PUBLISH_MIN_INTERVAL_MS, "0");
    s.put(TrainerConfig.PUBLISH_INTERVAL_MS, "1000");
    s.put(TrainerConfig.POLL_TIMEOUT_MS, "50");
    s.put(InferenceConfig.ADAPTER_ID, TASK);
    s.put(InferenceConfig.CONSUMER_ID, "text-consumer");
    s.put(InferenceConfig.ENGINE, "djl"); // the tiny BERT would get java under auto: cover the device path end to end
    s.put(InferenceConfig.APPLICATION_ID, "text-inference");
    s.put(InferenceConfig.STATE_DIR, tmp.resolve("inference").toString());
    return LocalPipeline.of(s);
  }
}
