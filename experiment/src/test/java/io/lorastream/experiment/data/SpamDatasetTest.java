package io.lorastream.experiment.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs on the hand-written fixture package in src/test/resources/spam/package (8 emails). */
class SpamDatasetTest {

  static Path fixturePackage() throws Exception {
    return Path.of(SpamDatasetTest.class.getResource("/spam/package").toURI());
  }

  private static SpamDataset fixtures() throws Exception {
    List<String> progress = new ArrayList<>();
    SpamDataset ds = SpamDataset.load(fixturePackage(), 8192, 64, progress::add);
    assertThat(progress).anyMatch(l -> l.contains("8 emails"));
    return ds;
  }

  @Test
  void ordersByTimeThenGroupThenIdWithTheDocumentedDateFallbacks() throws Exception {
    SpamDataset ds = fixtures();
    assertThat(ds.emails()).extracting(SpamEmail::id).containsExactly(
        "spam-2/00001",     // undated and first of its group: the group's earliest time (spam-2/00002's)
        "spam-2/00002",     // Date 1980 rejected: mbox From line 2002-06-24T17:03:24Z
        "spam-2/00003",     // Date with year "0102"
        "easy-ham-1/00001",
        "spam-1/00001",     // multipart, Date with "(PDT)"
        "hard-ham-1/00001", // HTML, no Date header: mbox From line
        "easy-ham-1/00002", // named zone EDT
        "easy-ham-1/00003"); // unparsable Date, no From line: inherits easy-ham-1/00002's time
    assertThat(ds.emails()).extracting(SpamEmail::dateSource).containsExactly(
        DateSource.INHERITED, DateSource.MBOX_FROM_LINE, DateSource.DATE_HEADER, DateSource.DATE_HEADER,
        DateSource.DATE_HEADER, DateSource.MBOX_FROM_LINE, DateSource.DATE_HEADER, DateSource.INHERITED);
    assertThat(ds.emails()).extracting(SpamEmail::time).containsExactly(
        Instant.parse("2002-06-24T17:03:24Z"), Instant.parse("2002-06-24T17:03:24Z"),
        Instant.parse("2002-08-22T04:07:35Z"), Instant.parse("2002-08-22T11:26:25Z"),
        Instant.parse("2002-08-29T15:32:08Z"), Instant.parse("2002-09-02T12:29:39Z"),
        Instant.parse("2002-09-03T22:17:30Z"), Instant.parse("2002-09-03T22:17:30Z"));
    assertThat(ds.emails()).extracting(SpamEmail::label).containsExactly(1, 1, 1, 0, 1, 0, 0, 0);
    assertThat(ds.emails()).allSatisfy(e -> {
      assertThat(e.tokens()).isNotEmpty();
      assertThat(java.util.Arrays.stream(e.tokens()).boxed().toList()).allSatisfy(id -> assertThat(id).isBetween(1, 8191));
      assertThat(e.tokenCount()).isLessThanOrEqualTo(64);
    });
  }

  @Test
  void summaryCountsLabelsGroupsAndDateSources() throws Exception {
    SpamDataset.Summary s = fixtures().summary();
    assertThat(s.total()).isEqualTo(8);
    assertThat(s.ham()).isEqualTo(4);
    assertThat(s.spam()).isEqualTo(4);
    assertThat(s.perGroup()).containsExactly(
        java.util.Map.entry("easy-ham-1", 3), java.util.Map.entry("hard-ham-1", 1),
        java.util.Map.entry("spam-1", 1), java.util.Map.entry("spam-2", 3));
    assertThat(s.perDateSource()).containsEntry(DateSource.DATE_HEADER, 4)
        .containsEntry(DateSource.MBOX_FROM_LINE, 2).containsEntry(DateSource.INHERITED, 2);
    assertThat(s.first()).isEqualTo(Instant.parse("2002-06-24T17:03:24Z"));
    assertThat(s.last()).isEqualTo(Instant.parse("2002-09-03T22:17:30Z"));
    assertThat(s.empty()).isZero();
    assertThat(s.meanTokens()).isPositive();
    assertThat(s.toMarkdown()).contains("| emails | 8 |", "| spam-2 | 3 |", "| INHERITED | 2 |", "4 / 4");
  }

  @Test
  void capCountsTruncatedEmails() throws Exception {
    SpamDataset ds = SpamDataset.load(fixturePackage(), 8192, 6, s -> { });
    assertThat(ds.emails()).allSatisfy(e -> assertThat(e.tokenCount()).isLessThanOrEqualTo(6));
    SpamDataset.Summary s = ds.summary();
    assertThat(s.truncated()).isEqualTo(7); // only spam-2/00001 has <= 6 words ("cheap meds cheapest meds online")
    assertThat(s.medianTokens()).isEqualTo(6.0);
    assertThat(s.medianWords()).isGreaterThan(6.0);
  }

