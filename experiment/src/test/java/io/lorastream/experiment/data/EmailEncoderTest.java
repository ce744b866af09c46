package io.lorastream.experiment.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class EmailEncoderTest {

  private static final String MAIL = "From: a@b.c\nSubject: cheap pills\n\nbuy now today\n";

  @Test
  void hashedWordsAreTheTokenizersIdsAndBigramsInterleaveTheHashedPairs() {
    ParsedEmail e = new EmailParser().parse(MAIL);
    SpamTokenizer t = new SpamTokenizer(512);
    List<String> words = t.words(e);
    assertThat(words).containsExactly("cheap", "pills", "buy", "now", "today");
    assertThat(EmailEncoder.hashed(512).encode(e, "", 16).ids()).containsExactly(t.tokenize(e, 16));
    int[] bi = EmailEncoder.hashed(512, true).encode(e, "", 16).ids();
    assertThat(bi).containsExactly(t.id("cheap"), t.id("pills"), t.id("cheap_pills"), t.id("buy"), t.id("pills_buy"),
        t.id("now"), t.id("buy_now"), t.id("today"), t.id("now_today"));
    assertThat(EmailEncoder.hashed(512, true).encode(e, "", 4).ids()).containsExactly(t.id("cheap"), t.id("pills"),
        t.id("cheap_pills"), t.id("buy"));
    assertThat(EmailEncoder.hashed(512, true).encode(e, "", 4).length()).isEqualTo(9);
    assertThat(EmailEncoder.hashed(512).encode(e, "", 4).length()).isEqualTo(5);
  }

  @Test
  void theTextIsTheVisibleSubjectAndBody() {
    ParsedEmail e = new EmailParser().parse("Subject: <b>Hi</b>\nContent-Type: text/html\n\n<p>Hello &amp; bye</p>\n");
    String text = EmailEncoder.text(e);
    assertThat(text).startsWith(" Hi ").contains("Hello").doesNotContain("<p>");
  }
}
