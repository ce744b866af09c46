package io.lorastream.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Collects what a benchmark run measured and writes it twice: {@code bench.json} (every figure
 * plus each section's detailed data: tables, profiles, GC, raw samples summaries) and
 * {@code bench.md} (the headline table, then one part per section with its tables and the
 * explanation of each missed target). The headline table is also what the command prints.
 */
final class Report {
  private final Map<String, Object> meta = new LinkedHashMap<>();
  private final List<Figure> figures = new ArrayList<>();
  private final Map<String, Object> sections = new LinkedHashMap<>();
  private final List<String[]> markdown = new ArrayList<>(); // {title, body}

  void meta(String key, Object value) {
    meta.put(key, value);
  }

  synchronized void add(Figure f) {
    figures.add(f);
  }

  List<Figure> figures() {
    return List.copyOf(figures);
  }

  /** Detailed data of one section (goes to bench.json under "sections"). */
  synchronized void section(String name, Object data) {
    sections.put(name, data);
  }

  /** A part of bench.md after the headline table. */
  synchronized void markdown(String title, String body) {
    markdown.add(new String[] {title, body});
  }

  /** The headline table as Markdown. */
  String headlineTable() {
    StringBuilder sb = new StringBuilder();
    sb.append("| # | figure | measured | reference (same run) | ratio | target | status |\n");
    sb.append("|---|---|---|---|---|---|---|\n");
    for (Figure f : figures) {
      sb.append("| ").append(f.item()).append(" | ").append(f.name()).append(" | ")
          .append(fmt(f.value())).append(' ').append(f.unit()).append(" | ")
          .append(f.reference()).append(Double.isNaN(f.referenceValue()) ? "" : ": " + fmt(f.referenceValue()) + " " + f.unit())
          .append(" | ").append(Double.isNaN(f.ratio()) ? "-" : fmtRatio(f.ratio())
              + (f.ratioNote().isEmpty() || f.ratioNote().equals("value / reference") ? "" : " (" + f.ratioNote() + ")"))
          .append(" | ").append(f.target().isEmpty() ? "-" : f.target())
          .append(" | ").append(f.status()).append(" |\n");
    }
    return sb.toString();
  }

  /** Missed targets with their measured reasons, as a Markdown list ("" when none). */
  String missedList() {
    StringBuilder sb = new StringBuilder();
    for (Figure f : figures) {
      if (Boolean.FALSE.equals(f.met())) {
        sb.append("* **").append(f.name()).append("** (target ").append(f.target()).append("): ").append(f.reason()).append('\n');
      }
    }
    return sb.toString();
  }

  void print(PrintStream out) {
    out.println();
    out.println("=== lorastream bench ===");
    out.print(headlineTable());
    String missed = missedList();
    if (!missed.isEmpty()) {
      out.println();
      out.println("Missed targets (measured reasons):");
      out.print(missed);
    }
  }

  void write(Path dir, String command) throws IOException {
    Files.createDirectories(dir);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("meta", meta);
    json.put("figures", figures.stream().map(Figure::toMap).toList());
    json.put("sections", sections);
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("bench.json").toFile(), json);
    StringBuilder md = new StringBuilder();
    md.append("# lorastream benchmark\n\n");
    md.append("Command: `").append(command).append("`  \n");
    meta.forEach((k, v) -> md.append(k).append(": ").append(v).append("  \n"));
    md.append("\nEvery reference is measured in the same run on the same machine; ratio = measured / reference unless")
        .append(" the row says otherwise.\n\n");
    md.append(headlineTable());
    String missed = missedList();
    if (!missed.isEmpty()) {
      md.append("\n## Missed targets and their measured reasons\n\n").append(missed);
    }
    for (String[] part : markdown) {
      md.append("\n## ").append(part[0]).append("\n\n").append(part[1]).append('\n');
    }
    Files.writeString(dir.resolve("bench.md"), md.toString());
    StringBuilder readme = new StringBuilder("## Performance\n\n");
    readme.append("Measured with `").append(command.replaceFirst("^lorastream", "./lorastream")).append("` on ")
        .append(meta.get("machine")).append(" (").append(meta.get("date")).append(", ").append(meta.get("gc"))
        .append("); every reference is measured in the same run; details, profiles and the FLOP formula in `")
        .append(dir).append("/bench.md`.\n\n").append(headlineTable());
    if (!missed.isEmpty()) {
      readme.append("\nMissed targets and their measured reasons:\n\n").append(missed);
    }
    Files.writeString(dir.resolve("performance-section.md"), readme.toString());
  }

  static String fmt(double v) {
    if (Double.isNaN(v)) {
      return "n/a";
    }
    double a = Math.abs(v);
    if (a >= 1e9) {
      return String.format(Locale.ROOT, "%.2fG", v / 1e9);
    }
    if (a >= 1e6) {
      return String.format(Locale.ROOT, "%.2fM", v / 1e6);
    }
    if (a >= 1e4) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    if (a >= 100) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    if (a >= 1) {
      return String.format(Locale.ROOT, "%.2f", v);
    }
    return String.format(Locale.ROOT, "%.3g", v);
  }

  static String fmtRatio(double r) {
    return r < 0.01 ? String.format(Locale.ROOT, "%.2f%%", 100 * r) : String.format(Locale.ROOT, "%.3f", r);
  }

  static String pct(double share) {
    return String.format(Locale.ROOT, "%.1f%%", 100 * share);
  }

  /** Rounds to 4 significant digits for JSON readability; NaN becomes null. */
  static Object round(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return null;
    }
    if (v == 0) {
      return 0.0;
    }
    double scale = Math.pow(10, 3 - Math.floor(Math.log10(Math.abs(v))));
    return Math.round(v * scale) / scale;
  }
}
