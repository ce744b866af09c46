package io.lorastream.experiment.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class EmailParserTest {

  private final EmailParser parser = new EmailParser();

  @Test
  void splitsMboxLineHeadersAndBodyAndUnfoldsContinuations() {
    ParsedEmail e = parser.parse("""
        From ilug-admin@linux.ie  Tue Aug  6 11:51:02 2002
        Received: from localhost (localhost [127.0.0.1])
        \tby phobos.labs.example.com (Postfix)
            for <jm@localhost>; Tue,  6 Aug 2002 06:48:09 -0400 (EDT)
        Subject: Hello
         world
        X-Spam: yes
        Received: second

        Body line 1
        Subject: not a header

        Body line 3
        """);
    assertThat(e.mboxFromLine()).isEqualTo("From ilug-admin@linux.ie  Tue Aug  6 11:51:02 2002");
    assertThat(e.headers().first("received")).contains(
        "from localhost (localhost [127.0.0.1]) by phobos.labs.example.com (Postfix) for <jm@localhost>; "
            + "Tue,  6 Aug 2002 06:48:09 -0400 (EDT)");
    assertThat(e.headers().all("RECEIVED")).hasSize(2);
    assertThat(e.headers().first("SUBJECT")).contains("Hello world");
    assertThat(e.subject()).isEqualTo("Hello world");
    assertThat(e.headers().first("Date")).isEmpty();
    assertThat(e.body()).isEqualTo("Body line 1\nSubject: not a header\n\nBody line 3\n");
  }

  @Test
  void handlesCrLfNoMboxLineNoBodyAndJunkLines() {
    ParsedEmail crlf = parser.parse("Subject: a\r\nDate: b\r\n\r\nbody\r\n");
    assertThat(crlf.mboxFromLine()).isNull();
    assertThat(crlf.headers().first("date")).contains("b");
    assertThat(crlf.body()).isEqualTo("body\n");

    ParsedEmail headersOnly = parser.parse("Subject: only headers\n>From quoted junk line\nX-A: 1");
    assertThat(headersOnly.body()).isEmpty();
    assertThat(headersOnly.headers().size()).isEqualTo(2);

    ParsedEmail empty = parser.parse("");
    assertThat(empty.headers().size()).isZero();
    assertThat(empty.subject()).isEmpty();
  }

  @Test
  void decodesEncodedWordSubjects() {
    ParsedEmail e = parser.parse("Subject: =?iso-8859-1?Q?Caf=E9_meeting?= =?utf-8?B?b24gRnJpZGF5?=\n\nx");
    assertThat(e.subject()).isEqualTo("Café meetingon Friday");
  }

  @Test
  void dateHeaderWinsWhenUsable() {
    ParsedEmail e = parser.parse("From a@b  Tue Aug  6 11:51:02 2002\nDate: Thu, 22 Aug 2002 18:26:25 +0700\n\nx");
    assertThat(parser.ownDate(e)).contains(
        new EmailParser.OwnDate(Instant.parse("2002-08-22T11:26:25Z"), DateSource.DATE_HEADER));
  }

  @Test
  void fallsBackToTheMboxLineWhenTheDateHeaderIsAbsurdOrMissing() {
    ParsedEmail absurd = parser.parse("From a@b  Mon Jun 24 17:03:24 2002\nDate: Mon, 28 Jul 1980 14:01:35\n\nx");
    assertThat(parser.ownDate(absurd)).contains(
        new EmailParser.OwnDate(Instant.parse("2002-06-24T17:03:24Z"), DateSource.MBOX_FROM_LINE));
    ParsedEmail missing = parser.parse("From a@b  Mon Sep  2 12:29:39 2002\nSubject: s\n\nx");
    assertThat(parser.ownDate(missing)).contains(
        new EmailParser.OwnDate(Instant.parse("2002-09-02T12:29:39Z"), DateSource.MBOX_FROM_LINE));
  }

  @Test
  void laterDateHeaderIsTriedWhenTheFirstIsUnusable() {
    ParsedEmail e = parser.parse("Date: garbage\nDate: 29 Aug 2002 11:19:27 -0400\n\nx");
    assertThat(parser.headerDate(e)).contains(Instant.parse("2002-08-29T15:19:27Z"));
  }

  @Test
  void noOwnDateWhenNeitherSourceIsUsable() {
    ParsedEmail e = parser.parse("Date: sometime next week\nSubject: s\n\nbody");
    assertThat(parser.ownDate(e)).isEmpty();
    ParsedEmail badFromLine = parser.parse("From nobody\nDate: 32 Foo 2002\n\nbody");
    assertThat(parser.ownDate(badFromLine)).isEmpty();
  }
}
