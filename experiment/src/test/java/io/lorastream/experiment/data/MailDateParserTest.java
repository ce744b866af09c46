package io.lorastream.experiment.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One row per distinct Date-header shape found by grepping the real corpus (npm package 0.2.3);
 * the inputs are copied verbatim from emails, the expected instants computed by hand from the
 * local time and the offset the shape means.
 */
class MailDateParserTest {

  private final MailDateParser parser = new MailDateParser();

  static Stream<Arguments> corpusShapes() {
    return Stream.of(
        // RFC 2822 with numeric zone, 1- and 2-digit day, with and without day-of-week
        Arguments.of("Thu, 22 Aug 2002 09:15:25 -0400", "2002-08-22T13:15:25Z"),
        Arguments.of("Thu, 22 Aug 2002 18:26:25 +0700", "2002-08-22T11:26:25Z"),
        Arguments.of("Sun, 1 Sep 2002 20:43:51 -0700", "2002-09-02T03:43:51Z"),
        Arguments.of("29 Aug 2002 11:19:27 -0400", "2002-08-29T15:19:27Z"),
        Arguments.of("2 Sep 2002 20:38:34 -0700", "2002-09-03T03:38:34Z"),
        Arguments.of("Wed,29 May 2002 17:51:47 +0800", "2002-05-29T09:51:47Z"),
        Arguments.of("         Wed, 24 Jul 2002 16:57:11 -0400", "2002-07-24T20:57:11Z"),
        // trailing comments: zone names and junk
        Arguments.of("Thu, 29 Aug 2002 08:32:08 -0700 (PDT)", "2002-08-29T15:32:08Z"),
        Arguments.of("Tue,  3 Sep 2002 18:17:30 -0400 (EDT)", "2002-09-03T22:17:30Z"),
        Arguments.of("Sat, 10 Aug 2002 05:47:31 +1000 (EST)", "2002-08-09T19:47:31Z"),
        Arguments.of("Thu, 25 Jul 2002 12:23:18 -1000 (HST)", "2002-07-25T22:23:18Z"),
        Arguments.of("Thu,  2 Aug 2001 00:35:39 +0000 (Eire)", "2001-08-02T00:35:39Z"),
        Arguments.of("Fri, 30 Aug 2002 09:03:43 -0500 (added by postmaster@emailcluster.terra.com.mx)",
            "2002-08-30T14:03:43Z"),
        Arguments.of("Mon, 16 Sep 2002 03:27:38 (GMT)", "2002-09-16T03:27:38Z"),
        // named zones only
        Arguments.of("Thu, 19 Sep 2002 09:39:00 EDT", "2002-09-19T13:39:00Z"),
        Arguments.of("Tue, 17 Sep 2002 09:15:32 PST", "2002-09-17T17:15:32Z"),
        Arguments.of("Sun, 29 Sep 2002 07:03:02 PDT", "2002-09-29T14:03:02Z"),
        Arguments.of("Sun, 25 Aug 2002 16:50:54 UT", "2002-08-25T16:50:54Z"),
        Arguments.of("Thu, 22 Aug 2002 18:57:35 GMT", "2002-08-22T18:57:35Z"),
        Arguments.of("Fri, 23 Aug 2002 22:46:34 GMT+1", "2002-08-23T21:46:34Z"),
        Arguments.of("Fri, 30 Aug 02 21:48:08 Eastern Daylight Time", "2002-08-31T01:48:08Z"),
        Arguments.of("Sun, 26 May 2002 20:43:57 Eastern Daylight Time", "2002-05-27T00:43:57Z"),
        Arguments.of("Tue, 28 May 02 01:25:09 GMT Daylight Time", "2002-05-28T00:25:09Z"),
        Arguments.of("Sat, 21 Sep 02 05:01:06 Greenwich Standard Time", "2002-09-21T05:01:06Z"),
        Arguments.of("Sat, 13 Apr 02 18:49:02 Arabian Standard Time", "2002-04-13T14:49:02Z"),
        Arguments.of("Mon, 22 Jul 2002 12:37:15 US Mountain Standard Time", "2002-07-22T19:37:15Z"),
        // two-digit and three-digit ("0102", tm_year printed raw) years
        Arguments.of("Fri, 29 Jun 01 01:03:58 EST", "2001-06-29T06:03:58Z"),
        Arguments.of("22 Sep 02 15:51:31 -0000", "2002-09-22T15:51:31Z"),
        Arguments.of("Thu, 22 Aug 0102 12:07:35 +0800", "2002-08-22T04:07:35Z"),
        // 12-hour clocks
        Arguments.of("03 Jul 01 4:12:06 PM", "2001-07-03T16:12:06Z"),
        Arguments.of("27 Jun 01 3:36:25 AM", "2001-06-27T03:36:25Z"),
        Arguments.of("03 Jul 01 12:47:50 AM", "2001-07-03T00:47:50Z"),
        Arguments.of("28 Jun 01 10:05:15 PM", "2001-06-28T22:05:15Z"),
        Arguments.of("Tue, 06 Aug 2002 06:50:21 PM -0400", "2002-08-06T22:50:21Z"),
        // odd times: no seconds, one-digit fields
        Arguments.of("Fri, 23 Aug 2002 07:26 -0400", "2002-08-23T11:26:00Z"),
        Arguments.of("Mon, 2 Dec 2002 15:51 -0800", "2002-12-02T23:51:00Z"),
        Arguments.of("Mon, 27 May 2002 10:28:3 +0200", "2002-05-27T08:28:03Z"),
        Arguments.of("Sat, 8 Jun 2002 1:5:13 +-0500", "2002-06-08T06:05:13Z"),
        // malformed zones
        Arguments.of("Thu, 29 Aug 2002 15:36:58 +-0500", "2002-08-29T20:36:58Z"),
        Arguments.of("Fri, 02 Aug 2002 23:37:59 0530", "2002-08-02T18:07:59Z"),
        Arguments.of("Sun, 25 Aug 2002 19:21:44 01800", "2002-08-25T19:21:44Z"),
        Arguments.of("Tue, 21 May 2002 18:55:49 -1900", "2002-05-21T18:55:49Z"),
        Arguments.of("Fri, 23 Aug 2002 19:27:52", "2002-08-23T19:27:52Z"),
        // trailing spam-filter garbage
        Arguments.of("Thu, 18 Jul 2002 14:57:14 +-0800 MSG_ID_ADDED_BY_MTA_3,MISSING_MIMEOLE,FORGED_RCVD_TRAIL,"
            + "AWL version=2.40", "2002-07-18T22:57:14Z"),
        Arguments.of("Thu, 18 Jul 2002 21:16:12 version=2.40", "2002-07-18T21:16:12Z"),
        Arguments.of("Fri, 19 Jul 2002 09:42:07 -0400 AWL version=2.40", "2002-07-19T13:42:07Z"),
        // non-RFC orders
        Arguments.of("2002/09/14 Sat 02:29:32 CDT", "2002-09-14T07:29:32Z"),
        Arguments.of("2002/09/14 Sat 13:06:03 GMT", "2002-09-14T13:06:03Z"),
        Arguments.of("Sat Sep 21 08:18:08 2002", "2002-09-21T08:18:08Z"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corpusShapes")
  void parsesEveryShapeFoundInTheCorpus(String header, String expected) {
    assertThat(parser.parseDateHeader(header)).contains(Instant.parse(expected));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {
      "Mon, 28 Jul 1980 14:01:35",           // forged, before the window
      "Wed, 04 Oct 2028 12:05:01 -0400",     // forged, after the window
      "Wed, 07 Oct 2020 23:01:36 -1900",
      "sometime next week",
      "32 Foo 2002",
      "Thu, 31 Feb 2002 10:00:00 +0000",     // no such day
      "Thu, 22 Aug 2002 25:00:00 +0000",     // no such hour
      "Thu, 22 Aug 2002",                    // no time
      ""})
  void rejectsUnparsableOrImplausibleDates(String header) {
    assertThat(parser.parseDateHeader(header)).isEmpty();
  }

  @Test
  void windowIsConfigurableAndLenientParseIgnoresIt() {
    assertThat(MailDateParser.parseLenient("Mon, 28 Jul 1980 14:01:35"))
        .contains(Instant.parse("1980-07-28T14:01:35Z"));
    MailDateParser wide = new MailDateParser(Instant.parse("1970-01-01T00:00:00Z"), Instant.parse("2100-01-01T00:00:00Z"));
    assertThat(wide.parseDateHeader("Mon, 28 Jul 1980 14:01:35")).isPresent();
    // An old but plausible forged date inside the default window is kept (documented).
    assertThat(parser.parseDateHeader("Fri, 23 Jul 1993 17:36:34")).contains(Instant.parse("1993-07-23T17:36:34Z"));
  }

  @Test
  void twoDigitYearsFollowRfc2822() {
    assertThat(MailDateParser.normalizeYear(1, 2)).isEqualTo(2001);
    assertThat(MailDateParser.normalizeYear(49, 2)).isEqualTo(2049);
    assertThat(MailDateParser.normalizeYear(99, 2)).isEqualTo(1999);
    assertThat(MailDateParser.normalizeYear(102, 3)).isEqualTo(2002);
    assertThat(MailDateParser.normalizeYear(102, 4)).isEqualTo(2002);
    assertThat(MailDateParser.normalizeYear(2002, 4)).isEqualTo(2002);
  }

  @Test
  void mboxFromLineIsAsctimeInUtc() {
    assertThat(parser.parseMboxFromLine("From ilug-admin@linux.ie  Tue Aug  6 11:51:02 2002"))
        .contains(Instant.parse("2002-08-06T11:51:02Z"));
    assertThat(parser.parseMboxFromLine("From irregulars-admin@tb.tf  Thu Aug 22 14:23:39 2002"))
        .contains(Instant.parse("2002-08-22T14:23:39Z"));
    assertThat(parser.parseMboxFromLine("From MAILER-DAEMON  Tue Jun 26 13:05:04 2001"))
        .contains(Instant.parse("2001-06-26T13:05:04Z"));
    assertThat(parser.parseMboxFromLine("From someone without a date")).isEmpty();
    assertThat(parser.parseMboxFromLine("Return-Path: <x@y>")).isEmpty();
    assertThat(parser.parseMboxFromLine("From x@y  Tue Aug  6 11:51:02 1985")).isEmpty();
  }
}
