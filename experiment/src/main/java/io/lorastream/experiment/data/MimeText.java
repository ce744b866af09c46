package io.lorastream.experiment.data;

import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a MIME body into the human-readable text a reader would see, so the tokenizer sees words
 * rather than transfer encodings. About 10% of the corpus is multipart, 10% quoted-printable and 2%
 * base64; without decoding, a base64 spam would tokenize to nothing (its 76-char lines are dropped
 * as noise) and QP would split words at every {@code =20}.
 *
 * <p>Rules: {@code multipart/*} recurses into every part (preamble and epilogue dropped; depth
 * capped at 8 so a hostile nesting cannot recurse forever); {@code text/*} parts (and bodies
 * without a Content-Type) are decoded by their Content-Transfer-Encoding ({@code base64},
 * {@code quoted-printable}; anything else is taken as is) and charset (unknown charsets fall back
 * to ISO-8859-1, which never fails); {@code message/rfc822} recurses into the enclosed body;
 * every other type (images, attachments) contributes nothing. HTML is left in place: the tokenizer
 * strips tags from all text, because plain-text spam often carries HTML too.
 */
public final class MimeText {

  private static final int MAX_DEPTH = 8;
  private static final Pattern BOUNDARY = Pattern.compile("(?i)boundary\\s*=\\s*(?:\"([^\"]*)\"|([^\\s;]+))");
  private static final Pattern CHARSET = Pattern.compile("(?i)charset\\s*=\\s*\"?([^\\s;\"]+)");
  private static final Pattern ENCODED_WORD = Pattern.compile("=\\?([^?\\s]+)\\?([bBqQ])\\?([^?]*)\\?=");
  private static final Pattern BETWEEN_ENCODED_WORDS = Pattern.compile("(\\?=)\\s+(=\\?)");

  private MimeText() {}

  /** The readable text of an email body (see the class comment). */
  public static String bodyText(ParsedEmail email) {
    StringBuilder out = new StringBuilder();
    appendText(email.headers(), email.body(), 0, out);
    return out.toString();
  }

  /** Decodes RFC 2047 encoded-words ({@code =?iso-8859-1?Q?Hi_there?=}) in a header value. */
  public static String decodeEncodedWords(String value) {
    if (value.indexOf("=?") < 0) {
      return value;
    }
    // Whitespace between two adjacent encoded-words is not part of the text (RFC 2047, 6.2).
    String v = BETWEEN_ENCODED_WORDS.matcher(value).replaceAll("$1$2");
    Matcher m = ENCODED_WORD.matcher(v);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      Charset cs = charset(m.group(1));
      byte[] bytes = m.group(2).equalsIgnoreCase("b")
          ? base64(m.group(3)).orElse(null)
          : quotedPrintable(m.group(3).replace('_', ' '));
      String decoded = bytes == null ? m.group() : new String(bytes, cs);
      m.appendReplacement(out, Matcher.quoteReplacement(decoded));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static void appendText(MailHeaders headers, String body, int depth, StringBuilder out) {
    String contentType = headers.first("Content-Type").orElse("text/plain");
    String type = mediaType(contentType);
    if (type.startsWith("multipart/") && depth < MAX_DEPTH) {
      Optional<String> boundary = param(BOUNDARY, contentType);
      if (boundary.isPresent() && appendParts(body, boundary.get(), depth, out)) {
        return;
      }
      // Declared multipart without a usable boundary: the body is all we have.
      appendDecoded(headers, contentType, body, out);
      return;
    }
    if (type.equals("message/rfc822") && depth < MAX_DEPTH) {
      ParsedEmail inner = new EmailParser().parse(body);
      appendText(inner.headers(), inner.body(), depth + 1, out);
      return;
    }
    if (type.isEmpty() || type.startsWith("text/")) {
      appendDecoded(headers, contentType, body, out);
    }
  }

  /** Returns false when no part delimiter was found, so the caller can fall back to the raw body. */
  private static boolean appendParts(String body, String boundary, int depth, StringBuilder out) {
    String delimiter = "--" + boundary;
    String[] lines = body.split("\n", -1);
    StringBuilder part = null;
    boolean found = false;
    for (String line : lines) {
      String l = line.stripTrailing();
      if (l.equals(delimiter) || l.equals(delimiter + "--")) {
        found = true;
        if (part != null) {
          appendPart(part.toString(), depth, out);
        }
        if (l.endsWith("--") && l.length() == delimiter.length() + 2) {
          return true; // the epilogue after the close delimiter is not content
        }
        part = new StringBuilder();
      } else if (part != null) {
        part.append(line).append('\n');
      }
    }
    if (part != null && part.length() > 0) {
      appendPart(part.toString(), depth, out); // unterminated last part: keep it, it is content
    }
    return found;
  }

  private static void appendPart(String raw, int depth, StringBuilder out) {
    ParsedEmail p = new EmailParser().parse(raw);
    int before = out.length();
    appendText(p.headers(), p.body(), depth + 1, out);
    if (out.length() > before) {
      out.append('\n');
    }
  }

  private static void appendDecoded(MailHeaders headers, String contentType, String body, StringBuilder out) {
    String encoding = headers.first("Content-Transfer-Encoding").orElse("").strip().toLowerCase(Locale.ROOT);
    Charset cs = param(CHARSET, contentType).map(MimeText::charset).orElse(StandardCharsets.ISO_8859_1);
    if (encoding.equals("base64")) {
      Optional<byte[]> bytes = base64(body);
      out.append(bytes.isPresent() ? new String(bytes.get(), cs) : body);
    } else if (encoding.equals("quoted-printable")) {
      out.append(new String(quotedPrintable(body), cs));
    } else {
      out.append(body);
    }
  }

  private static String mediaType(String contentType) {
    int semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
  }

  private static Optional<String> param(Pattern p, String contentType) {
    Matcher m = p.matcher(contentType);
    if (!m.find()) {
      return Optional.empty();
    }
    String v = m.group(1) != null ? m.group(1) : m.groupCount() >= 2 ? m.group(2) : null;
    return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v);
  }

  static Charset charset(String name) {
    try {
      return Charset.forName(name.strip());
    } catch (RuntimeException e) {
      return StandardCharsets.ISO_8859_1; // "default", "default_charset", typos: bytes still map 1:1
    }
  }

  /** Lenient base64: ignores non-alphabet characters; empty if the remainder is still malformed. */
  static Optional<byte[]> base64(String s) {
    StringBuilder clean = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/') {
        clean.append(c);
      }
    }
    // Padding is recomputed: spam often truncates or over-pads, and the text before that is fine.
    int rem = clean.length() % 4;
    if (rem == 1) {
      clean.setLength(clean.length() - 1);
    } else if (rem > 1) {
      clean.append("==", 0, 4 - rem);
    }
    try {
      return Optional.of(Base64.getDecoder().decode(clean.toString()));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** Quoted-printable to bytes; characters above 0xFF (already decoded text) pass through as UTF-8. */
  static byte[] quotedPrintable(String s) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
    int n = s.length();
    int i = 0;
    while (i < n) {
      char c = s.charAt(i);
      if (c == '=') {
        if (i + 1 < n && s.charAt(i + 1) == '\n') {
          i += 2; // soft line break
          continue;
        }
        int hi = i + 1 < n ? Character.digit(s.charAt(i + 1), 16) : -1;
        int lo = i + 2 < n ? Character.digit(s.charAt(i + 2), 16) : -1;
        if (hi >= 0 && lo >= 0) {
          out.write(hi * 16 + lo);
          i += 3;
          continue;
        }
        out.write('='); // a stray '=' is literal text, as mail readers show it
        i++;
      } else if (c < 0x100) {
        out.write(c);
        i++;
      } else {
        int cp = s.codePointAt(i);
        byte[] b = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
        i += Character.charCount(cp);
      }
    }
    return out.toByteArray();
  }
}
