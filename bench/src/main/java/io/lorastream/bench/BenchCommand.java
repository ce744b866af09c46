package io.lorastream.bench;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lorastream bench}: measures lorastream against its own limits on the embedded broker and
 * writes {@code results/bench-<timestamp>/bench.json} and {@code bench.md}: ingest vs the raw
 * Kafka pipe, trainer through Kafka vs from memory, FLOP/s vs DJL matmul, rollout latency to four
 * consumers, merged vs base vs unmerged inference, and the scaling and memory tables. Flags only;
 * the run lives in {@link BenchRun}. Not a test: it never runs in {@code mvn verify}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Benchmark lorastream on the embedded broker; writes results/bench-<timestamp>/bench.json and bench.md.")
public final class BenchCommand implements Callable<Integer> {
  @Option(names = "--quick", description = "A 1-2 minute run with smaller sizes (default: the full run, about 13 minutes on 2 cores).")
  boolean quick;

  @Option(names = "--sections", split = ",", paramLabel = "LIST",
      description = "Sections to run (default all): ingest,trainer,wide,flops,rollout,inference,scaling,memory,minilm,jmh.")
  List<String> sections;

  @Option(names = "--profile", defaultValue = "default", paramLabel = "default|accelerator",
      description = "Sizes of the flops section's large MLP (1024-4096-4096-16, LoRA r=16 on every layer): default trains it "
          + "at b=512; accelerator at b=512,1024,2048,4096, the sizes a GPU needs (minutes per size on a CPU). "
          + "Default: ${DEFAULT-VALUE}.")
  String profile;

  @Option(names = "--fetch-max-wait", split = ",", paramLabel = "MS",
      description = "fetch.max.wait.ms values for the rollout sweep; the first is the headline (default: 5 quick; 5,0,100,500 full).")
  List<Integer> fetchMaxWaits;

  @Option(names = "--rollout-snapshots", paramLabel = "N", description = "Snapshots per rollout measurement, >= 100 (default: 100 quick, 150 full).")
  Integer rolloutSnapshots;

  @Option(names = "--rollout-gcs", split = ",", paramLabel = "LIST",
      description = "Collectors to compare rollout latency under, each in its own JVM (G1, G1-10ms, ZGC, Parallel, Serial, or none; default: none quick, G1,G1-10ms,ZGC,Parallel full).")
  List<String> rolloutGcs;

  @Option(names = "--minilm", paramLabel = "DIR", defaultValue = MiniLmBench.DEFAULT_DIR,
      description = "all-MiniLM-L6-v2 as fetched by './lorastream data minilm', for the minilm section. Default: ${DEFAULT-VALUE}.")
  Path miniLm;

  @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu[:N]",
      description = "Where every section's tensors live: the base, the learners, the trainer, the matmul reference. "
          + "auto takes the first GPU the PyTorch engine sees, else the CPU. Default: ${DEFAULT-VALUE}.")
  String device;

  @Option(names = "--seed", defaultValue = "42", description = "Seed of data and base model. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--out", paramLabel = "DIR", description = "Output directory. Default: results/bench-<timestamp>.")
  Path out;

  @Option(names = "--wait-quiet", paramLabel = "SECONDS", defaultValue = "0",
      description = "Before starting and before each section, wait up to this long for other processes to use less than a quarter core. Default: ${DEFAULT-VALUE}.")
  int waitQuiet;

  @Option(names = "--verbose", description = "Keep lorastream's INFO logs on the console.")
  boolean verbose;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    BenchPlan plan = quick ? BenchPlan.quick(seed) : BenchPlan.full(seed);
    try {
      if (sections != null && !sections.isEmpty()) {
        plan = plan.withSections(new LinkedHashSet<>(sections));
      }
      switch (profile) {
        case "default" -> { }
        case "accelerator" -> plan = plan.withLargeMlpBatches(BenchPlan.LARGE_MLP_ACCELERATOR);
        default -> throw new IllegalArgumentException("--profile: unknown profile '" + profile
            + "'; choose default or accelerator");
      }
      if (fetchMaxWaits != null || rolloutSnapshots != null) {
        plan = plan.withRollout(rolloutSnapshots != null ? rolloutSnapshots : plan.rolloutSnapshots(),
            fetchMaxWaits != null ? fetchMaxWaits : plan.fetchMaxWaits());
      }
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    List<String> gcs = rolloutGcs != null ? rolloutGcs.stream().filter(g -> !g.equalsIgnoreCase("none")).toList()
        : quick ? List.of() : List.of("G1", "G1-10ms", "ZGC", "Parallel");
    for (String g : gcs) {
      if (!GcComparison.FLAGS.containsKey(g)) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "--rollout-gcs: unknown collector '" + g + "'; choose from " + GcComparison.FLAGS.keySet() + " or none");
      }
    }
    Path dir = out != null ? out
        : Path.of("results", "bench-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    String command = "lorastream bench" + (quick ? " --quick" : "") + (sections != null ? " --sections " + String.join(",", sections) : "")
        + (profile.equals("default") ? "" : " --profile " + profile);
    ai.djl.Device dev;
    try {
      dev = io.lorastream.lora.model.Devices.resolve(device);
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--device: " + e.getMessage());
    }
    command += " --device " + device;
    BenchRun.Outcome o = new BenchRun(plan, dir, gcs, command, System.out, waitQuiet, miniLm, dev).run(verbose);
    return o.failedSections().isEmpty() ? 0 : 1;
  }
}
