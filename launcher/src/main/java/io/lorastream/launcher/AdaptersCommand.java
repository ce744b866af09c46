package io.lorastream.launcher;

import ai.djl.Device;
import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.kafka.ChunkedValues;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.peft.PeftExport;
import io.lorastream.lora.peft.PeftImport;
import io.lorastream.lora.snapshot.AdapterDeletion;
import io.lorastream.lora.snapshot.DecodedAdapter;
import io.lorastream.lora.snapshot.SnapshotCodec;
import io.lorastream.lora.snapshot.SnapshotMeta;
import io.lorastream.lora.snapshot.SnapshotRejectedException;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.trainer.TrainerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lorastream adapters}: operations on the adapters topic of any cluster. {@code delete}
 * writes the one deletion that trainers and consumers honour when signing is on: a tombstone whose
 * headers name the deleted versions and carry an HMAC under {@code trainer.hmac.key}
 * ({@link AdapterDeletion}). Without a key the same deletion is written unsigned.
 */
@Command(name = "adapters", description = "Operate on published adapters.", subcommands = {AdaptersCommand.ListAll.class, AdaptersCommand.Show.class, AdaptersCommand.Delete.class,
    AdaptersCommand.Export.class, AdaptersCommand.Import.class, RolloutCommands.Promote.class,
    RolloutCommands.Reject.class, RolloutCommands.Rollback.class, RolloutCommands.Pin.class, RolloutCommands.Unpin.class,
    RolloutCommands.Canary.class, RolloutCommands.Mode.class})