  @Test
  void splitTakesTheEarliestFractionInStreamOrder() throws Exception {
    SpamDataset ds = fixtures();
    SpamDataset.Split split = ds.split(0.3); // round(2.4) = 2
    assertThat(split.pretrain().emails()).extracting(SpamEmail::id).containsExactly("spam-2/00001", "spam-2/00002");
    assertThat(split.stream().size()).isEqualTo(6);
    assertThat(split.stream().emails().get(0).id()).isEqualTo("spam-2/00003");
    assertThat(ds.split(0.0).pretrain().size()).isZero();
    assertThat(ds.split(1.0).stream().size()).isZero();
    assertThat(split.stream().summary().total()).isEqualTo(6);
    assertThatThrownBy(() -> ds.split(1.5)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ds.split(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void sliceKeepsOrderAndBothClassesEvenWhenThePrefixIsAllSpam() throws Exception {
    SpamDataset ds = fixtures();
    // The first three emails are spam, so a prefix of 2 or 3 would lose the ham class.
    for (int k = 2; k <= 7; k++) {
      SpamDataset slice = ds.slice(k);
      assertThat(slice.size()).isEqualTo(k);
      assertThat(slice.emails()).anyMatch(SpamEmail::isSpam).anyMatch(e -> !e.isSpam());
      List<String> ids = slice.emails().stream().map(SpamEmail::id).toList();
      List<String> inOriginalOrder = ds.emails().stream().map(SpamEmail::id).filter(ids::contains).toList();
      assertThat(ids).isEqualTo(inOriginalOrder);
      assertThat(slice.summary().total()).isEqualTo(k);
    }
    assertThat(ds.slice(100)).isSameAs(ds);
    assertThatThrownBy(() -> ds.slice(1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 2");
  }

  @Test
  void fromEmailsInheritsFromThePreviousEmailOfTheSameGroupInListOrder() {
    List<SpamDataset.RawEmail> raw = List.of(
        new SpamDataset.RawEmail("easy-ham-1", "00001", "Date: Thu, 22 Aug 2002 18:26:25 +0700\n\nhello"),
        new SpamDataset.RawEmail("spam-1", "00001", "Date: Sun, 1 Sep 2002 20:43:51 -0700\n\nbuy now"),
        new SpamDataset.RawEmail("easy-ham-1", "00002", "Date: Mon, 2 Sep 2002 10:00:00 +0000\n\nlater"),
        new SpamDataset.RawEmail("easy-ham-1", "00003", "Date: junk\n\nundated"),
        new SpamDataset.RawEmail("easy-ham-1", "00004", "Date: junk\n\nundated too"));
    SpamDataset ds = SpamDataset.fromEmails(raw, 1024, 16);
    assertThat(ds.emails()).extracting(SpamEmail::id).containsExactly(
        "easy-ham-1/00001", "spam-1/00001", "easy-ham-1/00002", "easy-ham-1/00003", "easy-ham-1/00004");
    assertThat(ds.emails().get(3).time()).isEqualTo(Instant.parse("2002-09-02T10:00:00Z"));
    assertThat(ds.emails().get(4).time()).isEqualTo(Instant.parse("2002-09-02T10:00:00Z"));
    assertThat(ds.emails().get(4).dateSource()).isEqualTo(DateSource.INHERITED);
  }

  @Test
  void duplicateIdsAndBadArgumentsAreRejected() {
    SpamDataset.RawEmail a = new SpamDataset.RawEmail("spam-1", "00001", "Subject: x\n\ny");
    assertThatThrownBy(() -> SpamDataset.fromEmails(List.of(a, a), 16, 4))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("duplicate");
    assertThatThrownBy(() -> SpamDataset.fromEmails(List.of(a), 16, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new SpamDataset.RawEmail("", "1", "x")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void tokensCannotBeChangedThroughTheRecord() throws Exception {
    SpamEmail e = fixtures().emails().get(0);
    int before = e.tokens()[0];
    e.tokens()[0] = 0;
    assertThat(e.tokens()[0]).isEqualTo(before);
    assertThat(e.paddedTokens(100)).hasSize(100).endsWith(0);
  }

  @Test
  void missingOrBrokenPackageFilesGiveActionableErrors(@TempDir Path dir) throws Exception {
    assertThatThrownBy(() -> SpamDataset.load(dir, 16, 4, s -> { }))
        .isInstanceOf(DatasetUnavailableException.class).hasMessageContaining("file_list.json")
        .hasMessageContaining("./lorastream data spam");
    Path data = Files.createDirectories(dir.resolve("data"));
    Files.writeString(data.resolve("file_list.json"), "[\"spam-1/00001.abc.txt\"]");
    assertThatThrownBy(() -> SpamDataset.load(dir, 16, 4, s -> { }))
        .isInstanceOf(DatasetUnavailableException.class).hasMessageContaining("00001.abc.json");
    Files.createDirectories(data.resolve("spam-1"));
    Files.writeString(data.resolve("spam-1/00001.abc.json"), "{not json");
    assertThatThrownBy(() -> SpamDataset.load(dir, 16, 4, s -> { }))
        .isInstanceOf(DatasetUnavailableException.class).hasMessageContaining("not valid JSON");
    Files.writeString(data.resolve("file_list.json"), "[\"../../etc/passwd\"]");
    assertThatThrownBy(() -> SpamDataset.load(dir, 16, 4, s -> { }))
        .isInstanceOf(DatasetUnavailableException.class).hasMessageContaining("not a <group>/<name> path");
  }
}
