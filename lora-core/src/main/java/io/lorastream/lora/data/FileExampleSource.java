package io.lorastream.lora.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.NoSuchElementException;

/**
 * Streams examples from a text file, one per line, without loading it whole.
 *
 * <ul>
 *   <li>{@code .csv}: {@code f1,f2,...,fd,label}; an optional first header line (non-numeric) is
 *       skipped; blank lines are ignored.
 *   <li>{@code .jsonl}, {@code .ndjson}, {@code .json}: one object per line,
 *       {@code {"features":[...],"label":n}} with an optional {@code "id"}.
 * </ul>
 *
 * The feature width is fixed by the first example; a later row with another width, a non-finite
 * value, a negative or non-integer label, or a syntax error raises {@link ExampleFormatException}
 * naming file and line, so a bad file fails loudly instead of training on garbage.
 */
public final class FileExampleSource implements ExampleSource {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private final boolean json;
  private final BufferedReader reader;
  private final String fileName;
  private int lineNo;
  private int inputSize = -1;
  private Example lookahead;

  private FileExampleSource(Path file, boolean json) throws IOException {
    this.file = file;
    this.json = json;
    this.fileName = file.getFileName().toString();
    this.reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
    try {
      lookahead = read(true);
    } catch (RuntimeException e) {
      reader.close();
      throw e;
    }
    if (lookahead == null) {
      reader.close();
      throw new ExampleFormatException(file + ": contains no examples");
    }
    inputSize = lookahead.features().length;
  }

  /** Opens a file by extension (see the class comment). */
  public static FileExampleSource open(Path file) {
    String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
    boolean json;
    if (n.endsWith(".csv")) {
      json = false;
    } else if (n.endsWith(".jsonl") || n.endsWith(".ndjson") || n.endsWith(".json")) {
      json = true;
    } else {
      throw new IllegalArgumentException(file + ": unknown data file type; use .csv or .jsonl");
    }
    try {
      return new FileExampleSource(file, json);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public int inputSize() {
    return inputSize;
  }

  @Override
  public String name() {
    return fileName;
  }

  @Override
  public boolean hasNext() {
    return lookahead != null;
  }

  @Override
  public Example next() {
    if (lookahead == null) {
      throw new NoSuchElementException(file + ": no more examples");
    }
    Example e = lookahead;
    lookahead = read(false);
    return e;
  }

  private Example read(boolean first) {
    try {
      String line;
      while ((line = reader.readLine()) != null) {
        lineNo++;
        String t = line.strip();
        if (t.isEmpty()) {
          continue;
        }
        if (!json && first && lineNo == 1 && isHeader(t)) {
          continue;
        }
        Example e = json ? parseJson(t) : parseCsv(t);
        if (inputSize >= 0 && e.features().length != inputSize) {
          throw bad("has " + e.features().length + " features, the first example had " + inputSize);
        }
        return e;
      }
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException(file + ":" + lineNo + ": read failed", e);
    }
  }

  private static boolean isHeader(String t) {
    String firstCell = t.split(",", 2)[0].strip();
    try {
      Double.parseDouble(firstCell);
      return false;
    } catch (NumberFormatException e) {
      return true;
    }
  }

  private Example parseCsv(String t) {
    String[] cells = t.split(",");
    if (cells.length < 2) {
      throw bad("needs at least one feature and a label");
    }
    float[] f = new float[cells.length - 1];
    for (int i = 0; i < f.length; i++) {
      f[i] = number(cells[i].strip(), "feature " + i);
    }
    return new Example(fileName + ":" + lineNo, f, label(cells[cells.length - 1].strip()), 0);
  }

  private Example parseJson(String t) {
    JsonNode n;
    try {
      n = JSON.readTree(t);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new ExampleFormatException(file + ":" + lineNo + ": invalid JSON: " + e.getOriginalMessage(), e);
    }
    JsonNode fs = n.get("features");
    JsonNode lb = n.get("label");
    if (fs == null || !fs.isArray() || fs.isEmpty()) {
      throw bad("needs a non-empty \"features\" array");
    }
    if (lb == null || !lb.canConvertToInt() || !lb.isIntegralNumber()) {
      throw bad("needs an integer \"label\"");
    }
    float[] f = new float[fs.size()];
    for (int i = 0; i < f.length; i++) {
      if (!fs.get(i).isNumber()) {
        throw bad("feature " + i + " is not a number");
      }
      f[i] = fs.get(i).floatValue();
      if (!Float.isFinite(f[i])) {
        throw bad("feature " + i + " is not finite");
      }
    }
    int label = lb.intValue();
    if (label < 0) {
      throw bad("label " + label + " is negative");
    }
    String id = n.hasNonNull("id") ? n.get("id").asText() : fileName + ":" + lineNo;
    return new Example(id, f, label, 0);
  }

  private float number(String s, String what) {
    try {
      float v = Float.parseFloat(s);
      if (!Float.isFinite(v)) {
        throw bad(what + " '" + s + "' is not finite");
      }
      return v;
    } catch (NumberFormatException e) {
      throw bad(what + " '" + s + "' is not a number");
    }
  }

  private int label(String s) {
    try {
      int v = Integer.parseInt(s);
      if (v < 0) {
        throw bad("label " + v + " is negative");
      }
      return v;
    } catch (NumberFormatException e) {
      throw bad("label '" + s + "' is not an integer");
    }
  }

  private ExampleFormatException bad(String why) {
    return new ExampleFormatException(file + ":" + lineNo + ": " + why);
  }

  @Override
  public void close() {
    try {
      reader.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
