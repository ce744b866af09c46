package io.lorastream.experiment.data;

import java.util.Optional;

/**
 * One email split into its parts: the optional mbox separator line, the header block and the raw
 * (still MIME-encoded) body. Produced by {@link EmailParser#parse(String)}.
 *
 * @param mboxFromLine the leading {@code From addr  date} line, or {@code null} when absent
 * @param headers the unfolded header fields
 * @param body everything after the first blank line, with {@code \n} line ends
 */
public record ParsedEmail(String mboxFromLine, MailHeaders headers, String body) {

  public ParsedEmail {
    if (headers == null || body == null) {
      throw new IllegalArgumentException("headers and body are required (body may be empty)");
    }
  }

  /** The first Subject header, decoded from RFC 2047 encoded-words; empty if absent. */
  public String subject() {
    return headers.first("Subject").map(MimeText::decodeEncodedWords).orElse("");
  }

  public Optional<String> mboxLine() {
    return Optional.ofNullable(mboxFromLine);
  }
}
