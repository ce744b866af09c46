package io.lorastream.lora.model;

import java.util.List;

/**
 * The input contract of the text models: a row of {@code seqLen} token ids stored as floats inside
 * the same row-major float[] (n x inputSize) the MLP consumes. Id 0 is PAD, real tokens are in
 * [1, vocabSize). Callers truncate long token lists and pad short ones with these helpers; the
 * models then check every id with {@link #requireValid} before any device work, so a malformed
 * row is a clear {@link IllegalArgumentException}, not a native index error.
 */
public final class TokenRows {
  private TokenRows() {}

  /** Copies the first {@code seqLen} tokens into {@code dst[rowOffset ..]} and pads the rest with 0 (PAD). */
  public static void fill(int[] tokens, float[] dst, int rowOffset, int seqLen) {
    checkRange(dst, rowOffset, seqLen);
    int n = Math.min(tokens.length, seqLen);
    for (int i = 0; i < n; i++) {
      dst[rowOffset + i] = tokens[i];
    }
    java.util.Arrays.fill(dst, rowOffset + n, rowOffset + seqLen, 0f);
  }

  /**
   * As {@link #fill(int[], float[], int, int)} for a list (e.g. an Avro {@code tokens} field).
   *
   * @throws IllegalArgumentException if one of the copied tokens is null
   */
  public static void fill(List<Integer> tokens, float[] dst, int rowOffset, int seqLen) {
    checkRange(dst, rowOffset, seqLen);
    int n = Math.min(tokens.size(), seqLen);
    int i = 0;
    for (Integer t : tokens) {
      if (i == n) {
        break;
      }
      if (t == null) {
        throw new IllegalArgumentException("token " + i + " is null");
      }
      dst[rowOffset + i++] = t;
    }
    java.util.Arrays.fill(dst, rowOffset + n, rowOffset + seqLen, 0f);
  }

  /**
   * The position of the first token that is null or outside [0, vocabSize) in a token list (e.g.
   * an Avro {@code tokens} field), or -1 when every id is valid. Ingest, the trainer and inference
   * consumers each reject such lists with their own reason; this is the one check they share.
   */
  public static int firstInvalid(List<Integer> tokens, int vocabSize) {
    int i = 0;
    for (Integer t : tokens) {
      if (t == null || t < 0 || t >= vocabSize) {
        return i;
      }
      i++;
    }
    return -1;
  }

  private static void checkRange(float[] dst, int rowOffset, int seqLen) {
    if (seqLen < 0 || rowOffset < 0 || rowOffset + (long) seqLen > dst.length) {
      throw new IllegalArgumentException("row [" + rowOffset + ", " + ((long) rowOffset + seqLen)
          + ") does not fit a destination of " + dst.length + " floats");
    }
  }

  /**
   * Checks that every value of a batch of token rows is an integer id in [0, vocabSize).
   *
   * @param rows n x seqLen row-major
   * @throws IllegalArgumentException naming the first bad example (row index), position and value
   */
  public static void requireValid(float[] rows, int seqLen, int vocabSize) {
    for (int i = 0; i < rows.length; i++) {
      float v = rows[i];
      if (!(v >= 0f && v < vocabSize && v == (float) (int) v)) {
        throw new IllegalArgumentException("example " + i / seqLen + ": token at position " + i % seqLen + " is " + v
            + ", not an integer id in [0, " + vocabSize + ") (0 = PAD)");
      }
    }
  }
}
