package io.lorastream.trainer;

import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;

/**
 * Input partitions paused because a record could not be decoded while the schema registry was
 * away: the input is rewound to that record and the partition resumes after a backoff, so the
 * record is read again instead of dropped while the other partitions go on.
 */
final class PartitionPauses {
  private final TrainerInput input;
  private final long backoffNanos;
  private final Map<TopicPartition, Long> until = new HashMap<>();

  PartitionPauses(TrainerInput input, long backoffMs) {
    this.input = input;
    this.backoffNanos = TimeUnit.MILLISECONDS.toNanos(backoffMs);
  }

  /** Rewinds {@code tp} to {@code offset} and pauses it for the backoff. */
  void pauseAt(TopicPartition tp, long offset) {
    input.seek(tp, offset);
    input.pause(tp);
    until.put(tp, System.nanoTime() + backoffNanos);
  }

  void resumeExpired() {
    if (until.isEmpty()) {
      return;
    }
    long now = System.nanoTime();
    for (Iterator<Map.Entry<TopicPartition, Long>> it = until.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<TopicPartition, Long> e = it.next();
      if (now >= e.getValue()) {
        input.resume(List.of(e.getKey()));
        it.remove();
      }
    }
  }

  /** After a rewind of every partition: all read again at once. */
  void resumeAll() {
    if (!until.isEmpty()) {
      input.resume(until.keySet());
      until.clear();
    }
  }
}
