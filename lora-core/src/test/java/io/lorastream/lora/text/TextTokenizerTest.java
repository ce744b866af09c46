package io.lorastream.lora.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokenizer a text base carries: encoding, truncation, the checks on import, and the base file that keeps it. */
class TextTokenizerTest {
  /** A tiny bert with BERT's vocabulary size, so that the real all-MiniLM-L6-v2 tokenizer fits it. */
  private static final ModelSpec TINY = ModelSpec.bert(30_522, 8, 16, 2, 1, 32, 2, ModelSpec.POOL_MEAN, 3);

  @TempDir
  Path tmp;

  private static byte[] miniLmTokenizer() {
    return TestTokenizers.miniLm();
  }

  private static BaseModel tinyWithTokenizer(byte[] tok) {
    assertThat(tok).isEqualTo(TestTokenizers.miniLm());
    return TestTokenizers.withTokenizer(TINY, "tiny");
  }

  @Test
  void textBecomesTheBasesTokenIdsTruncatedByTheTokenizerItself() throws Exception {
    try (BaseModel base = tinyWithTokenizer(miniLmTokenizer());
        TextTokenizer window = TextTokenizer.forBase(base, 0).orElseThrow();
        TextTokenizer five = TextTokenizer.forBase(base, 5).orElseThrow()) {
      assertThat(window.maxTokens()).isEqualTo(8);
      assertThat(window.encode("Hello world")).containsExactly(101, 7592, 2088, 102);
      String longText = "one two three four five six seven eight nine ten eleven";
      List<Integer> cut = window.encode(longText);
      assertThat(cut).hasSize(8);
      assertThat(cut.get(0)).isEqualTo(101);
      assertThat(cut.get(7)).as("truncation keeps [SEP]").isEqualTo(102);
      assertThat(five.encode(longText)).hasSize(5).endsWith(102);
      assertThat(window.encode("")).containsExactly(101, 102);
      assertThatThrownBy(() -> TextTokenizer.forBase(base, 9)).hasMessageContaining("[2, 8]");
    }
    try (BaseModel none = BaseModel.create(TINY, Device.cpu())) {
      assertThat(TextTokenizer.forBase(none, 0)).isEmpty();
    }
  }

  @Test
  void aTokenizerThatDoesNotFitTheModelIsRefusedWithWhy() throws Exception {
    byte[] tok = miniLmTokenizer();
    assertThatThrownBy(() -> TextTokenizer.check(tok, 1000)).hasMessageContaining("ids up to 30521")
        .hasMessageContaining("1000 rows");
    ObjectMapper json = new ObjectMapper();
    ObjectNode t = (ObjectNode) json.readTree(tok);
    ObjectNode vocab = (ObjectNode) t.path("model").path("vocab");
    vocab.remove("[PAD]");
    vocab.put("hello", 0);
    t.putArray("added_tokens");
    assertThatThrownBy(() -> TextTokenizer.check(json.writeValueAsBytes(t), 30_522))
        .hasMessageContaining("id 0 is 'hello', not a padding token");
    assertThatThrownBy(() -> TextTokenizer.check("{not json".getBytes(), 30_522)).hasMessageContaining("not JSON");
    assertThatThrownBy(() -> TextTokenizer.check("{}".getBytes(), 30_522)).hasMessageContaining("no \"model\"");
    assertThatThrownBy(() -> BaseModel.fromTensors(ModelSpec.mlp(4, List.of(), 2, 1), Map.of("head.weight",
        new float[8], "head.bias", new float[2]), "m", tok, Device.cpu())).hasMessageContaining("text model");
  }

  @Test
  void theBaseFileKeepsTheTokenizerAndDetectsCorruptionOfIt() throws Exception {
    byte[] tok = miniLmTokenizer();
    Path file = tmp.resolve("tiny.lsbase");
    String fingerprint;
    try (BaseModel base = tinyWithTokenizer(tok)) {
      base.save(file);
      fingerprint = base.fingerprint();
      try (BaseModel plain = BaseModel.create(TINY, Device.cpu())) {
        assertThat(fingerprint).as("the fingerprint names the weights only").isEqualTo(plain.fingerprint());
      }
    }
    try (BaseModel back = BaseModel.load(file, Device.cpu())) {
      assertThat(back.tokenizerJson()).hasValueSatisfying(b -> assertThat(b).isEqualTo(tok));
      assertThat(back.fingerprint()).isEqualTo(fingerprint);
    }
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length - 10] ^= 1; // inside the tokenizer, the file's last section
    Files.write(file, bytes);
    assertThatThrownBy(() -> BaseModel.load(file, Device.cpu())).isInstanceOf(IOException.class)
        .hasMessageContaining("tokenizer's bytes do not match");
  }
}
