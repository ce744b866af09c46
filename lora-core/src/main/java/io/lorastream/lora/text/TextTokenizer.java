package io.lorastream.lora.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A base model's own tokenizer: the Hugging Face {@code tokenizer.json} carried in the base-model
 * file, run by DJL's binding of the Rust tokenizers library (its jar holds the native library, so
 * nothing is downloaded). Text becomes the ids the model was pretrained on, special tokens included
 * ({@code [CLS] ... [SEP]}), truncated by the tokenizer itself to at most {@code maxTokens}.
 * lorastream reads id 0 as PAD, so a tokenizer is accepted only when its id 0 is a padding token
 * and every id it can produce is inside the model's vocabulary ({@link #check}).
 *
 * <p>Encoding is thread-safe (the native tokenizer is immutable); close it with its owner.
 */
public final class TextTokenizer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> PAD_NAMES = List.of("[PAD]", "<pad>", "<PAD>", "[pad]");

  private final HuggingFaceTokenizer tokenizer;
  private final int maxTokens;

  private TextTokenizer(HuggingFaceTokenizer tokenizer, int maxTokens) {
    this.tokenizer = tokenizer;
    this.maxTokens = maxTokens;
  }

  /**
   * A tokenizer from {@code tokenizer.json} bytes for a model with {@code vocabSize} ids that
   * reads at most {@code maxTokens} tokens per row.
   *
   * @throws IllegalArgumentException if the JSON is not a tokenizer this model can use
   */
  public static TextTokenizer of(byte[] tokenizerJson, int vocabSize, int maxTokens) {
    if (maxTokens < 2) {
      throw new IllegalArgumentException("maxTokens must be >= 2 (room for [CLS] and [SEP]), got " + maxTokens);
    }
    check(tokenizerJson, vocabSize);
    Map<String, String> options = Map.of("addSpecialTokens", "true", "padding", "false", "truncation", "true",
        "maxLength", Integer.toString(maxTokens));
    try {
      return new TextTokenizer(HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tokenizerJson), options),
          maxTokens);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("the tokenizer.json cannot be loaded: " + e.getMessage(), e);
    }
  }

  /**
   * Checks that a {@code tokenizer.json} fits a model: parseable, every vocabulary and added-token
   * id below {@code vocabSize}, and id 0 a padding token (lorastream's PAD) where the vocabulary
   * names it.
   *
   * @throws IllegalArgumentException saying what does not fit
   */
  public static void check(byte[] tokenizerJson, int vocabSize) {
    JsonNode t;
    try {
      t = JSON.readTree(tokenizerJson);
    } catch (IOException e) {
      throw new IllegalArgumentException("the tokenizer is not JSON: " + e.getMessage(), e);
    }
    if (t == null || !t.path("model").isObject()) {
      throw new IllegalArgumentException("the tokenizer JSON has no \"model\" object; it is not a Hugging Face "
          + "tokenizer.json");
    }
    long maxId = -1;
    String zero = null;
    JsonNode vocab = t.path("model").path("vocab");
    if (vocab.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        long id = e.getValue().asLong();
        maxId = Math.max(maxId, id);
        if (id == 0) {
          zero = e.getKey();
        }
      }
    } else if (vocab.isArray()) {
      maxId = vocab.size() - 1; // Unigram: [[piece, score], ...], ids are positions
      zero = vocab.size() > 0 ? vocab.get(0).path(0).asText() : null;
    }
    for (JsonNode a : t.path("added_tokens")) {
      long id = a.path("id").asLong();
      maxId = Math.max(maxId, id);
      if (id == 0) {
        zero = a.path("content").asText();
      }
    }
    if (maxId >= vocabSize) {
      throw new IllegalArgumentException("the tokenizer produces ids up to " + maxId + " but the model's vocabulary has "
          + vocabSize + " rows; it belongs to another model");
    }
    if (zero != null && !PAD_NAMES.contains(zero)) {
      throw new IllegalArgumentException("the tokenizer's id 0 is '" + zero + "', not a padding token; lorastream reads "
          + "id 0 as PAD (BERT-family vocabularies start with [PAD])");
    }
  }

  /**
   * The tokenizer a base carries, truncating to {@code maxTokens} (0: the base's token window);
   * empty when the base was imported without one.
   *
   * @throws IllegalArgumentException if maxTokens exceeds the window or the tokenizer does not fit
   */
  public static java.util.Optional<TextTokenizer> forBase(io.lorastream.lora.model.BaseModel base, int maxTokens) {
    if (maxTokens < 0 || maxTokens > base.inputSize()) {
      throw new IllegalArgumentException("the truncation length must be in [2, " + base.inputSize() + "] (the base's "
          + "token window), or 0 for the window itself; got " + maxTokens);
    }
    int n = maxTokens == 0 ? base.inputSize() : maxTokens;
    return base.tokenizerJson().map(json -> of(json, base.vocabSize(), n));
  }

  /** The token ids of {@code text}: special tokens added, at most {@link #maxTokens()} of them. */
  public List<Integer> encode(String text) {
    Encoding e = tokenizer.encode(text);
    long[] ids = e.getIds();
    List<Integer> out = new ArrayList<>(Math.min(ids.length, maxTokens));
    for (int i = 0; i < ids.length && i < maxTokens; i++) {
      out.add((int) ids[i]);
    }
    return out;
  }

  /** Tokens per text at most (the truncation length). */
  public int maxTokens() {
    return maxTokens;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
