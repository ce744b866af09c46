package io.lorastream.bench;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.localstack.LocalCluster;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.pipeline.LocalPipeline;
import io.lorastream.serde.LorastreamSerdes;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What every benchmark section shares: the plan, the embedded cluster, the benchmark base model
 * (a 64-64-64-4 MLP saved once to a file, because the trainer loads its base from a path), one
 * serde set, the GC monitor, the report and the progress printer. It also builds the layered
 * service configuration the same way the demo does, so services run with their real defaults
 * plus only the overrides a section names.
 */
final class BenchContext {
  static final String TRAIN_TOPIC = "bench.train";
  static final String TASK = "bench";

  final BenchPlan plan;
  final LocalCluster cluster;
  final Path work;
  final Path basePath;
  final BaseModel base;
  final LorastreamSerdes serdes;
  final GcMonitor gc;
  final Report report;
  private final PrintStream console;
  private List<io.lorastream.lora.data.Example> trainExamples;
  private final Map<Integer, ExampleData.Batches> batches = new HashMap<>();
  private final long t0 = System.nanoTime();

  BenchContext(BenchPlan plan, LocalCluster cluster, Path work, Path basePath, BaseModel base, GcMonitor gc, Report report,
      PrintStream console) {
    this.plan = plan;
    this.cluster = cluster;
    this.work = work;
    this.basePath = basePath;
    this.base = base;
    this.gc = gc;
    this.report = report;
    this.console = console;
    this.serdes = LorastreamSerdes.create(Map.of("schema.registry.url", cluster.registryUrl()));
  }

  /** A timestamped progress line. */
  void progress(String format, Object... args) {
    console.printf(Locale.ROOT, "[bench %6.1fs] %s%n", (System.nanoTime() - t0) / 1e9, String.format(Locale.ROOT, format, args));
    console.flush();
  }

  /** Service settings: every module's defaults, the cluster's addresses, then {@code overrides}. */
  LocalPipeline pipeline(Map<String, String> overrides) {
    return LocalPipeline.on(cluster.bootstrapServers(), cluster.registryUrl()).setAll(overrides).build();
  }

  LayeredConfig config(Map<String, String> overrides) {
    return pipeline(overrides).config();
  }

  CommonConfig common(Map<String, String> overrides) {
    return pipeline(overrides).common();
  }

  /** Creates a topic (compacted like {@code adapters} when asked); an existing one is kept. */
  void createTopic(String name, int partitions, boolean compacted) {
    TopicCatalog.TopicSpec spec = compacted
        ? TopicCatalog.withNames(Map.of("adapters", name), partitions).adapters
        : TopicCatalog.withNames(Map.of("examples.train", name), partitions).examplesTrain;
    NewTopic t = new NewTopic(name, partitions, (short) 1).configs(spec.configs());
    try (Admin admin = Admin.create(new HashMap<String, Object>(cluster.clientProperties()))) {
      admin.createTopics(List.of(t)).all().get();
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
        throw new IllegalStateException("cannot create topic " + name + ": " + e.getCause().getMessage(), e.getCause());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted creating " + name, e);
    }
  }

  /** Producer settings of the replay tool (acks=all, idempotent, linger 5 ms) on this cluster. */
  Map<String, Object> producerConfig() {
    Map<String, Object> p = new HashMap<>(cluster.clientProperties());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-producer");
    return p;
  }

  /** Produces every record (asynchronously, flushed at the end); returns the elapsed seconds. */
  double produce(String topic, List<byte[]> keys, List<byte[]> values) {
    long t = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerConfig(), new ByteArraySerializer(),
        new ByteArraySerializer())) {
      List<Future<RecordMetadata>> pending = new ArrayList<>();
      for (int i = 0; i < values.size(); i++) {
        pending.add(p.send(new ProducerRecord<>(topic, keys.get(i), values.get(i))));
        if (pending.size() >= 5000) {
          await(pending);
        }
      }
      p.flush();
      await(pending);
    }
    return (System.nanoTime() - t) / 1e9;
  }

  static void await(List<Future<RecordMetadata>> pending) {
    try {
      for (Future<RecordMetadata> f : pending) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while producing", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("producing failed: " + e.getCause().getMessage(), e.getCause());
    }
    pending.clear();
  }

  /** The base's layers for the FLOP model, every layer adapted at rank {@code r}. */
  List<FlopModel.Layer> flopLayers(int r) {
    List<FlopModel.Layer> out = new ArrayList<>();
    for (LayerInfo l : base.linearLayers()) {
      out.add(new FlopModel.Layer(l.name(), l.in(), l.out(), r));
    }
    return out;
  }

  /**
   * The trainer input: {@code plan.trainTopicExamples} examples of task {@value #TASK}, keyed by
   * task like ingest's output (so they sit in one partition, in order), produced once on first use.
   * The returned list is in topic order, so in-memory micro-batches equal the trainer's.
   */
  synchronized List<io.lorastream.lora.data.Example> trainExamples() {
    if (trainExamples == null) {
      int n = plan.trainTopicExamples();
      progress("trainer input: producing %d examples of task %s to %s", n, TASK, TRAIN_TOPIC);
      List<io.lorastream.lora.data.Example> ex = ExampleData.generate(n, plan.seed() + 202);
      createTopic(TRAIN_TOPIC, 2, false);
      List<byte[]> values = ExampleData.serialize(ex, TASK, serdes.labeledExample().serializer(), TRAIN_TOPIC);
      byte[] key = TASK.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      List<byte[]> keys = java.util.Collections.nCopies(n, key);
      double secs = produce(TRAIN_TOPIC, keys, values);
      progress("trainer input: %d records in %.1f s", n, secs);
      trainExamples = List.copyOf(ex);
    }
    return trainExamples;
  }

  /** The trainer input grouped into micro-batches of {@code b}, built once per size. */
  synchronized ExampleData.Batches batches(int b) {
    return batches.computeIfAbsent(b, size -> ExampleData.batches(trainExamples(), size));
  }

  double elapsedSeconds() {
    return (System.nanoTime() - t0) / 1e9;
  }

  PrintStream console() {
    return console;
  }
}
