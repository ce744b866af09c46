package io.lorastream.experiment.data;

import java.time.Instant;
import java.util.Arrays;

/**
 * One tokenized email of the spam stream, in stream order inside a {@link SpamDataset}.
 *
 * @param id {@code group/id}, e.g. {@code spam-2/00001}; unique in the corpus
 * @param group the corpus collection ({@code easy-ham-1}, {@code spam-2}, ...)
 * @param label 1 = spam (group starts with {@code spam}), 0 = ham
 * @param time the stream timestamp (see {@link EmailParser} for its fallbacks)
 * @param dateSource which fallback step produced {@code time}
 * @param tokens hashed token ids in [1, V-1], at most the dataset's maxTokens, no padding
 */
public record SpamEmail(String id, String group, int label, Instant time, DateSource dateSource, int[] tokens) {

  public SpamEmail {
    if (label != 0 && label != 1) {
      throw new IllegalArgumentException("label must be 0 (ham) or 1 (spam), got " + label + " for " + id);
    }
    tokens = tokens.clone(); // records are meant to be values; a shared array would not be
  }

  /** A copy of the ids, so callers cannot change the dataset. */
  @Override
  public int[] tokens() {
    return tokens.clone();
  }

  /** The ids padded with 0 (or cut) to exactly {@code length}, the usual model input. */
  public int[] paddedTokens(int length) {
    return Arrays.copyOf(tokens, length);
  }

  public int tokenCount() {
    return tokens.length;
  }

  public boolean isSpam() {
    return label == 1;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SpamEmail e && id.equals(e.id) && group.equals(e.group) && label == e.label
        && time.equals(e.time) && dateSource == e.dateSource && Arrays.equals(tokens, e.tokens);
  }

  @Override
  public int hashCode() {
    return 31 * id.hashCode() + Arrays.hashCode(tokens);
  }

  @Override
  public String toString() {
    return "SpamEmail[" + id + ", label=" + label + ", time=" + time + ", " + dateSource + ", " + tokens.length
        + " tokens]";
  }
}
