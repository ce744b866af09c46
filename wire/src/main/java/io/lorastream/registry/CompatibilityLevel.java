package io.lorastream.registry;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * Confluent compatibility levels. BACKWARD means a new schema can read data written with the
 * previous one; FORWARD means the previous schema can read data written with the new one; FULL is
 * both. The TRANSITIVE variants check against every earlier version instead of only the latest.
 */
public enum CompatibilityLevel {
  NONE(false, false, false),
  BACKWARD(true, false, false),
  BACKWARD_TRANSITIVE(true, false, true),
  FORWARD(false, true, false),
  FORWARD_TRANSITIVE(false, true, true),
  FULL(true, true, false),
  FULL_TRANSITIVE(true, true, true);

  private final boolean backward;
  private final boolean forward;
  private final boolean transitive;

  CompatibilityLevel(boolean backward, boolean forward, boolean transitive) {
    this.backward = backward;
    this.forward = forward;
    this.transitive = transitive;
  }

  /** The new schema must be able to read data written with the old ones. */
  public boolean backward() {
    return backward;
  }

  /** The old schemas must be able to read data written with the new one. */
  public boolean forward() {
    return forward;
  }

  /** Check against every live earlier version, not only the latest. */
  public boolean transitive() {
    return transitive;
  }

  /** Parses a level name case-insensitively; empty when the text names no level. */
  public static Optional<CompatibilityLevel> parse(String text) {
    if (text == null) {
      return Optional.empty();
    }
    String t = text.trim().toUpperCase(Locale.ROOT);
    return Arrays.stream(values()).filter(l -> l.name().equals(t)).findFirst();
  }
}
