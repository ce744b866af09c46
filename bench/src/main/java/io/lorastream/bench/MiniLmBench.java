package io.lorastream.bench;

import ai.djl.Device;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.importer.BertImporter;
import io.lorastream.lora.importer.OnnxGraph;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedClassifier;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.text.TextTokenizer;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.lora.train.RankSchedule;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * all-MiniLM-L6-v2 (6 layers, d=384, vocab 30,522) at a 128-token window on this machine's CPU:
 * the import from ONNX beside reading the file, LoRA training (Q and V at r=16, micro-batch 8)
 * beside the frozen forward of the same rows, and the latency of one request through the
 * pure-Java merged serving model beside the DJL forward of the same request. Rows are real
 * tokenizer output of generated sentences long enough to fill the window. Skipped, with the
 * command that fixes it, when the model has not been fetched ({@code ./lorastream data minilm}).
 */
final class MiniLmBench {
  static final String DEFAULT_DIR = "data/minilm/1.19.0-beta29";
  private static final int WINDOW = 128;
  private static final int BATCH = 8;
  private static final String[] WORDS = ("the a meeting offer free prize account report project deadline invoice "
      + "payment click here unsubscribe lottery winner tomorrow thanks please review attached schedule server update "
      + "password security team customer order shipping refund credit loan mortgage cheap pills viagra conference "
      + "agenda minutes budget quarterly results").split(" ");

  private MiniLmBench() {
  }

  static void run(BenchContext ctx, Path dir) throws Exception {
    Path onnx = dir.resolve("all-minilm-l6-v2.onnx");
    Path tok = dir.resolve("tokenizer.json");
    if (!Files.isRegularFile(onnx) || !Files.isRegularFile(tok)) {
      String why = "all-MiniLM-L6-v2 is not in " + dir + "; run ./lorastream data minilm (or give --minilm DIR)";
      ctx.progress("minilm: skipped: %s", why);
      ctx.report.section("minilm", Map.of("skipped", why));
      return;
    }
    Map<String, Object> data = new LinkedHashMap<>();
    long t0 = System.nanoTime();
    byte[] bytes = Files.readAllBytes(onnx);
    double readSeconds = (System.nanoTime() - t0) / 1e9;
    ctx.progress("minilm: importing %s (%d MB)", onnx, bytes.length >> 20);
    long t1 = System.nanoTime();
    OnnxGraph graph = OnnxGraph.read(new ByteArrayInputStream(bytes));
    BaseModel base = BertImporter.fromOnnx(graph, new BertImporter.Options(12, WINDOW, 2, ModelSpec.POOL_MEAN, 7L),
        "all-minilm-l6-v2", Files.readAllBytes(tok), ctx.base.device());
    double importSeconds = (System.nanoTime() - t1) / 1e9 + readSeconds;
    graph = null;
    bytes = null;
    try (base; TextTokenizer tokenizer = TextTokenizer.forBase(base, 0).orElseThrow()) {
      ctx.report.add(Figure.of("minilm", "MiniLM import: ONNX file to a bert base (with its tokenizer)", importSeconds,
          "s", "reading the ONNX file's bytes", readSeconds));
      Random rnd = new Random(ctx.plan.seed());
      int n = 8 * BATCH;
      float[] rows = new float[n * WINDOW];
      int[] labels = new int[n];
      long tokens = 0;
      for (int i = 0; i < n; i++) {
        StringBuilder s = new StringBuilder();
        for (int w = 0; w < 160; w++) {
          s.append(WORDS[rnd.nextInt(WORDS.length)]).append(' ');
        }
        List<Integer> ids = tokenizer.encode(s.toString());
        tokens += ids.size();
        for (int j = 0; j < ids.size(); j++) {
          rows[i * WINDOW + j] = ids.get(j);
        }
        labels[i] = rnd.nextInt(2);
      }
      data.put("window", WINDOW);
      data.put("meanTokensPerRow", Report.round((double) tokens / n));

      ctx.progress("minilm: frozen forward and LoRA training (Q,V r=16) at b=%d, L=%d", BATCH, WINDOW);
      double forward = rate(() -> base.logits(slice(rows, 0), BATCH), BATCH, 2, 4);
      AdapterConfig ac = AdapterConfig.defaults().withTargets(List.of("*.q", "*.v")).withRank(16);
      LearnerConfig lc = LearnerConfig.defaults().withSchedule(RankSchedule.parse("fixed:16"));
      try (OnlineLearner learner = OnlineLearner.create(base, ac, lc)) {
        int[] step = {0};
        double train = rate(() -> {
          int b = step[0]++ % (n / BATCH);
          learner.trainMicroBatch(slice(rows, b), java.util.Arrays.copyOfRange(labels, b * BATCH, (b + 1) * BATCH), null);
        }, BATCH, 2, 6);
        ctx.report.add(Figure.of("minilm", "MiniLM LoRA training, Q+V r=16, b=8, L=128", train, "examples/s",
            "frozen forward of the same rows", forward).withReason(String.format(java.util.Locale.ROOT,
            "%.0f ms of CPU per training example (forward, backward through the frozen encoder, AdamW on %,d adapter "
                + "parameters)", 1000 / train, learner.model().trainableParameters())));
        data.put("trainExamplesPerSecond", Report.round(train));
        data.put("forwardExamplesPerSecond", Report.round(forward));
        data.put("trainableParameters", learner.model().trainableParameters());

        ctx.progress("minilm: serving latency of one request, the two serving engines");
        MergedClassifier host = learner.model().merge(ServingEngine.JAVA);
        MergedClassifier device = learner.model().merge(ServingEngine.DJL);
        float[] one = java.util.Arrays.copyOf(rows, WINDOW);
        double javaMs = 1000 / rate(() -> host.logits(one), 1, 1, 3);
        double djlMs = 1000 / rate(() -> device.logits(one), 1, 2, 5);
        device.retire();
        ctx.report.add(Figure.of("minilm", "MiniLM serving latency, one request, inference.engine=java", javaMs, "ms",
            "inference.engine=djl (" + device.engine() + ", the auto choice at this size)", djlMs));
        data.put("servingMillisJava", Report.round(javaMs));
        data.put("servingMillisDjl", Report.round(djlMs));
      }
      data.put("parameters", base.parameterCount());
      data.put("importSeconds", Report.round(importSeconds));
      ctx.report.section("minilm", data);
    }
  }

  private static float[] slice(float[] rows, int batch) {
    return java.util.Arrays.copyOfRange(rows, batch * BATCH * WINDOW, (batch + 1) * BATCH * WINDOW);
  }

  /** Examples per second of {@code body} (each call handles {@code perCall}), after {@code warm} untimed calls. */
  private static double rate(Runnable body, int perCall, int warm, int timed) {
    for (int i = 0; i < warm; i++) {
      body.run();
    }
    long t = System.nanoTime();
    for (int i = 0; i < timed; i++) {
      body.run();
    }
    return (double) perCall * timed / ((System.nanoTime() - t) / 1e9);
  }
}
