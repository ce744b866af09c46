package io.lorastream.experiment.data;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Turns an email into a fixed-length-capped sequence of token ids in a hashed vocabulary of
 * {@code V} buckets, the input of the text models.
 *
 * <p><b>What is kept.</b> The Subject header (RFC 2047-decoded) and the readable body text
 * ({@link MimeText}: MIME parts, base64 and quoted-printable decoded, attachments dropped). Every
 * other header is stripped: {@code Received}, {@code X-*}, {@code Delivered-To},
 * {@code Return-Path} and friends name the mail servers and mailing lists each collection came
 * through, and some carry spam-filter verdicts ({@code X-Spam-Status}); a model would learn the
 * collection or the verdict, not the content. Subject tokens come first, then body tokens.
 *
 * <p><b>Words.</b> HTML comments are removed (spammers split words with them), then
 * {@code <script>}/{@code <style>} blocks and tags become spaces and the common entities are
 * decoded; the text is lowercased (root locale); a word is a maximal run of letters, digits,
 * {@code $}, {@code '} and {@code !} with apostrophes trimmed at both ends ({@code $}, {@code !}
 * are strong spam cues, so they stay). Words longer than {@value #MAX_WORD_LENGTH} chars are
 * dropped, and so are whitespace-free runs of at least 40 base64 characters ({@code A-Za-z0-9+/=}):
 * both are encoded attachments or uuencoded noise, not language.
 *
 * <p><b>Ids.</b> {@code id = 1 + (FNV-1a-32(UTF-8 bytes of the word) mod (V - 1))}, unsigned, so
 * id 0 is never produced and stays free for padding. Hashing needs no vocabulary pass over the
 * pretraining period, is stable across runs and JVMs, and maps unseen words of the stream into the
 * same space (collisions are the price; at V = 8192 they are rare among frequent words).
 */
public final class SpamTokenizer {

  /** Default number of buckets including the padding id 0. */
  public static final int DEFAULT_VOCAB = 8192;
  /** Longest word kept. */
  public static final int MAX_WORD_LENGTH = 30;
  /** Whitespace-free base64-alphabet runs at least this long are dropped as encoded noise. */
  static final int MIN_ENCODED_RUN = 40;
  /** The padding id; never returned by {@link #id(String)}. */
  public static final int PAD = 0;

  private static final Pattern HTML_COMMENT = Pattern.compile("<!--.*?-->", Pattern.DOTALL);
  private static final Pattern SCRIPT_STYLE =
      Pattern.compile("(?is)<(script|style)\\b[^>]*>.*?</\\1\\s*>");
  private static final Pattern TAG = Pattern.compile("</?[a-zA-Z!][^>]{0,2000}>");
  private static final Pattern NUMERIC_ENTITY = Pattern.compile("&#(x?)([0-9a-fA-F]{1,6});?");

  private final int vocabSize;

  /** {@link #DEFAULT_VOCAB} buckets. */
  public SpamTokenizer() {
    this(DEFAULT_VOCAB);
  }

  /** @param vocabSize buckets including PAD; at least 2 so there is one real id */
  public SpamTokenizer(int vocabSize) {
    if (vocabSize < 2) {
      throw new IllegalArgumentException("vocabSize must be >= 2 (id 0 is padding), got " + vocabSize);
    }
    this.vocabSize = vocabSize;
  }

  public int vocabSize() {
    return vocabSize;
  }

  /** The first {@code maxTokens} ids of subject then body; shorter when the email has fewer words. */
  public int[] tokenize(ParsedEmail email, int maxTokens) {
    return ids(words(email, maxTokens), maxTokens);
  }

  /** All words of subject then body, in order (for inspection and tests). */
  public List<String> words(ParsedEmail email) {
    return words(email, Integer.MAX_VALUE);
  }

  /** Ids of the first {@code maxTokens} of already extracted words. */
  public int[] ids(List<String> words, int maxTokens) {
    int[] ids = new int[Math.min(words.size(), maxTokens)];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = id(words.get(i));
    }
    return ids;
  }

  /** The bucket of one (already lowercased) word, in [1, V-1]. */
  public int id(String word) {
    return 1 + Integer.remainderUnsigned(fnv1a32(word.getBytes(StandardCharsets.UTF_8)), vocabSize - 1);
  }

  /** 32-bit FNV-1a (offset basis 0x811C9DC5, prime 0x01000193). */
  static int fnv1a32(byte[] bytes) {
    int h = 0x811C9DC5;
    for (byte b : bytes) {
      h ^= b & 0xFF;
      h *= 0x01000193;
    }
    return h;
  }

  private List<String> words(ParsedEmail email, int limit) {
    if (limit < 0) {
      throw new IllegalArgumentException("maxTokens must be >= 0, got " + limit);
    }
    List<String> out = new ArrayList<>();
    addWords(visibleText(email.subject()), limit, out);
    if (out.size() < limit) {
      addWords(visibleText(MimeText.bodyText(email)), limit, out);
    }
    return out;
  }

  /** Removes markup so only what a mail reader would render remains. */
  static String visibleText(String text) {
    if (text.indexOf('<') < 0 && text.indexOf('&') < 0) {
      return text;
    }
    String t = HTML_COMMENT.matcher(text).replaceAll("");
    t = SCRIPT_STYLE.matcher(t).replaceAll(" ");
    t = TAG.matcher(t).replaceAll(" ");
    if (t.indexOf('&') >= 0) {
      t = decodeEntities(t);
    }
    return t;
  }

  private static String decodeEntities(String t) {
    String s = t.replace("&nbsp;", " ").replace("&NBSP;", " ")
        .replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
        .replace("&apos;", "'").replace("&#39;", "'");
    s = NUMERIC_ENTITY.matcher(s).replaceAll(m -> {
      try {
        int cp = Integer.parseInt(m.group(2), m.group(1).isEmpty() ? 10 : 16);
        return Character.isValidCodePoint(cp) ? java.util.regex.Matcher.quoteReplacement(
            new String(Character.toChars(cp))) : " ";
      } catch (NumberFormatException e) {
        return " "; // decimal entity with hex digits: not an entity, not a word either
      }
    });
    return s.replace("&amp;", "&");
  }

  private static void addWords(String text, int limit, List<String> out) {
    int n = text.length();
    int i = 0;
    while (i < n && out.size() < limit) {
      while (i < n && Character.isWhitespace(text.charAt(i))) {
        i++;
      }
      int start = i;
      while (i < n && !Character.isWhitespace(text.charAt(i))) {
        i++;
      }
      if (i > start && !isEncodedNoise(text, start, i)) {
        addChunkWords(text.substring(start, i).toLowerCase(Locale.ROOT), limit, out);
      }
    }
  }

  /**
   * A long whitespace-free run made only of base64 characters: an attachment or a mislabelled
   * encoded part. Its '+' and '/' would otherwise cut it into short pseudo-words that pass the
   * length filter.
   */
  private static boolean isEncodedNoise(String text, int from, int to) {
    if (to - from < MIN_ENCODED_RUN) {
      return false;
    }
    for (int i = from; i < to; i++) {
      char c = text.charAt(i);
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'
          || c == '=')) {
        return false;
      }
    }
    return true;
  }

  private static void addChunkWords(String lower, int limit, List<String> out) {
    int n = lower.length();
    int i = 0;
    while (i < n && out.size() < limit) {
      while (i < n && !isWordChar(lower.charAt(i))) {
        i++;
      }
      int start = i;
      while (i < n && isWordChar(lower.charAt(i))) {
        i++;
      }
      int s = start;
      int e = i;
      while (s < e && lower.charAt(s) == '\'') {
        s++;
      }
      while (e > s && lower.charAt(e - 1) == '\'') {
        e--;
      }
      if (e > s && e - s <= MAX_WORD_LENGTH) {
        out.add(lower.substring(s, e));
      }
    }
  }

  private static boolean isWordChar(char c) {
    return Character.isLetterOrDigit(c) || c == '$' || c == '\'' || c == '!';
  }
}
