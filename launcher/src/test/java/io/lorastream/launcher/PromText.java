package io.lorastream.launcher;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A minimal reader of the Prometheus text format, for asserting on scraped samples in tests. */
final class PromText {
  record Sample(String name, Map<String, String> labels, double value) {}

  private static final Pattern LINE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})?\\s+(\\S+)(\\s+\\d+)?");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  private final List<Sample> samples = new ArrayList<>();

  PromText(String text) {
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      Matcher m = LINE.matcher(line.trim());
      if (!m.matches()) {
        throw new IllegalArgumentException("not a Prometheus sample line: " + line);
      }
      Map<String, String> labels = new LinkedHashMap<>();
      if (m.group(3) != null) {
        Matcher l = LABEL.matcher(m.group(3));
        while (l.find()) {
          labels.put(l.group(1), l.group(2));
        }
      }
      samples.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(4))));
    }
  }

  /** Samples of {@code name} whose labels include every {@code key, value} pair given. */
  List<Sample> find(String name, String... labelPairs) {
    List<Sample> out = new ArrayList<>();
    for (Sample s : samples) {
      if (!s.name().equals(name)) {
        continue;
      }
      boolean ok = true;
      for (int i = 0; i + 1 < labelPairs.length; i += 2) {
        ok &= labelPairs[i + 1].equals(s.labels().get(labelPairs[i]));
      }
      if (ok) {
        out.add(s);
      }
    }
    return out;
  }

  /** The one matching sample's value; fails when there is none or several. */
  double value(String name, String... labelPairs) {
    List<Sample> s = find(name, labelPairs);
    if (s.size() != 1) {
      throw new AssertionError("expected one sample " + name + " " + List.of(labelPairs) + ", found " + s);
    }
    return s.get(0).value();
  }

  double sum(String name, String... labelPairs) {
    return find(name, labelPairs).stream().mapToDouble(Sample::value).sum();
  }
}
