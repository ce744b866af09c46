package io.lorastream.launcher;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.metrics.MetricsConfig;
import io.lorastream.trainer.AdapterTrainer;
import io.lorastream.trainer.TrainerConfig;
import io.lorastream.trainer.TrainerListener;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lorastream trainer}: trains one adapter from examples.train against any broker and
 * publishes versioned snapshots transactionally. Every trainer.* setting is documented in the
 * README; the common ones have flags here, the rest go through {@code --set}.
 */
@Command(name = "trainer", mixinStandardHelpOptions = true,
    description = "Train one LoRA adapter from examples.train and publish snapshots to adapters.")
final class TrainerCommand implements Callable<Integer> {
  @Mixin ServiceOptions service = new ServiceOptions();

  @Option(names = "--base", paramLabel = "FILE", description = "Base-model file (trainer.base). Default: base-model.lsbase.")
  String base;

  @Option(names = "--adapter", paramLabel = "ID", description = "Adapter id = task to train (trainer.adapter.id). Default: "
      + CommonConfig.DEFAULT_ADAPTER_ID + ".")
  String adapter;

  @Option(names = "--device", paramLabel = "auto|cpu|gpu", description = "DJL device (trainer.device). Default: auto.")
  String device;

  @Option(names = "--rank-schedule", paramLabel = "SPEC", description = "e.g. fixed:4, steps:2@0,4@40,8@100,16@160, plateau:2,4,8,16:window=50:margin=0.01 (trainer.rank.schedule).")
  String rankSchedule;

  /** The defaults layer of every setting this command reads (also used by the compose guard test). */
  static Map<String, String> defaults() {
    Map<String, String> defaults = new HashMap<>(CommonConfig.DEFAULTS);
    defaults.putAll(TrainerConfig.DEFAULTS);
    defaults.putAll(MetricsConfig.DEFAULTS);
    return defaults;
  }

  @Override
  public Integer call() throws Exception {
    Map<String, String> flags = new HashMap<>();
    flags.put(TrainerConfig.BASE, base);
    flags.put(TrainerConfig.ADAPTER_ID, adapter);
    flags.put(TrainerConfig.DEVICE, device);
    flags.put(TrainerConfig.RANK_SCHEDULE, rankSchedule);
    LayeredConfig cfg = service.load(defaults(), flags);
    CommonConfig common = new CommonConfig(cfg);
    TrainerConfig tc = TrainerConfig.from(cfg);
    ServiceMetrics metrics = ServiceMetrics.start(cfg, "trainer");
    TrainerMeters meters = new TrainerMeters(metrics, tc.adapterId(), TrainerListener.NONE);
    AdapterTrainer trainer;
    try {
      trainer = AdapterTrainer.create(tc, common, meters);
    } catch (RuntimeException e) {
      metrics.close();
      throw e;
    }
    meters.bind(trainer);
    metrics.url().ifPresent(u -> System.out.println("metrics: " + metrics.describe()));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      trainer.close(Duration.ofSeconds(60));
      metrics.close();
    }, "lorastream-trainer-shutdown"));
    trainer.run();
    return trainer.failure().isPresent() ? 1 : 0;
  }
}
