package io.lorastream.experiment.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The RFC 822 header block of one email (or one MIME part): unfolded fields in their original
 * order, looked up by case-insensitive name. Kept order matters because some fields repeat
 * ({@code Received}) and the first occurrence of a field is the one a mail reader shows.
 */
public final class MailHeaders {

  /** One unfolded header field; {@code name} keeps its original spelling. */
  public record Field(String name, String value) {}

  private final List<Field> fields;

  private MailHeaders(List<Field> fields) {
    this.fields = List.copyOf(fields);
  }

  /** No fields at all. */
  public static MailHeaders empty() {
    return new MailHeaders(List.of());
  }

  /**
   * Parses header lines (no line terminators). A line starting with space or tab continues the
   * previous field; continuation whitespace collapses to one space. Lines that are neither a
   * {@code Name: value} field nor a continuation (mbox {@code >From} quoting, junk) are skipped:
   * they carry no field, and dropping them is safer than ending the header block early.
   */
  public static MailHeaders parse(List<String> lines) {
    List<Field> out = new ArrayList<>();
    String name = null;
    StringBuilder value = null;
    for (String line : lines) {
      if (!line.isEmpty() && (line.charAt(0) == ' ' || line.charAt(0) == '\t')) {
        if (value != null) {
          value.append(' ').append(line.strip());
        }
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0 || !isFieldName(line, colon)) {
        continue;
      }
      if (name != null) {
        out.add(new Field(name, value.toString().strip()));
      }
      name = line.substring(0, colon);
      value = new StringBuilder(line.substring(colon + 1));
    }
    if (name != null) {
      out.add(new Field(name, value.toString().strip()));
    }
    return new MailHeaders(out);
  }

  /** The value of the first field with this name (case-insensitive). */
  public Optional<String> first(String name) {
    for (Field f : fields) {
      if (f.name().equalsIgnoreCase(name)) {
        return Optional.of(f.value());
      }
    }
    return Optional.empty();
  }

  /** Values of every field with this name, in order. */
  public List<String> all(String name) {
    List<String> out = new ArrayList<>();
    for (Field f : fields) {
      if (f.name().equalsIgnoreCase(name)) {
        out.add(f.value());
      }
    }
    return out;
  }

  /** All fields in order. */
  public List<Field> fields() {
    return fields;
  }

  public int size() {
    return fields.size();
  }

  private static boolean isFieldName(String line, int colon) {
    for (int i = 0; i < colon; i++) {
      char c = line.charAt(i);
      if (c <= ' ' || c > '~') {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return "MailHeaders" + fields.stream().map(f -> f.name().toLowerCase(Locale.ROOT)).toList();
  }
}
