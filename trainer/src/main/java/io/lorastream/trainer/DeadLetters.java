package io.lorastream.trainer;

import io.lorastream.kafka.DlqHeaders;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bad input records waiting for the snapshot transaction that claims their offsets, which sends
 * them to {@code examples.dlq}: so each is dead-lettered exactly once, like the counts, however
 * often a rollback makes the trainer read it again.
 */
final class DeadLetters {
  private static final Logger log = LoggerFactory.getLogger(AdapterTrainer.class);

  private final String adapterId;
  private final String dlqTopic;
  /** In offset order per partition. */
  private final List<Letter> waiting = new ArrayList<>();
  /** Bad records met by this instance (log lines only; re-reads after a rollback count again). */
  private long metThisRun;

  DeadLetters(String adapterId, String dlqTopic) {
    this.adapterId = adapterId;
    this.dlqTopic = dlqTopic;
  }

  void add(TopicPartition tp, ConsumerRecord<byte[], byte[]> r, String code, String detail) {
    metThisRun++;
    String reason = code + ": " + DlqHeaders.brief(detail);
    waiting.add(new Letter(tp, r.offset(), new ProducerRecord<>(dlqTopic, null,
        r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8), r.value(),
        DlqHeaders.deadLetter(r.headers(), code, reason, tp.topic(), tp.partition(), r.offset(), null))));
    if (metThisRun <= 20 || metThisRun % 1000 == 0) {
      log.warn("adapter {}: dead-lettered bad record {}@{} to {} ({}); {} bad records so far", adapterId, tp,
          r.offset(), dlqTopic, reason, metThisRun);
    }
  }

  /** Takes the letters below the cut's offsets: the transaction of that cut sends them. */
  List<ProducerRecord<String, byte[]>> claim(Map<TopicPartition, Long> untilOffsets) {
    List<ProducerRecord<String, byte[]>> claimed = new ArrayList<>();
    for (Iterator<Letter> it = waiting.iterator(); it.hasNext(); ) {
      Letter d = it.next();
      Long until = untilOffsets.get(d.partition());
      if (until != null && d.offset() < until) {
        claimed.add(d.record());
        it.remove();
      }
    }
    return claimed;
  }

  /** After a rewind: the records are read again and dead-lettered by a later cut. */
  void clear() {
    waiting.clear();
  }

  private record Letter(TopicPartition partition, long offset, ProducerRecord<String, byte[]> record) {
  }
}
