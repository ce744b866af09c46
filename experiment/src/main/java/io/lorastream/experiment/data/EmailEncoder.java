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

  /** An email's model input: its first ids, and its whole length in this encoder's tokens (for the statistics). */
  record Encoded(int[] ids, int length) {}

  /**
   * The first {@code maxTokens} ids of {@code email}, whose visible text ({@link #text}) the
   * caller has already extracted once.
   */
  Encoded encode(ParsedEmail email, String text, int maxTokens);

  /** Ids are in [1, vocabSize); 0 is PAD. */
  int vocabSize();

  /** Hashed words into {@code vocabSize} buckets (see {@link SpamTokenizer}). */
  static EmailEncoder hashed(int vocabSize) {
    return hashed(vocabSize, false);
  }

  /**
   * Hashed words; with {@code bigrams}, each word after the first is followed by the hashed pair
   * of it and its predecessor ({@code w1, w2, w1_w2, w3, w2_w3, ...}), into the same buckets.
   */
  static EmailEncoder hashed(int vocabSize, boolean bigrams) {
    SpamTokenizer t = new SpamTokenizer(vocabSize);
    return new EmailEncoder() {
      @Override
      public Encoded encode(ParsedEmail email, String text, int maxTokens) {
        List<String> words = t.words(email);
        if (!bigrams) {
          return new Encoded(t.ids(words, maxTokens), words.size());
        }
        int all = Math.max(0, 2 * words.size() - 1);
        int[] out = new int[Math.min(maxTokens, all)];
        int n = 0;
        for (int i = 0; i < words.size() && n < out.length; i++) {
          out[n++] = t.id(words.get(i));
          if (i > 0 && n < out.length) {
            out[n++] = t.id(words.get(i - 1) + "_" + words.get(i));
          }
        }
        return new Encoded(out, all);
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
      public Encoded encode(ParsedEmail email, String text, int maxTokens) {
        List<Integer> ids = window.encode(text);
        int n = Math.min(maxTokens, ids.size());
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
          out[i] = ids.get(i);
        }
        return new Encoded(out, whole.encode(text).size());
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
