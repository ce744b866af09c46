package io.lorastream.lora.data;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

/**
 * A finite, ordered supply of labeled examples: the drift generator, a CSV/JSONL file, or a list.
 * Pretraining and replay read through this one interface. Close file-backed sources.
 */
public interface ExampleSource extends Iterator<Example>, AutoCloseable {

  /** Feature width every example of this source has. */
  int inputSize();

  /** Short description for logs, e.g. the file name or "rotating-subspace". */
  String name();

  @Override
  default void close() {}

  /** Opens a CSV ({@code features...,label}) or JSONL ({@code {"features":[...],"label":n}}) file. */
  static ExampleSource open(Path file) {
    return FileExampleSource.open(file);
  }

  /** A source over an in-memory list. */
  static ExampleSource of(String name, List<Example> examples) {
    if (examples.isEmpty()) {
      throw new IllegalArgumentException("example list '" + name + "' is empty");
    }
    int d = examples.get(0).features().length;
    Iterator<Example> it = examples.iterator();
    return new ExampleSource() {
      @Override
      public int inputSize() {
        return d;
      }

      @Override
      public String name() {
        return name;
      }

      @Override
      public boolean hasNext() {
        return it.hasNext();
      }

      @Override
      public Example next() {
        return it.next();
      }
    };
  }
}
