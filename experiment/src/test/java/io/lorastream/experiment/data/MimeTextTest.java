package io.lorastream.experiment.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class MimeTextTest {

  private final EmailParser parser = new EmailParser();

  @Test
  void nestedMultipartKeepsTextPartsDecodedAndDropsAttachmentsPreambleAndEpilogue() {
    String html = Base64.getMimeEncoder().encodeToString("<p>Act now: limited offer!</p>".getBytes(StandardCharsets.US_ASCII));
    String gif = Base64.getEncoder().encodeToString(new byte[] {71, 73, 70, 56, 57, 97, 1, 0, 1, 0});
    String raw = "Content-Type: multipart/mixed; boundary=\"OUTER\"\n\n"
        + "preamble text\n"
        + "--OUTER\n"
        + "Content-Type: multipart/alternative;\n\tboundary=INNER\n\n"
        + "--INNER\n"
        + "Content-Type: text/plain; charset=iso-8859-1\n"
        + "Content-Transfer-Encoding: quoted-printable\n\n"
        + "Earn=20money fast! Only $50=\n0. Caf=E9=\n"
        + "--INNER\n"
        + "Content-Type: text/html\nContent-Transfer-Encoding: BASE64\n\n"
        + html + "\n"
        + "--INNER--\n"
        + "--OUTER\n"
        + "Content-Type: image/gif\nContent-Transfer-Encoding: base64\n\n"
        + gif + "\n"
        + "--OUTER--\n"
        + "epilogue text\n";
    String text = MimeText.bodyText(parser.parse(raw));
    assertThat(text).contains("Earn money fast! Only $500. Café")
        .contains("<p>Act now: limited offer!</p>")
        .doesNotContain("preamble", "epilogue", gif, "GIF89a");
  }

  @Test
  void singlePartBodiesAreDecodedByTheirTransferEncodingAndCharset() {
    String b64 = Base64.getMimeEncoder().encodeToString("Grüße aus Köln".getBytes(StandardCharsets.UTF_8));
    assertThat(MimeText.bodyText(parser.parse(
        "Content-Type: text/plain; charset=\"UTF-8\"\nContent-Transfer-Encoding: base64\n\n" + b64)))
        .isEqualTo("Grüße aus Köln");
    assertThat(MimeText.bodyText(parser.parse(
        "Content-Type: text/plain; charset=default_charset\nContent-Transfer-Encoding: quoted-printable\n\n"
            + "caf=E9 =3D ok = stray")))
        .isEqualTo("café = ok = stray");
    assertThat(MimeText.bodyText(parser.parse("Subject: none\n\nplain body"))).isEqualTo("plain body");
  }

  @Test
  void nonTextBodiesContributeNothingAndBrokenMultipartFallsBackToTheBody() {
    assertThat(MimeText.bodyText(parser.parse("Content-Type: application/pdf\n\nJVBERi0xLjQK"))).isEmpty();
    assertThat(MimeText.bodyText(parser.parse("Content-Type: multipart/mixed\n\nno boundary here")))
        .isEqualTo("no boundary here");
    assertThat(MimeText.bodyText(parser.parse(
        "Content-Type: multipart/mixed; boundary=XYZ\n\nnever delimited"))).isEqualTo("never delimited");
  }

  @Test
  void forwardedMessagesAreRead() {
    String raw = "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: message/rfc822\n\n"
        + "Subject: inner\nContent-Type: text/plain\n\ninner body\n--B--\n";
    assertThat(MimeText.bodyText(parser.parse(raw))).contains("inner body");
  }

  @Test
  void malformedBase64DegradesGracefully() {
    assertThat(MimeText.base64("SGVsbG8").map(b -> new String(b, StandardCharsets.US_ASCII))).contains("Hello");
    assertThat(MimeText.base64("SGVsbG8gd29ybGQ=\n!!junk!!")).isPresent();
  }
}
