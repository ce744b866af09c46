package io.lorastream.launcher;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.Devices;
import io.lorastream.metrics.MetricsConfig;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.eval.EvalService;
import io.lorastream.stream.inference.InferenceConfig;
import io.lorastream.stream.inference.InferenceService;
import io.lorastream.stream.ingest.IngestService;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.stream.control.RolloutController;
import io.lorastream.stream.rollout.RolloutConfig;
import io.lorastream.stream.serving.AdapterSubscriber;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lorastream stream-app}: the Kafka Streams side. Always runs ingest (validate, dedupe,
 * route, dead-letter); with {@code --base} it also runs prequential evaluation, which needs the
 * base model to score the frozen and the adapted model on every training example, and the rollout
 * controller ({@code rollout.controller.enabled}), which verifies snapshots against the same base
 * and gates candidates on the holdout stream.
 */
@Command(name = "stream-app", mixinStandardHelpOptions = true,
    description = "Run ingest (examples.raw -> train/eval/dlq) and, with --base, prequential evaluation.")
final class StreamAppCommand implements Callable<Integer> {
  @Mixin ServiceOptions service = new ServiceOptions();

  @Option(names = "--base", paramLabel = "FILE", description = "Base-model file; enables prequential evaluation.")
  String base;

  @Option(names = "--adapter", paramLabel = "ID", description = "Adapter (task) to evaluate (inference.adapter.id). Default: "
      + CommonConfig.DEFAULT_ADAPTER_ID + ".")
  String adapter;

  /**
   * The defaults layer of every setting this command reads: ingest/eval, and inference.* for the
   * evaluator's adapter follower (also used by the compose guard test).
   */
  static Map<String, String> defaults() {
    Map<String, String> defaults = new HashMap<>(CommonConfig.DEFAULTS);
    defaults.putAll(StreamAppConfig.DEFAULTS);
    defaults.putAll(InferenceConfig.DEFAULTS);
    defaults.putAll(MetricsConfig.DEFAULTS);
    defaults.putAll(RolloutConfig.DEFAULTS);
    return defaults;
  }

  @Override
  public Integer call() throws Exception {
    LayeredConfig cfg = service.load(defaults(), Map.of());
    CommonConfig common = new CommonConfig(cfg);
    StreamAppConfig app = StreamAppConfig.from(cfg);
    ServiceMetrics metrics = ServiceMetrics.start(cfg, "stream-app");
    LorastreamSerdes serdes = LorastreamSerdes.create(common.registryConfig());
    CountDownLatch done = new CountDownLatch(1);
    IngestService ingest = new IngestService(common, app, serdes);
    AdapterSubscriber subscriber = null;
    EvalService eval = null;
    RolloutController controller = null;
    BaseModel model = null;
    if (base != null) {
      Map<String, String> inf = new HashMap<>();
      inf.put(InferenceConfig.BASE_PATH, base);
      inf.put(InferenceConfig.ADAPTER_ID, adapter == null ? CommonConfig.DEFAULT_ADAPTER_ID : adapter);
      inf.put(InferenceConfig.CONSUMER_ID, "stream-app-eval");
      InferenceConfig ic = InferenceConfig.from(service.load(defaults(), inf));
      model = BaseModel.load(java.nio.file.Path.of(base), Devices.resolve(ic.device()));
      subscriber = InferenceService.startSubscriber(ic, common, serdes, model, metrics.kafkaClients(),
          AdapterMeters.EVAL_ADAPTERS);
      subscriber.awaitCaughtUp(Duration.ofSeconds(30));
      eval = new EvalService(common, app, serdes, subscriber);
      RolloutConfig rollout = RolloutConfig.from(cfg, InferenceConfig.HMAC_KEY);
      if (rollout.controllerEnabled()) {
        controller = RolloutController.start(rollout, common, serdes, model, metrics.kafkaClients());
      }
    }
    final RolloutController rc = controller;
    final AdapterSubscriber sub = subscriber;
    final EvalService ev = eval;
    final BaseModel m = model;
    IngestMeters.bind(metrics, ingest);
    if (eval != null) {
      StreamsHealth.bind(metrics, "eval", ev::state);
      metrics.bindStreams("eval", ev.kafkaStreams());
      EvalMeters.bind(metrics, ev);
      AdapterMeters.bind(metrics, sub, "stream-app-eval", AdapterMeters.EVAL_ADAPTERS);
    }
    metrics.url().ifPresent(u -> System.out.println("metrics: " + metrics.describe()));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      closeQuietly(rc);
      closeQuietly(ev);
      closeQuietly(sub);
      closeQuietly(ingest);
      closeQuietly(m);
      closeQuietly(metrics);
      done.countDown();
    }, "lorastream-stream-app-shutdown"));
    ingest.start();
    if (eval != null) {
      eval.start();
    }
    System.out.println("stream-app running (ingest" + (eval != null ? " + prequential evaluation" : "")
        + (rc != null ? " + rollout controller" : "") + "); Ctrl-C to stop");
    done.await();
    return 0;
  }

  static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      System.err.println("lorastream: error while closing " + c + ": " + e);
    }
  }
}
