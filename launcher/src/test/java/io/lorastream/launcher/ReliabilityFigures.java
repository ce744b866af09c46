package io.lorastream.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes the figures of a pipeline-level reliability IT to
 * {@code launcher/target/reliability/<name>} as indented JSON, next to the trainer's
 * {@code trainer/target/reliability/*.json}, so that the README's "Reliability" section can
 * quote the numbers of a real run instead of numbers someone typed.
 */
final class ReliabilityFigures {
  private ReliabilityFigures() {
  }

  static Path write(String name, Map<String, ?> figures) {
    Path dir = Path.of(System.getProperty("basedir", ".")).resolve("target").resolve("reliability");
    try {
      Files.createDirectories(dir);
      Path file = dir.resolve(name);
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), figures);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the reliability figures " + name, e);
    }
  }

  static double seconds(long sinceNanos) {
    return Math.round((System.nanoTime() - sinceNanos) / 1e8) / 10.0;
  }
}
