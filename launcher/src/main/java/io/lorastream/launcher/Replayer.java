package io.lorastream.launcher;

import io.lorastream.avro.LabeledExample;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.ExampleSource;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.serde.TrustedAvroClasses;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Produces an {@link ExampleSource} into {@code examples.raw} as Avro {@link LabeledExample}s,
 * keyed by example id, optionally paced to a rate ({@link ReplayPacer}: after a stall of more
 * than {@link #MAX_CATCH_UP_NANOS} it goes on at that rate instead of catching up). For demos and
 * robustness runs it can also mix in exact duplicates and malformed records (random bytes, wrong
 * magic byte, truncated Avro, wrong feature size, NaN, out-of-range label) so the ingest path's
 * dead-lettering and de-duplication are exercised; the returned {@link Counts} say exactly what
 * was sent, so the pipeline's counters can be reconciled against it.
 */
final class Replayer {
  static {
    TrustedAvroClasses.install(); // Avro >= 1.12.2 loads only trusted classes by name
  }

  private static final Logger log = LoggerFactory.getLogger(Replayer.class);
  /** How far behind its rate a paced replay may fall and still catch up; after a longer stall it starts over. */
  static final long MAX_CATCH_UP_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  /** What was produced: valid (first copies), duplicates and malformed records. */
  record Counts(long valid, long duplicates, long malformed) {
    long total() {
      return valid + duplicates + malformed;
    }
  }

  /** Replay options. {@code rate} is examples per second, 0 for as fast as possible. */
  record Options(String task, String topic, double rate, double duplicateFraction, double malformedFraction,
      int numClasses, long seed, long limit, String idPrefix) {
    /** Without an id prefix: ids exactly as the source has them. */
    Options(String task, String topic, double rate, double duplicateFraction, double malformedFraction, int numClasses,
        long seed, long limit) {
      this(task, topic, rate, duplicateFraction, malformedFraction, numClasses, seed, limit, "");
    }
  }

  private final Map<String, Object> producerConfig;
  private final LorastreamSerdes serdes;
  private final AtomicBoolean stop = new AtomicBoolean();

  Replayer(Map<String, String> kafkaProperties, LorastreamSerdes serdes) {
    Map<String, Object> cfg = new HashMap<>(kafkaProperties);
    cfg.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
    cfg.putIfAbsent(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    cfg.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "5");
    cfg.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "lorastream-replay");
    this.producerConfig = cfg;
    this.serdes = serdes;
  }

  /** Asks a running {@link #replay} to stop after the current record. */
  void stop() {
    stop.set(true);
  }

  Counts replay(ExampleSource source, Options o, Consumer<Counts> progress) {
    return replay(source, o, progress, e -> { });
  }

  /** As above; {@code tap} sees every valid example right after it was sent (the demo derives requests from it). */
  Counts replay(ExampleSource source, Options o, Consumer<Counts> progress, Consumer<Example> tap) {
    Serializer<LabeledExample> values = serdes.labeledExample().serializer();
    SplittableRandom rnd = new SplittableRandom(o.seed() ^ 0x5EEDL);
    long valid = 0;
    long dups = 0;
    long bad = 0;
    long start = System.nanoTime();
    long lastProgress = start;
    ReplayPacer pacer = o.rate() > 0 ? new ReplayPacer(o.rate(), start, MAX_CATCH_UP_NANOS) : null;
    List<Future<RecordMetadata>> pending = new ArrayList<>();
    try (KafkaProducer<byte[], byte[]> producer =
             new KafkaProducer<>(producerConfig, new ByteArraySerializer(), new ByteArraySerializer())) {
      while (source.hasNext() && valid < o.limit() && !stop.get()) {
        Example e = source.next();
        if (!o.idPrefix().isEmpty()) {
          e = new Example(o.idPrefix() + e.id(), e.features(), e.label(), e.phase());
        }
        LabeledExample rec = e.toLabeledExample(o.task(), source.name(), java.time.Instant.now());
        byte[] key = e.id().getBytes(StandardCharsets.UTF_8);
        byte[] value = values.serialize(o.topic(), rec);
        pending.add(producer.send(new ProducerRecord<>(o.topic(), key, value)));
        valid++;
        tap.accept(e);
        if (rnd.nextDouble() < o.duplicateFraction()) {
          pending.add(producer.send(new ProducerRecord<>(o.topic(), key, value)));
          dups++;
        }
        if (rnd.nextDouble() < o.malformedFraction()) {
          byte[] junk = malformed(rnd, rec, value, values, o);
          pending.add(producer.send(new ProducerRecord<>(o.topic(), ("bad-" + e.id()).getBytes(StandardCharsets.UTF_8), junk)));
          bad++;
        }
        if (pending.size() >= 1000) {
          awaitAll(pending);
        }
        if (pacer != null) {
          long wait = pacer.waitNanos(valid, System.nanoTime());
          if (wait > 0) {
            LockSupport.parkNanos(wait);
          }
        }
        long now = System.nanoTime();
        if (now - lastProgress > TimeUnit.SECONDS.toNanos(5)) {
          lastProgress = now;
          progress.accept(new Counts(valid, dups, bad));
        }
      }
      producer.flush();
      awaitAll(pending);
    }
    Counts c = new Counts(valid, dups, bad);
    log.info("replayed {} valid + {} duplicate + {} malformed records to {} in {} ms", valid, dups, bad, o.topic(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    return c;
  }

  /** One malformed record of a random kind, derived from a valid one. */
  private static byte[] malformed(SplittableRandom rnd, LabeledExample valid, byte[] validBytes,
      Serializer<LabeledExample> values, Options o) {
    int kind = rnd.nextInt(6);
    switch (kind) {
      case 0 -> { // random bytes
        byte[] b = new byte[1 + rnd.nextInt(64)];
        for (int i = 0; i < b.length; i++) {
          b[i] = (byte) rnd.nextInt(256);
        }
        b[0] = (byte) (b[0] == 0 ? 1 : b[0]); // never accidentally the magic byte
        return b;
      }
      case 1 -> { // wrong magic byte
        byte[] b = validBytes.clone();
        b[0] = 7;
        return b;
      }
      case 2 -> { // truncated Avro
        return java.util.Arrays.copyOf(validBytes, Math.max(6, validBytes.length / 2));
      }
      case 3 -> { // wrong feature size
        LabeledExample bad = LabeledExample.newBuilder(valid)
            .setId("bad-" + valid.getId()).setFeatures(valid.getFeatures().subList(0, valid.getFeatures().size() / 2)).build();
        return values.serialize(o.topic(), bad);
      }
      case 4 -> { // NaN feature
        List<Float> f = new ArrayList<>(valid.getFeatures());
        f.set(0, Float.NaN);
        return values.serialize(o.topic(), LabeledExample.newBuilder(valid).setId("bad-" + valid.getId()).setFeatures(f).build());
      }
      default -> { // label out of range
        return values.serialize(o.topic(), LabeledExample.newBuilder(valid)
            .setId("bad-" + valid.getId()).setLabel(o.numClasses() + 3).build());
      }
    }
  }

  private static void awaitAll(List<Future<RecordMetadata>> pending) {
    try {
      for (Future<RecordMetadata> f : pending) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while producing", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("producing to Kafka failed: " + e.getCause().getMessage(), e.getCause());
    }
    pending.clear();
  }
}
