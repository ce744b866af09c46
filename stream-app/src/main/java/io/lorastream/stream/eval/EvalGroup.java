package io.lorastream.stream.eval;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * The dimensions one accuracy tally is kept for: task, generator phase, the adapter version that
 * served (or {@link #UNKNOWN_VERSION} when no eligible version was known and the adapted model was
 * not scored), and the window. Comes with a compact length-prefixed binary serde for the state
 * store, because task and phase are free text and must not be split on a separator.
 */
public record EvalGroup(String task, String phase, long version, long window) {
  /** The adapted model could not be scored: its qualifying version is not known. */
  public static final long UNKNOWN_VERSION = -1;

  public static Serde<EvalGroup> serde() {
    Serializer<EvalGroup> ser = (topic, g) -> {
      if (g == null) {
        return null;
      }
      byte[] t = g.task.getBytes(StandardCharsets.UTF_8);
      byte[] p = g.phase.getBytes(StandardCharsets.UTF_8);
      return ByteBuffer.allocate(4 + t.length + 4 + p.length + 16)
          .putInt(t.length).put(t).putInt(p.length).put(p).putLong(g.version).putLong(g.window).array();
    };
    Deserializer<EvalGroup> de = (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      try {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte[] t = new byte[b.getInt()];
        b.get(t);
        byte[] p = new byte[b.getInt()];
        b.get(p);
        return new EvalGroup(new String(t, StandardCharsets.UTF_8), new String(p, StandardCharsets.UTF_8), b.getLong(), b.getLong());
      } catch (RuntimeException e) {
        throw new SerializationException("corrupt EvalGroup of " + bytes.length + " bytes", e);
      }
    };
    return Serdes.serdeFrom(ser, de);
  }
}
