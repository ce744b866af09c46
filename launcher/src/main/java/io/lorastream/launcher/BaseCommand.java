package io.lorastream.launcher;

import ai.djl.Device;
import io.lorastream.lora.importer.BertImporter;
import io.lorastream.lora.importer.OnnxGraph;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.ModelSpec;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lorastream base}: base-model files. {@code base import} turns a pretrained BERT-family
 * encoder (an ONNX export, such as the one {@code lorastream data minilm} fetches) into a base file
 * with a new classification head, which trainers and inference consumers then load like any other.
 */
@Command(name = "base", mixinStandardHelpOptions = true, description = "Base-model files: import a pretrained encoder.",
    subcommands = {BaseCommand.Import.class})
final class BaseCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** {@code lorastream base import --onnx FILE ...}. Exit codes: 0 written, 2 refused (message on stderr). */
  @Command(name = "import", mixinStandardHelpOptions = true,
      description = "Import a BERT-family encoder (BERT, MiniLM) from its ONNX export or a Hugging Face model "
          + "directory, and add a classification head.")
  static final class Import implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--onnx", paramLabel = "FILE", description = "The model's ONNX export.")
    Path onnx;

    @Option(names = "--hf", paramLabel = "DIR",
        description = "A Hugging Face model directory (config.json, model.safetensors) instead of --onnx.")
    Path hf;

    @Option(names = "--tokenizer", paramLabel = "FILE",
        description = "The model's tokenizer.json, carried in the base so that services can tokenize raw text "
            + "(with --hf: DIR/tokenizer.json when present).")
    Path tokenizerFile;

    @Option(names = "--heads", defaultValue = "0",
        description = "Attention heads: required with --onnx (no tensor of the export holds it; 12 for "
            + "all-MiniLM-L6-v2), read from config.json with --hf.")
    int heads;

    @Option(names = "--seq-len", defaultValue = "128",
        description = "Token window: rows are truncated and padded to it. Default: ${DEFAULT-VALUE}.")
    int seqLen;

    @Option(names = "--classes", required = true, description = "Classes of the new head.")
    int classes;

    @Option(names = "--pooling", defaultValue = "mean", paramLabel = "mean|cls",
        description = "What the head reads: the mean of the token states, or [CLS]. Default: ${DEFAULT-VALUE}.")
    String pooling;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Base-model file to write.")
    Path out;

    @Option(names = "--id", paramLabel = "ID",
        description = "Base id recorded in the file and in every snapshot. Default: the ONNX file's name.")
    String id;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the head's initialization. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() {
      var err = spec.commandLine().getErr();
      var console = spec.commandLine().getOut();
      if ((onnx == null) == (hf == null)) {
        return refuse(err, "give exactly one of --onnx FILE and --hf DIR");
      }
      if (onnx != null && !Files.isRegularFile(onnx)) {
        return refuse(err, "--onnx " + onnx + " is not a file; fetch all-MiniLM-L6-v2 with './lorastream data minilm'");
      }
      if (onnx != null && heads <= 0) {
        return refuse(err, "--heads is required with --onnx (12 for all-MiniLM-L6-v2)");
      }
      if (tokenizerFile != null && !Files.isRegularFile(tokenizerFile)) {
        return refuse(err, "--tokenizer " + tokenizerFile + " is not a file");
      }
      if (tokenizerFile != null && hf != null) {
        return refuse(err, "--tokenizer goes with --onnx; with --hf the directory's tokenizer.json is used");
      }
      Path source = onnx != null ? onnx : hf;
      if (!ModelSpec.POOL_MEAN.equals(pooling) && !ModelSpec.POOL_CLS.equals(pooling)) {
        return refuse(err, "--pooling must be mean or cls, got " + pooling);
      }
      if (classes < 2 || seqLen < 2) {
        return refuse(err, "--classes and --seq-len must be at least 2");
      }
      String baseId = id != null ? id : source.getFileName().toString().replaceFirst("\\.onnx$", "");
      try {
        long t0 = System.nanoTime();
        BertImporter.Options options = new BertImporter.Options(heads, seqLen, classes, pooling, seed);
        BaseModel imported;
        if (onnx != null) {
          console.printf(Locale.ROOT, "reading %s (%d MB)%n", onnx, Files.size(onnx) >> 20);
          console.flush();
          OnnxGraph graph;
          try (InputStream in = new BufferedInputStream(Files.newInputStream(onnx), 1 << 20)) {
            graph = OnnxGraph.read(in);
          }
          console.printf(Locale.ROOT, "read %d initializers and %d nodes in %.1f s; mapping to a bert base%n",
              graph.initializers().size(), graph.nodes().size(), (System.nanoTime() - t0) / 1e9);
          byte[] tokenizer = tokenizerFile == null ? null : Files.readAllBytes(tokenizerFile);
          imported = BertImporter.fromOnnx(graph, options, baseId, tokenizer, Device.cpu());
        } else {
          console.printf(Locale.ROOT, "reading the Hugging Face model in %s%n", hf);
          console.flush();
          imported = BertImporter.fromHuggingFace(hf, options, baseId, Device.cpu());
        }
        try (BaseModel base = imported) {
          Path parent = out.toAbsolutePath().getParent();
          if (parent != null) {
            Files.createDirectories(parent);
          }
          base.save(out);
          ModelSpec s = base.spec();
          console.printf(Locale.ROOT, "wrote %s: %s, %d layers, d=%d, %d heads, ffn %d, vocab %d, window %d, %s pooling, "
                  + "%d classes; %,d parameters; id %s; fingerprint %s; source %s (%.1f s)%n", out, s.kind(), s.layers(),
              s.dModel(), s.heads(), s.ffnSize(), s.vocabSize(), s.seqLen(), s.pooling(), s.numClasses(),
              base.parameterCount(), base.id(), base.fingerprint(), source.toAbsolutePath(), (System.nanoTime() - t0) / 1e9);
          console.println(base.tokenizerJson().isPresent()
              ? "tokenizer: carried in the base (" + base.tokenizerJson().get().length + " bytes); producers may send raw "
                  + "text"
              : "tokenizer: none; producers must send token ids (give --tokenizer FILE to accept raw text)");
        }
        return 0;
      } catch (IllegalArgumentException e) {
        return refuse(err, source + " cannot be imported: " + e.getMessage());
      } catch (IOException e) {
        return refuse(err, "reading " + source + " failed: " + e.getMessage());
      }
    }

    private static int refuse(java.io.PrintWriter err, String message) {
      err.println("lorastream base import: " + message);
      err.flush();
      return 2;
    }
  }
}
