package io.lorastream.trainer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes the figures of a reliability IT to {@code target/reliability/<name>} as a small JSON
 * object, so that the README's "Reliability" section can quote the numbers of a real run. Values
 * are numbers, strings or nested maps of those; no JSON library is needed for that.
 */
final class ReliabilityReport {
  private ReliabilityReport() {
  }

  static Path write(String name, Map<String, ?> figures) {
    Path dir = Path.of(System.getProperty("basedir", ".")).resolve("target").resolve("reliability");
    try {
      Files.createDirectories(dir);
      Path file = dir.resolve(name);
      Files.writeString(file, json(figures, "") + "\n", StandardCharsets.UTF_8);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the reliability report " + name, e);
    }
  }

  static String json(Object v, String indent) {
    if (v instanceof Map<?, ?> m) {
      StringBuilder sb = new StringBuilder("{\n");
      int i = 0;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        sb.append(indent).append("  ").append(quote(String.valueOf(e.getKey()))).append(": ")
            .append(json(e.getValue(), indent + "  ")).append(++i < m.size() ? ",\n" : "\n");
      }
      return sb.append(indent).append('}').toString();
    }
    if (v instanceof Number || v instanceof Boolean) {
      return String.valueOf(v);
    }
    return quote(String.valueOf(v));
  }

  private static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }
}
