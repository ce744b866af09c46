package io.lorastream.launcher;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.snapshot.AdapterDeletion;
import io.lorastream.registry.RegistryException;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.trainer.TrainerConfig;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
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
@Command(name = "adapters", description = "Operate on published adapters.", subcommands = AdaptersCommand.Delete.class)
final class AdaptersCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
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

    @Option(names = "--timeout", defaultValue = "PT30S", paramLabel = "DURATION",
        description = "How long to wait for Kafka, ISO-8601. Default: ${DEFAULT-VALUE}.")
    Duration timeout;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      Map<String, String> defaults = new HashMap<>(CommonConfig.DEFAULTS);
      defaults.putAll(TrainerConfig.DEFAULTS);
      LayeredConfig cfg = service.load(defaults, Map.of(TrainerConfig.ADAPTER_ID, adapter));
      CommonConfig common = new CommonConfig(cfg);
      byte[] key = TrainerConfig.from(cfg).hmacKey().orElse(null);
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      String topic = common.catalog().adapters.name();
      long n;
      if (through != null) {
        if (through < 1) {
          err.println("lorastream: --through must be a version >= 1, got " + through);
          return 2;
        }
        n = through;
      } else {
        n = newestVersion(common, topic);
        if (n == 0) {
          err.println("lorastream: adapter '" + adapter + "' has no committed snapshot on '" + topic
              + "': nothing to delete (give --through N to delete versions up to N anyway)");
          return 1;
        }
      }
      Map<String, Object> p = new HashMap<>(common.kafkaProperties());
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      p.put(ProducerConfig.CLIENT_ID_CONFIG, "lorastream-adapters-delete");
      p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(timeout.toMillis()));
      long request = Math.max(1_000, Math.min(timeout.toMillis(), 30_000));
      p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(request));
      p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(timeout.toMillis(), request + 1_000)));
      try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
          new ByteArraySerializer())) {
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

    /** The highest version of the adapter among its committed snapshots (0 when none). */
    private long newestVersion(CommonConfig common, String topic) {
      Map<String, Object> p = new HashMap<>(common.kafkaProperties());
      p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
      p.put(ConsumerConfig.CLIENT_ID_CONFIG, "lorastream-adapters-delete");
      p.remove(ConsumerConfig.GROUP_ID_CONFIG);
      Deserializer<AdapterSnapshot> d = LorastreamSerdes.create(common.registryConfig()).adapterSnapshot()
          .deserializer();
      long newest = 0;
      try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
          new ByteArrayDeserializer())) {
        List<TopicPartition> tps = c.partitionsFor(topic, timeout).stream()
            .map(i -> new TopicPartition(topic, i.partition())).toList();
        c.assign(tps);
        c.seekToBeginning(tps);
        Map<TopicPartition, Long> end = c.endOffsets(tps, timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
          if (System.nanoTime() > deadline) {
            throw new TimeoutException("could not read '" + topic + "' within "
                + timeout);
          }
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
            if (r.key() == null || r.value() == null || !adapter.equals(new String(r.key(), StandardCharsets.UTF_8))) {
              continue;
            }
            try {
              newest = Math.max(newest, d.deserialize(topic, r.headers(), r.value()).getVersion());
            } catch (RuntimeException e) {
              if (RegistryException.isOutage(e)) {
                throw e; // cannot tell the versions without the registry: do not guess
              }
            }
          }
        }
      }
      return newest;
    }
  }
}
