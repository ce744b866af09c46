package io.lorastream.experiment.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SpamTokenizerTest {

  private static final String EMAIL = """
      From spammer@example.net  Thu Aug 29 16:00:00 2002
      Received: from relay.example.net by mx.example.com
      X-Spam-Status: Yes, hits=12.3 required=5.0
      X-Mailer: SpamBlaster
      From: "Deals" <deals@example.net>
      Subject: FREE Money!!! Don't Miss
      Date: Thu, 29 Aug 2002 08:32:08 -0700

      <html><head><style>p { color: red }</style><script>var tracker = 1;</script></head>
      <body><p>Click <b>HERE</b> for V<!-- x -->iagra &amp; more&nbsp;deals at $9.99</p>
      'quoted' word and aVeryLongTokenThatIsClearlyNoiseAndNotAWordAtAll
      PGh0bWw+PGJvZHk+PHA+SGVsbG8gd29ybGQ8L3A+PC9ib2R5PjwvaHRtbD4K</body></html>
      """;

  private final EmailParser parser = new EmailParser();

  @Test
  void keepsSubjectFirstThenVisibleBodyWordsLowercasedAndDropsOtherHeaders() {
    List<String> words = new SpamTokenizer().words(parser.parse(EMAIL));
    assertThat(words).containsExactly(
        "free", "money!!!", "don't", "miss",
        "click", "here", "for", "viagra", "more", "deals", "at", "$9", "99",
        "quoted", "word", "and");
    // Header content that would leak the collection or the verdict is gone.
    assertThat(words).doesNotContain("received", "relay", "spam", "status", "yes", "hits", "spamblaster", "deals@example",
        "example", "net", "color", "red", "tracker", "var");
  }

  @Test
  void idsAreStableAndMatchAnIndependentlyComputedFnv1a() {
    // FNV-1a-32("free") = 0x99b3eedb = 2578703067; 1 + 2578703067 mod 8191 = 7329 (computed in Python).
    SpamTokenizer t = new SpamTokenizer(8192);
    assertThat(SpamTokenizer.fnv1a32("free".getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .isEqualTo(0x99b3eedb);
    assertThat(t.id("free")).isEqualTo(7329);
    // Published FNV-1a-32 test vector for "a".
    assertThat(SpamTokenizer.fnv1a32(new byte[] {'a'})).isEqualTo(0xe40c292c);
    // Non-ASCII words hash their UTF-8 bytes: FNV-1a-32("café") = 0xa82b5049 -> 1 + (.. mod 8191) = 4558.
    assertThat(t.id("café")).isEqualTo(4558);
    assertThat(new SpamTokenizer(1000).id("free")).isEqualTo(427); // 1 + 2578703067 mod 999
    assertThat(t.tokenize(parser.parse(EMAIL), 50)).containsExactly(new SpamTokenizer(8192).tokenize(parser.parse(EMAIL), 50));
  }

  @Test
  void neverProducesThePaddingIdAndStaysInRange() {
    Random r = new Random(7);
    for (int v : new int[] {2, 3, 17, 8192}) {
      SpamTokenizer t = new SpamTokenizer(v);
      for (int i = 0; i < 20_000; i++) {
        String w = Long.toString(r.nextLong(), 36);
        assertThat(t.id(w)).isBetween(1, v - 1);
      }
    }
    assertThat(new SpamTokenizer(2).id("anything")).isEqualTo(1);
  }

  @Test
  void truncatesToMaxTokensKeepingTheFirstWords() {
    SpamTokenizer t = new SpamTokenizer();
    ParsedEmail e = parser.parse(EMAIL);
    int[] all = t.tokenize(e, 1000);
    int[] first5 = t.tokenize(e, 5);
    assertThat(all).hasSize(16);
    assertThat(first5).containsExactly(java.util.Arrays.copyOf(all, 5));
    assertThat(first5[0]).isEqualTo(t.id("free"));
    assertThat(t.tokenize(e, 0)).isEmpty();
  }

  @Test
  void rejectsAVocabularyWithoutRoomForARealId() {
    assertThatThrownBy(() -> new SpamTokenizer(1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("vocabSize");
  }
}
