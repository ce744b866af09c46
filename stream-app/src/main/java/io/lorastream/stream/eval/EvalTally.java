package io.lorastream.stream.eval;

import java.nio.ByteBuffer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Counts of one {@link EvalGroup}: examples scored, how many the adapted and the frozen model got
 * right, and the event-time span they cover. Plain counts (not ratios) so that windows, partitions
 * and restarts can be summed exactly downstream.
 */
public record EvalTally(long count, long adaptedCorrect, long frozenCorrect, long minEventTime, long maxEventTime) {
  public static final EvalTally EMPTY = new EvalTally(0, 0, 0, Long.MAX_VALUE, Long.MIN_VALUE);

  /** This tally plus one example. */
  public EvalTally plus(boolean adaptedRight, boolean frozenRight, long eventTime) {
    return new EvalTally(count + 1, adaptedCorrect + (adaptedRight ? 1 : 0), frozenCorrect + (frozenRight ? 1 : 0),
        Math.min(minEventTime, eventTime), Math.max(maxEventTime, eventTime));
  }

  public double adaptedAccuracy() {
    return count == 0 ? Double.NaN : adaptedCorrect / (double) count;
  }

  public double frozenAccuracy() {
    return count == 0 ? Double.NaN : frozenCorrect / (double) count;
  }

  public static Serde<EvalTally> serde() {
    Serializer<EvalTally> ser = (topic, t) -> t == null ? null : ByteBuffer.allocate(40)
        .putLong(t.count).putLong(t.adaptedCorrect).putLong(t.frozenCorrect).putLong(t.minEventTime).putLong(t.maxEventTime)
        .array();
    Deserializer<EvalTally> de = (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      if (bytes.length != 40) {
        throw new SerializationException("corrupt EvalTally of " + bytes.length + " bytes (expected 40)");
      }
      ByteBuffer b = ByteBuffer.wrap(bytes);
      return new EvalTally(b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong());
    };
    return Serdes.serdeFrom(ser, de);
  }
}
