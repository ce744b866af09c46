package io.lorastream.experiment.data;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Lenient parser for the date strings of real 2001-2002 mail, built from the shapes actually found
 * in the SpamAssassin corpus rather than from RFC 2822 alone, because about 5% of its {@code Date}
 * headers are not RFC-conformant and spam forges them freely.
 *
 * <p>It reads the string as a bag of tokens instead of a fixed pattern: day-of-week (optional,
 * ignored, never checked against the date), day of month (1 or 2 digits), month name, year (2, 3
 * or 4 digits), {@code h:m[:s]} time with an optional AM/PM token, and a zone. Accepted shapes
 * include {@code Thu, 22 Aug 2002 18:26:25 +0700}, {@code 29 Aug 2002 11:19:27 -0400 (EDT)},
 * {@code Tue,  3 Sep 2002 18:17:30 EDT}, {@code 03 Jul 01 4:12:06 PM}, {@code 2002/09/14 Sat
 * 02:29:32 CDT}, {@code Sat Sep 21 08:18:08 2002} and {@code Mon, 27 May 2002 10:28:3 +0200}.
 *
 * <p>Year rules follow RFC 2822 section 4.3: two digits 00-49 mean 20xx, 50-99 mean 19xx, and a
 * three-digit year (written {@code 102} or {@code 0102} by mailers that printed {@code tm_year}
 * as-is) means 1900 + value. Zone rules: a numeric offset wins ({@code +0700}, a doubled sign
 * {@code +-0500} takes the last sign, a sign-less four-digit number after time and year such as
 * {@code 0530} is read as positive); else {@code GMT+1}; else a Windows long name ({@code Eastern
 * Daylight Time}); else an RFC 822 or common abbreviation ({@code EDT}, {@code UT}, {@code CEST}),
 * also inside a trailing comment like {@code (GMT)}; else UTC, which is what RFC 2822 prescribes
 * for an unknown zone ({@code -0000}). Trailing garbage ({@code version=2.40}) is ignored.
 *
 * <p>A date outside the plausibility window (default [1990-01-01, 2010-01-01) UTC, right for this
 * 2001-2002 corpus) is treated as unparsable, so forged 1980 or 2028 dates fall through to the next
 * fallback instead of landing at the ends of the stream.
 */
public final class MailDateParser {

  /** Inclusive lower bound of the default plausibility window. */
  public static final Instant DEFAULT_EARLIEST = Instant.parse("1990-01-01T00:00:00Z");
  /** Exclusive upper bound of the default plausibility window. */
  public static final Instant DEFAULT_LATEST = Instant.parse("2010-01-01T00:00:00Z");

