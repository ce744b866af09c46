package io.lorastream.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;

/** Splitting a value into parts and putting it back together, including what compaction leaves behind. */
class ChunkedValuesTest {
  private static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** The records as a consumer would see them at consecutive offsets. */
  private static List<ConsumerRecord<byte[], byte[]>> consumed(List<ProducerRecord<String, byte[]>> sent, long first) {
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    for (ProducerRecord<String, byte[]> p : sent) {
      byte[] k = p.key().getBytes(StandardCharsets.UTF_8);
      out.add(new ConsumerRecord<>(p.topic(), p.partition() == null ? 0 : p.partition(), first++, 0L,
          TimestampType.CREATE_TIME, k.length, p.value() == null ? -1 : p.value().length, k, p.value(),
          new RecordHeaders(p.headers().toArray()), java.util.Optional.empty()));
    }
    return out;
  }

  @Test
  void aValueThatFitsIsOneUntouchedRecord() {
    byte[] v = bytes(100, 1);
    List<ProducerRecord<String, byte[]>> r = ChunkedValues.records("t", "a", v, 100, 3);
    assertThat(r).hasSize(1);
    assertThat(r.get(0).key()).isEqualTo("a");
    assertThat(r.get(0).value()).isSameAs(v);
    assertThat(r.get(0).headers().toArray()).isEmpty();
    ConsumerRecord<byte[], byte[]> c = consumed(r, 0).get(0);
    assertThat(new ChunkedValues.Assembler().offer(c).record()).isSameAs(c);
  }

  @Test
  void aLargeValueIsSplitIntoBoundedPartsOnTheKeysPartitionAndReassembledExactly() {
    byte[] v = bytes(10_001, 2);
    List<ProducerRecord<String, byte[]>> r = ChunkedValues.records("t", "adapter-1", v, 1000, 6);
    assertThat(r).hasSize(11);
    int want = Utils.toPositive(Utils.murmur2("adapter-1".getBytes(StandardCharsets.UTF_8))) % 6;
    assertThat(r).allSatisfy(p -> {
      assertThat(p.partition()).isEqualTo(want);
      assertThat(p.value().length).isLessThanOrEqualTo(1000);
    });
    assertThat(r.get(0).key()).isEqualTo("adapter-1/part/0");
    assertThat(r.get(10).key()).isEqualTo("adapter-1");
    assertThat(r.get(10).value()).hasSize(1);
    ChunkedValues.Assembler a = new ChunkedValues.Assembler();
    List<ConsumerRecord<byte[], byte[]>> c = consumed(r, 40);
    for (int i = 0; i < 10; i++) {
      assertThat(a.offer(c.get(i)).part()).isTrue();
    }
    ChunkedValues.Assembler.Offered whole = a.offer(c.get(10));
    assertThat(whole.record().value()).isEqualTo(v);
    assertThat(whole.record().offset()).isEqualTo(50); // the last part's position: where a reader resumes
    assertThat(ChunkedValues.valueKey("adapter-1/part/3".getBytes(StandardCharsets.UTF_8))).isEqualTo("adapter-1");
    assertThat(ChunkedValues.valueKey("adapter-1".getBytes(StandardCharsets.UTF_8))).isEqualTo("adapter-1");
    assertThat(ChunkedValues.ownerOf("x/part/")).isEmpty();
    assertThat(ChunkedValues.ownerOf("/part/1")).isEmpty();
  }

  /**
   * Compaction after v2: v1's parts are gone (v2 wrote the same part keys), v1's last part is
   * still there ahead of v2's records. v1 is reported superseded, v2 assembles.
   */
  @Test
  void anOlderLastPartWhosePartsWereCompactedAwayIsSkippedAndTheNewerOneAssembles() {
    byte[] v1 = bytes(2500, 3);
    byte[] v2 = bytes(2100, 4);
    List<ProducerRecord<String, byte[]>> r1 = ChunkedValues.records("t", "a", v1, 1000, 1);
    List<ProducerRecord<String, byte[]>> r2 = ChunkedValues.records("t", "a", v2, 1000, 1);
    List<ConsumerRecord<byte[], byte[]>> log = new ArrayList<>();
    log.add(consumed(r1, 0).get(2)); // v1's last part survived; its parts did not
    log.addAll(consumed(r2, 3));
    ChunkedValues.Assembler a = new ChunkedValues.Assembler();
    ChunkedValues.Assembler.Offered old = a.offer(log.get(0));
    assertThat(old.record()).isNull();
    assertThat(old.missing()).contains("part 0 of 3 is missing");
    assertThat(a.offer(log.get(1)).part()).isTrue();
    assertThat(a.offer(log.get(2)).part()).isTrue();
    assertThat(a.offer(log.get(3)).record().value()).isEqualTo(v2);

    // A part of another value under the same key is refused by its digest, not glued on.
    ChunkedValues.Assembler b = new ChunkedValues.Assembler();
    List<ConsumerRecord<byte[], byte[]>> c1 = consumed(r1, 0);
    List<ConsumerRecord<byte[], byte[]>> c2 = consumed(r2, 3);
    b.offer(c2.get(0));
    b.offer(c1.get(1));
    assertThat(b.offer(c1.get(2)).missing()).contains("part 0 of 3 is from another value");
    // A tombstone on a part key forgets the part.
    b.offer(c1.get(0));
    byte[] k = "a/part/0".getBytes(StandardCharsets.UTF_8);
    assertThat(b.offer(new ConsumerRecord<>("t", 0, 9, k, null)).part()).isTrue();
    assertThat(b.offer(c1.get(2)).missing()).contains("part 0 of 3 is missing");
    // The head's tombstone passes through, for the reader's deletion rules.
    ConsumerRecord<byte[], byte[]> tomb = new ConsumerRecord<>("t", 0, 10, "a".getBytes(StandardCharsets.UTF_8), null);
    assertThat(b.offer(tomb).record()).isSameAs(tomb);
  }

  @Test
  void corruptedPartsFailTheDigest() {
    byte[] v = bytes(3000, 5);
    List<ConsumerRecord<byte[], byte[]>> c = consumed(ChunkedValues.records("t", "a", v, 1000, 1), 0);
    c.get(1).value()[7] ^= 1;
    ChunkedValues.Assembler a = new ChunkedValues.Assembler();
    a.offer(c.get(0));
    a.offer(c.get(1));
    assertThat(a.offer(c.get(2)).missing()).contains("do not hash to");
  }
}
