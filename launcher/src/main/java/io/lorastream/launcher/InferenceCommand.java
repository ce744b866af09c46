package io.lorastream.launcher;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.metrics.MetricsConfig;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.inference.InferenceConfig;
import io.lorastream.stream.inference.InferenceService;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lorastream inference}: one inference consumer. It follows the adapters topic, verifies
 * and hot-swaps each new snapshot, and answers inference.requests on inference.predictions.
 */
@Command(name = "inference", mixinStandardHelpOptions = true,
    description = "Serve predictions with the latest verified adapter, hot-swapping new versions.")
final class InferenceCommand implements Callable<Integer> {
  @Mixin ServiceOptions service = new ServiceOptions();

  @Option(names = "--base", paramLabel = "FILE", description = "Base-model file (inference.base.path).")
  String base;

  @Option(names = "--adapter", paramLabel = "ID", description = "Adapter id to serve, * for every adapter (inference.adapter.id). Default: "
      + CommonConfig.DEFAULT_ADAPTER_ID + ".")
  String adapter;

  @Option(names = "--consumer-id", paramLabel = "ID", description = "This consumer's id (inference.consumer.id).")
  String consumerId;

  /** The defaults layer of every setting this command reads (also used by the compose guard test). */
  static Map<String, String> defaults() {
    Map<String, String> defaults = new HashMap<>(CommonConfig.DEFAULTS);
    defaults.putAll(InferenceConfig.DEFAULTS);
    defaults.putAll(io.lorastream.stream.rollout.RolloutConfig.DEFAULTS);
    defaults.putAll(MetricsConfig.DEFAULTS);
    return defaults;
  }

  @Override
  public Integer call() throws Exception {
    Map<String, String> flags = new HashMap<>();
    flags.put(InferenceConfig.BASE_PATH, base);
    flags.put(InferenceConfig.ADAPTER_ID, adapter);
    flags.put(InferenceConfig.CONSUMER_ID, consumerId);
    LayeredConfig cfg = service.load(defaults(), flags);
    CommonConfig common = new CommonConfig(cfg);
    InferenceConfig ic = InferenceConfig.from(cfg);
    CountDownLatch done = new CountDownLatch(1);
    ServiceMetrics metrics = ServiceMetrics.start(cfg, "inference");
    InferenceService svc;
    try {
      svc = InferenceService.start(ic, common, LorastreamSerdes.create(common.registryConfig()), metrics.kafkaClients());
    } catch (Exception e) {
      metrics.close();
      throw e;
    }
    InferenceMeters.bind(metrics, svc);
    metrics.url().ifPresent(u -> System.out.println("metrics: " + metrics.describe()));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      svc.close();
      metrics.close();
      done.countDown();
    }, "lorastream-inference-shutdown"));
    System.out.println("inference consumer " + ic.consumerId() + " serving adapter " + ic.adapterId() + "; Ctrl-C to stop");
    done.await();
    return 0;
  }
}