  private static final String[] MONTHS = {
      "january", "february", "march", "april", "may", "june",
      "july", "august", "september", "october", "november", "december"};
  private static final String[] DAYS = {
      "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

  /** Zone abbreviations that appear without a numeric offset; US ones per RFC 822. */
  private static final Map<String, Integer> ABBREVIATIONS = Map.ofEntries(
      Map.entry("ut", 0), Map.entry("utc", 0), Map.entry("gmt", 0), Map.entry("z", 0),
      Map.entry("wet", 0), Map.entry("bst", 60), Map.entry("west", 60),
      Map.entry("cet", 60), Map.entry("met", 60), Map.entry("cest", 120), Map.entry("mest", 120),
      Map.entry("eet", 120), Map.entry("eest", 180), Map.entry("msk", 180), Map.entry("msd", 240),
      Map.entry("jst", 540), Map.entry("kst", 540), Map.entry("hkt", 480), Map.entry("sgt", 480),
      Map.entry("aest", 600), Map.entry("aedt", 660), Map.entry("nzst", 720), Map.entry("nzdt", 780),
      Map.entry("est", -300), Map.entry("edt", -240), Map.entry("cst", -360), Map.entry("cdt", -300),
      Map.entry("mst", -420), Map.entry("mdt", -360), Map.entry("pst", -480), Map.entry("pdt", -420),
      Map.entry("akst", -540), Map.entry("akdt", -480), Map.entry("hst", -600));

  /** Windows-style long zone names, longest first so "us mountain ..." wins over "mountain ...". */
  private static final List<Map.Entry<String, Integer>> LONG_NAMES = List.of(
      Map.entry("us mountain standard time", -420),
      Map.entry("w. europe standard time", 60),
      Map.entry("eastern daylight time", -240), Map.entry("eastern standard time", -300),
      Map.entry("central daylight time", -300), Map.entry("central standard time", -360),
      Map.entry("mountain daylight time", -360), Map.entry("mountain standard time", -420),
      Map.entry("pacific daylight time", -420), Map.entry("pacific standard time", -480),
      Map.entry("arabian standard time", 240), Map.entry("greenwich standard time", 0),
      Map.entry("gmt daylight time", 60), Map.entry("gmt standard time", 0));

  private static final Pattern TIME = Pattern.compile("(\\d{1,2}):(\\d{1,2})(?::(\\d{1,2}))?(?:\\.\\d+)?");
  private static final Pattern SLASH_DATE = Pattern.compile("(\\d{4})[/-](\\d{1,2})[/-](\\d{1,2})");
  private static final Pattern SIGNED_OFFSET = Pattern.compile("[+-]+(\\d{2})(\\d{2})");
  private static final Pattern GMT_OFFSET = Pattern.compile("(?:gmt|utc|ut)([+-])(\\d{1,2})(?::?(\\d{2}))?");
  private static final Pattern DIGITS = Pattern.compile("\\d+");
  private static final Pattern ALPHA = Pattern.compile("[a-z.]+");
  private static final Pattern COMMENT = Pattern.compile("\\(([^()]*)\\)");
  private static final Pattern MBOX_TAIL = Pattern.compile(
      "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\\s+"
          + "(\\d{1,2})\\s+(\\d{1,2}):(\\d{2})(?::(\\d{2}))?\\s+(\\d{4})\\s*$");

  private final Instant earliest;
  private final Instant latestExclusive;

  /** Uses the default window [1990, 2010) fitted to the SpamAssassin corpus. */
  public MailDateParser() {
    this(DEFAULT_EARLIEST, DEFAULT_LATEST);
  }

  public MailDateParser(Instant earliest, Instant latestExclusive) {
    if (!earliest.isBefore(latestExclusive)) {
      throw new IllegalArgumentException("plausible date window is empty: " + earliest + " .. " + latestExclusive);
    }
    this.earliest = earliest;
    this.latestExclusive = latestExclusive;
  }

  /** A {@code Date} header value, or empty when unparsable or outside the plausibility window. */
  public Optional<Instant> parseDateHeader(String value) {
    return parseLenient(value).filter(this::plausible);
  }

  /**
   * The timestamp of an mbox separator line {@code From addr  Tue Aug  6 11:51:02 2002} (asctime,
   * no zone, read as UTC), or empty when the line has no such tail or the date is implausible.
   */
  public Optional<Instant> parseMboxFromLine(String line) {
    if (line == null || !line.startsWith("From ")) {
      return Optional.empty();
    }
    Matcher m = MBOX_TAIL.matcher(line);
    if (!m.find()) {
      return Optional.empty();
    }
    int month = monthIndex(m.group(1).toLowerCase(Locale.ROOT));
    int sec = m.group(5) == null ? 0 : Integer.parseInt(m.group(5));
    return toInstant(Integer.parseInt(m.group(6)), month + 1, Integer.parseInt(m.group(2)),
        Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)), sec, 0)
        .filter(this::plausible);
  }

  /** True when the instant lies inside the plausibility window. */
  public boolean plausible(Instant t) {
    return !t.isBefore(earliest) && t.isBefore(latestExclusive);
  }

  /** Parses without the plausibility check; see the class comment for the accepted shapes. */
  public static Optional<Instant> parseLenient(String value) {
    if (value == null || value.isBlank()) {
      return Optional.empty();
    }
    String s = value.toLowerCase(Locale.ROOT);
    List<String> comments = new ArrayList<>();
    Matcher cm = COMMENT.matcher(s);
    StringBuilder noComments = new StringBuilder();
    while (cm.find()) {
      comments.add(cm.group(1).trim());
      cm.appendReplacement(noComments, " ");
    }
    cm.appendTail(noComments);
    s = noComments.toString();

    Integer longNameOffset = null;
    for (Map.Entry<String, Integer> e : LONG_NAMES) {
      int at = s.indexOf(e.getKey());
      if (at >= 0) {
        longNameOffset = e.getValue();
        // Removed so its "gmt" word is not read again as an abbreviation.
        s = s.substring(0, at) + " " + s.substring(at + e.getKey().length());
        break;
      }
    }

    int day = -1;
    int month = -1;
    int year = -1;
    int yearDigits = 0;
    int hour = -1;
    int minute = -1;
    int second = 0;
    int ampm = 0; // 0 none, 1 am, 2 pm
    Integer numericOffset = null;
    Integer gmtOffset = null;
    Integer abbrevOffset = null;

    for (String tok : s.split("[\\s,]+")) {
      if (tok.isEmpty()) {
        continue;
      }
      Matcher m;
      if (month < 0 && isName(tok, MONTHS)) {
        month = monthIndex(tok);
      } else if (isName(tok, DAYS)) {
        continue;
      } else if ((m = SLASH_DATE.matcher(tok)).matches() && year < 0) {
        year = Integer.parseInt(m.group(1));
        yearDigits = 4;
        month = Integer.parseInt(m.group(2)) - 1;
        day = Integer.parseInt(m.group(3));
      } else if (hour < 0 && (m = TIME.matcher(tok)).matches()) {
        hour = Integer.parseInt(m.group(1));
        minute = Integer.parseInt(m.group(2));
        second = m.group(3) == null ? 0 : Integer.parseInt(m.group(3));
      } else if (tok.equals("am") || tok.equals("a.m.")) {
        ampm = 1;
      } else if (tok.equals("pm") || tok.equals("p.m.")) {
        ampm = 2;
      } else if (numericOffset == null && (m = SIGNED_OFFSET.matcher(tok)).matches()) {
        // "+-0500" (seen in spam): the sign next to the digits is the one the mailer meant.
        int sign = tok.charAt(tok.length() - 5) == '-' ? -1 : 1;
        numericOffset = offsetMinutes(sign, m.group(1), m.group(2));
      } else if (DIGITS.matcher(tok).matches()) {
        if (tok.length() <= 2 && day < 0) {
          day = Integer.parseInt(tok);
        } else if (tok.length() <= 4 && year < 0) {
          year = Integer.parseInt(tok);
          yearDigits = tok.length();
        } else if (tok.length() == 4 && hour >= 0 && numericOffset == null) {
          numericOffset = offsetMinutes(1, tok.substring(0, 2), tok.substring(2));
        }
      } else if (gmtOffset == null && (m = GMT_OFFSET.matcher(tok)).matches()) {
        int sign = m.group(1).equals("-") ? -1 : 1;
        gmtOffset = offsetMinutes(sign, String.valueOf(Integer.parseInt(m.group(2))),
            m.group(3) == null ? "00" : m.group(3));
      } else if (abbrevOffset == null && ALPHA.matcher(tok).matches()) {
        abbrevOffset = ABBREVIATIONS.get(tok);
      }
    }
    if (abbrevOffset == null) {
      for (String c : comments) {
        Integer o = ABBREVIATIONS.get(c);
        if (o != null) {
          abbrevOffset = o;
          break;
        }
      }
    }
    if (day < 0 || month < 0 || year < 0 || hour < 0) {
      return Optional.empty();
    }
    year = normalizeYear(year, yearDigits);
    if (ampm != 0) {
      if (hour < 1 || hour > 12) {
        return Optional.empty();
      }
      hour = ampm == 2 ? (hour % 12) + 12 : hour % 12;
    }
    int offset = firstNonNull(numericOffset, gmtOffset, longNameOffset, abbrevOffset);
    return toInstant(year, month + 1, day, hour, minute, second, offset);
  }

  /** RFC 2822 section 4.3 obsolete-year rules. */
  static int normalizeYear(int year, int digits) {
    if (digits <= 2) {
      return year < 50 ? 2000 + year : 1900 + year;
    }
    if (year < 1000) {
      return 1900 + year; // three-digit year, also when zero-padded to "0102"
    }
    return year;
  }

  private static Integer offsetMinutes(int sign, String hh, String mm) {
    int h = Integer.parseInt(hh);
    int m = Integer.parseInt(mm);
    if (h > 18 || m > 59) {
      return null; // e.g. "-1900": not a real zone, so fall back to the next zone source
    }
    return sign * (h * 60 + m);
  }

  private static int firstNonNull(Integer... offsets) {
    for (Integer o : offsets) {
      if (o != null) {
        return o;
      }
    }
    return 0;
  }

  private static Optional<Instant> toInstant(int year, int month, int day, int hour, int minute, int second,
      int offsetMinutes) {
    try {
      LocalDateTime local = LocalDateTime.of(year, month, day, hour, minute, second);
      return Optional.of(local.toInstant(ZoneOffset.ofTotalSeconds(offsetMinutes * 60)));
    } catch (DateTimeException e) {
      return Optional.empty();
    }
  }

  private static boolean isName(String tok, String[] names) {
    if (tok.length() < 3) {
      return false;
    }
    String t = tok.endsWith(".") ? tok.substring(0, tok.length() - 1) : tok;
    for (String n : names) {
      if (t.length() >= 3 && n.startsWith(t)) {
        return true;
      }
    }
    return false;
  }

  private static int monthIndex(String tok) {
    String t = tok.endsWith(".") ? tok.substring(0, tok.length() - 1) : tok;
    for (int i = 0; i < MONTHS.length; i++) {
      if (MONTHS[i].startsWith(t)) {
        return i;
      }
    }
    return -1;
  }
}
