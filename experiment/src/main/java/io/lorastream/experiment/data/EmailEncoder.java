package io.lorastream.experiment.data;

import io.lorastream.lora.text.TextTokenizer;
import java.util.List;

/**
 * How an email becomes model input ids: the subject, then the readable body, through one
 * tokenizer. {@link #hashed} is lorastream's own hashed-word vocabulary ({@link SpamTokenizer}) for
 * the models it trains from scratch; {@link #wordPiece} is a pretrained model's own tokenizer (its
 * {@code tokenizer.json}), so a MiniLM base reads the email exactly as it read text in pretraining.
 * Implementations are thread-safe: the dataset encodes emails in parallel.
 */
public interface EmailEncoder {

  /** The first {@code maxTokens} ids of {@code email}. */
  int[] ids(ParsedEmail email, int maxTokens);

  /** Length of the whole email in this encoder's tokens, for the corpus statistics. */
  int length(ParsedEmail email);

  /** Ids are in [1, vocabSize); 0 is PAD. */
  int vocabSize();

  /** Hashed words into {@code vocabSize} buckets (see {@link SpamTokenizer}). */
  static EmailEncoder hashed(int vocabSize) {
    SpamTokenizer t = new SpamTokenizer(vocabSize);
    return new EmailEncoder() {
      @Override
      public int[] ids(ParsedEmail email, int maxTokens) {
        return t.tokenize(email, maxTokens);
      }

      @Override
      public int length(ParsedEmail email) {
        return t.words(email).size();
      }

      @Override
      public int vocabSize() {
        return vocabSize;
      }
    };
  }

  /**
   * A pretrained model's WordPiece (or other Hugging Face) tokenizer over the visible subject and
   * body text, special tokens included ({@code [CLS] ... [SEP]}); {@code window} truncates, as the
   * trainer's tokenizer would, and {@code whole} (a much larger limit) counts.
   */
  static EmailEncoder wordPiece(TextTokenizer window, TextTokenizer whole, int vocabSize) {
    return new EmailEncoder() {
      @Override
      public int[] ids(ParsedEmail email, int maxTokens) {
        List<Integer> ids = window.encode(text(email));
        int n = Math.min(maxTokens, ids.size());
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
          out[i] = ids.get(i);
        }
        return out;
      }

      @Override
      public int length(ParsedEmail email) {
        return whole.encode(text(email)).size();
      }

      @Override
      public int vocabSize() {
        return vocabSize;
      }
    };
  }

  /** Subject and visible body text as one string (markup removed, as the hashed tokenizer sees it). */
  static String text(ParsedEmail email) {
    String body = SpamTokenizer.visibleText(MimeText.bodyText(email));
    // 64k characters hold far more than any window; a pasted binary blob must not stall the tokenizer
    if (body.length() > 65_536) {
      body = body.substring(0, 65_536);
    }
    return SpamTokenizer.visibleText(email.subject()) + "\n" + body;
  }
}