final class AdaptersCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The {@code --timeout} every adapters command bounds its Kafka reads and writes with. */
  static final class KafkaWait {
    @Option(names = "--timeout", defaultValue = "PT30S", paramLabel = "DURATION",
        description = "How long to wait for Kafka, ISO-8601. Default: ${DEFAULT-VALUE}.")
    Duration timeout;
  }

  /** How far back {@code adapters list} looks for what each consumer reported serving. */
  static final Duration SERVED_WINDOW = Duration.ofMinutes(2);

  /** {@code adapters list}: every adapter on the topic with its newest committed version. */
  @Command(name = "list", description = {"List every adapter on the adapters topic: its newest committed version, who "
      + "trained it on how many examples, its ranks and size, and whether its checksum (and, with trainer.hmac.key, its "
      + "signature) verifies.", "Exit codes: 0 listed (also when empty), 1 Kafka or the registry failed."})
  static final class ListAll implements Callable<Integer> {
    @Mixin ServiceOptions service = new ServiceOptions();

    @Mixin KafkaWait kafkaWait = new KafkaWait();

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      Settings settings = Settings.load(service, CommonConfig.DEFAULT_ADAPTER_ID);
      PrintWriter out = spec.commandLine().getOut();
      java.util.TreeMap<String, CommittedAdapterReader.Found> all;
      try {
        all = CommittedAdapterReader.readAll(settings.common(), null, kafkaWait.timeout, "lorastream-adapters-list");
      } catch (RuntimeException e) {
        spec.commandLine().getErr().println("lorastream adapters list: could not read '"
            + settings.common().catalog().adapters.name() + "': " + e);
        return 1;
      }
      out.println("adapter | version | deleted through | created | trainer | examples | ranks | bytes | verified");
      for (Map.Entry<String, CommittedAdapterReader.Found> e : all.entrySet()) {
        CommittedAdapterReader.Found f = e.getValue();
        if (f.versions().isEmpty()) {
          out.printf(Locale.ROOT, "%s | - | %d | - | - | - | - | - | deleted%n", e.getKey(), f.deletedThrough());
          continue;
        }
        AdapterSnapshot s = f.versions().lastEntry().getValue();
        out.printf(Locale.ROOT, "%s | %d | %s | %s | %s | %,d | %s | %,d | %s%n", e.getKey(), s.getVersion(),
            f.deletedThrough() == 0 ? "-" : Long.toString(f.deletedThrough()), s.getCreatedAt(), s.getTrainerId(),
            s.getExamplesSeen(), ranks(s), SnapshotCodec.payloadBytes(s), verified(s, settings.key()));
      }
      out.printf(Locale.ROOT, "%d adapter(s) on %s%n", all.size(), settings.common().catalog().adapters.name());
      Map<String, io.lorastream.avro.RolloutState> states;
      try (io.lorastream.stream.control.RolloutClient rollouts = new io.lorastream.stream.control.RolloutClient(
          settings.common(), LorastreamSerdes.create(settings.common().registryConfig()), null, "list")) {
        states = rollouts.states(kafkaWait.timeout);
      } catch (RuntimeException e) {
        spec.commandLine().getErr().println("lorastream adapters list: could not read '"
            + settings.common().catalog().adaptersControl.name() + "': " + e);
        return 1;
      }
      Map<String, Map<String, ServedVersions.Served>> served;
      try {
        served = ServedVersions.read(settings.common(), LorastreamSerdes.create(settings.common().registryConfig()),
            SERVED_WINDOW, kafkaWait.timeout);
      } catch (RuntimeException e) {
        spec.commandLine().getErr().println("lorastream adapters list: could not read what consumers serve from '"
            + settings.common().catalog().metrics.name() + "': " + e);
        served = Map.of();
      }
      if (states.isEmpty()) {
        out.println("no rollout states on " + settings.common().catalog().adaptersControl.name()
            + " (no rollout controller has run): every consumer serves each adapter's newest version");
      }
      long now = System.currentTimeMillis();
      for (io.lorastream.avro.RolloutState st : states.values()) {
        out.println(RolloutCommands.summary(st));
        RolloutCommands.printVersions(out, st);
        Map<String, ServedVersions.Served> consumers = served.get(st.getAdapterId());
        out.println("  consumers: " + (consumers == null || consumers.isEmpty() ? "none reported in the last "
            + SERVED_WINDOW.toMinutes() + " min" : ServedVersions.describe(consumers, now)));
      }
      for (Map.Entry<String, Map<String, ServedVersions.Served>> e : served.entrySet()) {
        if (!states.containsKey(e.getKey())) {
          out.println(e.getKey() + ": no rollout state; consumers: " + ServedVersions.describe(e.getValue(), now));
        }
      }
      out.flush();
      return 0;
    }
  }

  /** {@code adapters show}: one committed version in full. */
  @Command(name = "show", description = {"Show one committed adapter version: metadata, per-layer ranks, alphas and "
      + "shapes, training metrics, the input offsets it covers and whether it verifies.",
      "Exit codes: 0 shown, 1 no such adapter or version, or Kafka failed."})
  static final class Show implements Callable<Integer> {
    // --version names an adapter version here, so the inherited -V/--version is not there; --help still is.
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Mixin ServiceOptions service = new ServiceOptions();

    @Option(names = "--adapter", required = true, paramLabel = "ID", description = "Adapter id.")
    String adapter;

    @Option(names = "--version", paramLabel = "V", description = "Version (default: the newest committed one).")
    Long version;

    @Mixin KafkaWait kafkaWait = new KafkaWait();

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      Settings settings = Settings.load(service, adapter);
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      CommittedAdapterReader.Found f;
      try {
        f = CommittedAdapterReader.read(settings.common(), adapter, kafkaWait.timeout, "lorastream-adapters-show");
      } catch (RuntimeException e) {
        err.println("lorastream adapters show: could not read the adapters topic: " + e);
        return 1;
      }
      AdapterSnapshot s = version == null ? (f.versions().isEmpty() ? null : f.versions().lastEntry().getValue())
          : f.versions().get(version);
      if (s == null) {
        err.println("lorastream adapters show: adapter '" + adapter + "' has " + (version == null ? "no committed version"
            : "no committed version " + version + " (on the topic: " + f.versions().keySet() + ")"));
        return 1;
      }
      out.printf(Locale.ROOT, "adapter %s v%d (%s)%n", s.getAdapterId(), s.getVersion(), verified(s, settings.key()));
      out.printf(Locale.ROOT, "base %s (fingerprint %s)%n", s.getBaseModelId(), s.getBaseFingerprint());
      out.printf(Locale.ROOT, "created %s by trainer %s: optimizer step %,d, %,d examples seen%n", s.getCreatedAt(),
          s.getTrainerId(), s.getOptimizerStep(), s.getExamplesSeen());
      out.printf(Locale.ROOT, "alpha %s, scaling %s, %,d bytes%n", s.getAlpha(), s.getScalingMode(),
          SnapshotCodec.payloadBytes(s));
      out.println("layer | rank | alpha | scaling | in | out");
      for (var l : s.getLayers()) {
        out.printf(Locale.ROOT, "%s | %d | %s | %s | %d | %d%n", l.getName(), l.getRank(), l.getAlpha(), l.getScaling(),
            l.getInFeatures(), l.getOutFeatures());
      }
      s.getMetrics().forEach((k, v) -> out.printf(Locale.ROOT, "metric %s = %s%n", k, v));
      s.getSourceOffsets().forEach(r -> out.printf(Locale.ROOT, "trained on %s-%d [%d, %d)%n", r.getTopic(),
          r.getPartition(), r.getFromOffset(), r.getUntilOffset()));
      out.flush();
      return 0;
    }
  }

  /** Rank per layer, compactly: {@code l0.q=16, l0.v=16} or, when all agree, {@code 12 layers at r=16}. */
  static String ranks(AdapterSnapshot s) {
    java.util.Set<Integer> distinct = new java.util.TreeSet<>();
    s.getLayers().forEach(l -> distinct.add(l.getRank()));
    if (distinct.size() == 1 && s.getLayers().size() > 3) {
      return s.getLayers().size() + " layers at r=" + distinct.iterator().next();
    }
    StringBuilder b = new StringBuilder();
    s.getLayers().forEach(l -> b.append(b.length() == 0 ? "" : ", ").append(l.getName()).append('=').append(l.getRank()));
    return b.toString();
  }

  /** Checksum and, with a key, signature status of a snapshot (no base needed). */
  static String verified(AdapterSnapshot s, byte[] key) {
    if (!java.util.Arrays.equals(SnapshotCodec.checksum(s), s.getChecksum().array())) {
      return "BAD CHECKSUM";
    }
    if (key == null) {
      return s.getSignature() == null ? "checksum ok, unsigned" : "checksum ok, signature not checked (no key)";
    }
    if (s.getSignature() == null) {
      return "checksum ok, UNSIGNED (consumers with this key reject it)";
    }
    boolean ok = java.util.Arrays.equals(SnapshotCodec.sign(s, key).getSignature().array(), s.getSignature().array());
    return ok ? "checksum ok, signature ok" : "checksum ok, BAD SIGNATURE";
  }

  /**
   * {@code adapters delete}: deletes every version of an adapter published so far. Exit 0 =
   * written, 1 = nothing to delete or Kafka failed, 2 = invalid configuration.
   */
  @Command(name = "delete", description = {"Delete an adapter: consumers fall back to the frozen base and the next trainer starts a fresh "
          + "adapter whose versions continue after the deleted ones.",
          "Stop the adapter's trainers first: a running trainer republishes on its next snapshot.",
          "With trainer.hmac.key set (--set, the config file or LORASTREAM_TRAINER_HMAC_KEY) the deletion is signed; "
              + "trainers and consumers that verify signatures ignore any other tombstone."})
  static final class Delete implements Callable<Integer> {
    @Mixin ServiceOptions service = new ServiceOptions();

    @Option(names = "--adapter", required = true, paramLabel = "ID", description = "Adapter id to delete.")
    String adapter;

    @Option(names = "--through", paramLabel = "VERSION",
        description = "Delete versions up to this one (default: the newest committed version on the topic).")
    Long through;

    @Mixin KafkaWait kafkaWait = new KafkaWait();

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      Settings settings = Settings.load(service, adapter);
      CommonConfig common = settings.common();
      byte[] key = settings.key();
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      String topic = common.catalog().adapters.name();
      if (through != null && through < 1) {
        err.println("lorastream: --through must be a version >= 1, got " + through);
        return 2;
      }
      // Read even with --through: the parts of large snapshots are deleted with them.
      var found = CommittedAdapterReader.read(common, adapter, kafkaWait.timeout, "lorastream-adapters-delete");
      long n;
      if (through != null) {
        n = through;
      } else {
        var versions = found.versions();
        n = versions.isEmpty() ? 0 : versions.lastKey();
        if (n == 0) {
          err.println("lorastream: adapter '" + adapter + "' has no committed snapshot on '" + topic
              + "': nothing to delete (give --through N to delete versions up to N anyway)");
          return 1;
        }
      }
      try (KafkaProducer<String, byte[]> producer = producer(common, "lorastream-adapters-delete", kafkaWait.timeout)) {
        for (String part : found.partKeys()) {
          producer.send(new ProducerRecord<>(topic, part, null));
        }
        RecordMetadata md = producer.send(new ProducerRecord<>(topic, null, adapter, null,
            AdapterDeletion.headers(adapter, n, key))).get();
        out.println("deleted adapter " + adapter + " through v" + n + " (" + (key == null ? "unsigned: signing is off"
            : "signed") + ") at " + md.topic() + "-" + md.partition() + "@" + md.offset());
        return 0;
      } catch (Exception e) {
        Throwable c = e.getCause() == null ? e : e.getCause();
        err.println("lorastream: could not write the deletion to '" + topic + "': " + c);
        return 1;
      }
    }
  }

  /** {@code lorastream adapters export}: one committed version, verified, in PEFT's format. */
  @Command(name = "export", description = {"Write a committed adapter version for Hugging Face PEFT "
      + "(adapter_model.safetensors + adapter_config.json) after verifying it against the base, as a consumer would.",
      "Exit codes: 0 written, 1 no such version, 2 refused (message on stderr)."})
  static final class Export implements Callable<Integer> {
    // --version names an adapter version here, so the inherited -V/--version is not there; --help still is.
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Mixin ServiceOptions service = new ServiceOptions();

    @Option(names = "--adapter", required = true, paramLabel = "ID", description = "Adapter id to export.")
    String adapter;

    @Option(names = "--version", paramLabel = "V", description = "Version to export (default: the newest committed one).")
    Long version;

    @Option(names = "--base", required = true, paramLabel = "FILE",
        description = "The base-model file the adapter was trained on (imported with 'lorastream base import').")
    Path baseFile;

    @Option(names = "--format", defaultValue = "peft", description = "Output format; only peft. Default: ${DEFAULT-VALUE}.")
    String format;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write.")
    Path outDir;

    @Mixin KafkaWait kafkaWait = new KafkaWait();

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      if (!"peft".equals(format)) {
        err.println("lorastream adapters export: --format must be peft, got " + format);
        return 2;
      }
      Settings settings = Settings.load(service, adapter);
      CommonConfig common = settings.common();
      byte[] key = settings.key();
      var versions = CommittedAdapterReader.read(common, adapter, kafkaWait.timeout, "lorastream-adapters-export").versions();
      AdapterSnapshot s = version == null ? (versions.isEmpty() ? null : versions.lastEntry().getValue())
          : versions.get(version);
      if (s == null) {
        err.println("lorastream adapters export: adapter '" + adapter + "' has no committed " + (version == null
            ? "snapshot" : "version " + version) + " on '" + common.catalog().adapters.name() + "' (versions: "
            + versions.keySet() + ")");
        return 1;
      }
      try (BaseModel base = BaseModel.load(baseFile,
          Device.cpu())) {
        DecodedAdapter d = SnapshotCodec.decode(s, base, key);
        PeftExport.write(outDir, base.spec(), base.id(), d.layers());
        out.println("exported adapter " + adapter + " v" + d.version() + " (" + d.layers().size() + " layers, ranks "
            + d.ranks() + (d.signatureVerified() ? ", signature verified" : "") + ") for PEFT to " + outDir);
        return 0;
      } catch (SnapshotRejectedException e) {
        err.println("lorastream adapters export: v" + s.getVersion() + " does not verify against " + baseFile + ": "
            + e.getMessage());
        return 2;
      } catch (IllegalArgumentException | IOException e) {
        err.println("lorastream adapters export: " + e.getMessage());
        return 2;
      }
    }
  }

  /**
   * {@code lorastream adapters import}: an adapter trained with PEFT, verified against the base and
   * published as the adapter's next version, so that it rolls out through the same topic.
   */
  @Command(name = "import", description = {"Publish an adapter saved by Hugging Face PEFT (adapter_config.json + "
      + "adapter_model.safetensors) as the next version of an adapter, after checking every tensor against the base. "
      + "Signed with trainer.hmac.key when set. Use an adapter id no trainer is training: its versions would collide.",
      "Exit codes: 0 published, 2 refused (message on stderr)."})
  static final class Import implements Callable<Integer> {
    @Mixin ServiceOptions service = new ServiceOptions();

    @Option(names = "--peft", required = true, paramLabel = "DIR", description = "Directory written by PEFT's save_pretrained.")
    Path peftDir;

    @Option(names = "--adapter", required = true, paramLabel = "ID", description = "Adapter id to publish it as.")
    String adapter;

    @Option(names = "--base", required = true, paramLabel = "FILE",
        description = "The base-model file of the Hugging Face model it was trained on (from 'lorastream base import').")
    Path baseFile;

    @Mixin KafkaWait kafkaWait = new KafkaWait();

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Settings settings = Settings.load(service, adapter);
      CommonConfig common = settings.common();
      byte[] key = settings.key();
      String topic = common.catalog().adapters.name();
      AdapterSnapshot snapshot;
      try (BaseModel base = BaseModel.load(baseFile, Device.cpu())) {
        List<LayerWeights> layers = PeftImport.read(peftDir, base.spec());
        long version = CommittedAdapterReader.read(common, adapter, kafkaWait.timeout, "lorastream-adapters-import").nextVersion();
        try (LoraModel m = LoraModel.of(base, layers)) {
          snapshot = SnapshotCodec.encode(m, SnapshotMeta.of(adapter, version, "peft-import:" + peftDir.getFileName()),
              key);
        }
        SnapshotCodec.decode(snapshot, base, key); // what every consumer will check, before it is published
      } catch (SnapshotRejectedException | IllegalArgumentException | IllegalStateException e) {
        err.println("lorastream adapters import: " + peftDir + " cannot be published: " + e.getMessage());
        return 2;
      } catch (IOException e) {
        err.println("lorastream adapters import: " + e.getMessage());
        return 2;
      }
      byte[] value = LorastreamSerdes.create(common.registryConfig()).adapterSnapshot().serializer()
          .serialize(topic, snapshot);
      try (KafkaProducer<String, byte[]> producer = producer(common, "lorastream-adapters-import", kafkaWait.timeout)) {
        var records = ChunkedValues.records(topic, adapter, value, ChunkedValues.DEFAULT_PART_BYTES,
            producer.partitionsFor(topic).size());
        RecordMetadata md = null;
        for (var r : records) {
          md = producer.send(r).get();
        }
        out.println("published adapter " + adapter + " v" + snapshot.getVersion() + " from " + peftDir + " ("
            + snapshot.getLayers().size() + " layers, " + value.length + " bytes in " + records.size() + " record"
            + (records.size() == 1 ? "" : "s") + ", " + (key == null ? "unsigned: signing is off" : "signed") + ") at "
            + md.topic() + "-" + md.partition() + "@" + md.offset());
        return 0;
      } catch (Exception e) {
        Throwable c = e.getCause() == null ? e : e.getCause();
        err.println("lorastream adapters import: could not write to '" + topic + "': " + c);
        return 2;
      }
    }
  }

  /**
   * The producer of the commands that write to the adapters topic: every send acknowledged by all
   * replicas, idempotent (a large snapshot's parts stay in order, the last one after them), and
   * every wait bounded by {@code --timeout}.
   */
  private static KafkaProducer<String, byte[]> producer(CommonConfig common, String clientId, Duration timeout) {
    Map<String, Object> p = new HashMap<>(common.kafkaProperties());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(timeout.toMillis()));
    long request = Math.max(1_000, Math.min(timeout.toMillis(), 30_000));
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(request));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(timeout.toMillis(), request + 1_000)));
    return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
  }

  /** The settings every adapters command reads: the cluster and the trainer's signing key. */
  private record Settings(CommonConfig common, byte[] key) {
    static Settings load(ServiceOptions service, String adapter) {
      Map<String, String> defaults = new HashMap<>(CommonConfig.DEFAULTS);
      defaults.putAll(TrainerConfig.DEFAULTS);
      LayeredConfig cfg = service.load(defaults, Map.of(TrainerConfig.ADAPTER_ID, adapter));
      return new Settings(new CommonConfig(cfg), TrainerConfig.from(cfg).hmacKey().orElse(null));
    }
  }
}
