package io.lorastream.experiment.data;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Splits a raw email from the SpamAssassin corpus into mbox line, headers and body, and decides
 * the email's own timestamp. The stream order of the whole experiment rests on that timestamp.
 *
 * <p><b>Date fallback order</b> (each step counted by {@link DateSource} in the dataset summary):
 * <ol>
 *   <li>{@link DateSource#DATE_HEADER}: the first {@code Date} header that {@link MailDateParser}
 *       can read and that lies in the plausible window (default 1990-2010; forged 1980 and 2028
 *       dates in spam are rejected here);
 *   <li>{@link DateSource#MBOX_FROM_LINE}: the timestamp of the leading mbox {@code From } line,
 *       written by the collecting mail system at delivery (asctime, no zone, read as UTC);
 *   <li>{@link DateSource#INHERITED}: neither is usable, so the email keeps its corpus position: it
 *       takes the time of the previous email of its group in {@code file_list.json} order (the
 *       corpus files are numbered in arrival order), or the earliest time of its group when it is
 *       the group's first. This step needs the neighbours, so {@link SpamDataset} applies it;
 *       {@link #ownDate(ParsedEmail)} returns empty for such an email.
 * </ol>
 *
 * <p>Headers end at the first blank (empty or whitespace-only) line; CRLF and CR are normalised to
 * LF first. An email without a blank line is all headers and has an empty body.
 */
public final class EmailParser {

  /** An email's own timestamp and where it came from (never {@link DateSource#INHERITED}). */
  public record OwnDate(Instant time, DateSource source) {}

  private final MailDateParser dates;

  /** Uses the default plausibility window of {@link MailDateParser}. */
  public EmailParser() {
    this(new MailDateParser());
  }

  public EmailParser(MailDateParser dates) {
    this.dates = dates;
  }

  /** Splits a raw email; never fails (a garbage email yields few or no headers). */
  public ParsedEmail parse(String raw) {
    String text = raw.indexOf('\r') >= 0 ? raw.replace("\r\n", "\n").replace('\r', '\n') : raw;
    int pos = 0;
    String mbox = null;
    if (text.startsWith("From ")) {
      int nl = text.indexOf('\n');
      mbox = nl < 0 ? text : text.substring(0, nl);
      pos = nl < 0 ? text.length() : nl + 1;
    }
    List<String> headerLines = new ArrayList<>();
    String body = "";
    while (pos < text.length()) {
      int nl = text.indexOf('\n', pos);
      String line = nl < 0 ? text.substring(pos) : text.substring(pos, nl);
      pos = nl < 0 ? text.length() : nl + 1;
      if (line.isBlank()) {
        body = text.substring(pos);
        break;
      }
      headerLines.add(line);
    }
    return new ParsedEmail(mbox, MailHeaders.parse(headerLines), body);
  }

  /** Steps 1 and 2 of the fallback order; empty means the dataset must apply step 3. */
  public Optional<OwnDate> ownDate(ParsedEmail email) {
    Optional<Instant> header = headerDate(email);
    if (header.isPresent()) {
      return Optional.of(new OwnDate(header.get(), DateSource.DATE_HEADER));
    }
    return fromLineDate(email).map(t -> new OwnDate(t, DateSource.MBOX_FROM_LINE));
  }

  /** The first usable {@code Date} header (later duplicates are tried if the first is unusable). */
  public Optional<Instant> headerDate(ParsedEmail email) {
    for (String v : email.headers().all("Date")) {
      Optional<Instant> t = dates.parseDateHeader(v);
      if (t.isPresent()) {
        return t;
      }
    }
    return Optional.empty();
  }

  /** The mbox {@code From } line's timestamp, if there is a line and it is plausible. */
  public Optional<Instant> fromLineDate(ParsedEmail email) {
    return email.mboxLine().flatMap(dates::parseMboxFromLine);
  }
}
