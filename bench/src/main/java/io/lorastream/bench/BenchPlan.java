package io.lorastream.bench;

import java.util.List;
import java.util.Set;

/**
 * The sizes of one benchmark run. {@link #quick()} aims at one to two minutes, {@link #full()} at
 * well under ten minutes on two cores; both run every section unless {@code sections} narrows it.
 * Invalid plans fail at startup naming the flag to fix.
 *
 * @param mode "quick" or "full"
 * @param sections sections to run (see {@link #ALL_SECTIONS})
 * @param ingestExamples examples replayed through ingest (and through the raw pipe)
 * @param trainTopicExamples examples pre-produced to the trainer's input topic
 * @param trainerExamples minimum examples per trainer-overhead run (item 2)
 * @param scalingExamples minimum examples per run of the scaling tables
 * @param trainerSeconds target length of each trainer-overhead window (sized from the in-memory rate)
 * @param scalingSeconds target length of each scaling window (sized from the in-memory rate)
 * @param trainerRepeats rounds of the trainer and wide comparisons (every Kafka run between two in-memory runs; three
 *     in the full run, so that a run caught in a burst of steal time does not move the median)
 * @param batchSizes micro-batch sizes of the scaling table
 * @param ranks ranks of the scaling table
 * @param rolloutSnapshots snapshots per rollout measurement (at least 100)
 * @param fetchMaxWaits fetch.max.wait.ms values of the rollout sweep (the first is the headline)
 * @param inferenceRounds interleaved rounds of the in-process inference comparison
 * @param e2eRequests requests per end-to-end inference run (0 skips it)
 * @param wideRecords 1024-float records produced for the wide-example feeding run (section {@code wide})
 * @param largeMlpBatches micro-batch sizes at which the flops section trains the 1024-4096-4096-16 MLP
 * @param seed seed of the data and the base model
 */
record BenchPlan(String mode, Set<String> sections, int ingestExamples, int trainTopicExamples, int trainerExamples,
    int scalingExamples, double trainerSeconds, double scalingSeconds, int trainerRepeats, List<Integer> batchSizes,
    List<Integer> ranks, int rolloutSnapshots, List<Integer> fetchMaxWaits, int inferenceRounds, int e2eRequests,
    int wideRecords, List<Integer> largeMlpBatches, long seed) {

  static final List<String> ALL_SECTIONS = List.of("ingest", "trainer", "wide", "flops", "rollout", "inference", "scaling", "memory",
      "minilm", "jmh");

  /** Input width of the benchmark examples (the issue asks for 64-float examples). */
  static final int INPUT_SIZE = 64;
  static final int CLASSES = 4;
  static final List<Integer> HIDDEN = List.of(64, 64);

  /** What {@code --profile} selects: the large MLP at b=512 only, or at every size an accelerator needs. */
  static final List<Integer> LARGE_MLP_DEFAULT = List.of(512);
  static final List<Integer> LARGE_MLP_ACCELERATOR = List.of(512, 1024, 2048, 4096);

  BenchPlan {
    sections = Set.copyOf(sections);
    for (String s : sections) {
      if (!ALL_SECTIONS.contains(s)) {
        throw new IllegalArgumentException("--sections: unknown section '" + s + "'; choose from " + ALL_SECTIONS);
      }
    }
    if (rolloutSnapshots < 100) {
      throw new IllegalArgumentException("--rollout-snapshots must be at least 100 (the issue asks for >= 100 snapshots), got "
          + rolloutSnapshots);
    }
    if (fetchMaxWaits.isEmpty() || fetchMaxWaits.stream().anyMatch(f -> f < 0 || f > 500)) {
      throw new IllegalArgumentException("--fetch-max-wait values must be in [0, 500] ms, got " + fetchMaxWaits);
    }
    if (largeMlpBatches.isEmpty() || largeMlpBatches.stream().anyMatch(b -> b < 1)) {
      throw new IllegalArgumentException("large-MLP micro-batch sizes must be >= 1, got " + largeMlpBatches);
    }
    if (batchSizes.stream().anyMatch(b -> b < 1) || ranks.stream().anyMatch(r -> r < 1 || r > 16)) {
      throw new IllegalArgumentException("batch sizes must be >= 1 and ranks in [1, 16], got " + batchSizes + " / " + ranks);
    }
  }

  static BenchPlan quick(long seed) {
    return new BenchPlan("quick", Set.copyOf(ALL_SECTIONS), 20_000, 60_000, 8_000, 4_000, 2.0, 1.0, 1,
        List.of(8, 64, 512), List.of(2, 16), 100, List.of(5), 3, 0, 16 * 4096, LARGE_MLP_DEFAULT, seed);
  }

  static BenchPlan full(long seed) {
    return new BenchPlan("full", Set.copyOf(ALL_SECTIONS), 100_000, 240_000, 32_000, 12_000, 5.0, 2.5, 3,
        List.of(8, 16, 32, 64, 128, 256, 512), List.of(2, 4, 8, 16), 150, List.of(5, 0, 100, 500), 9, 40_000, 40 * 4096, LARGE_MLP_DEFAULT, seed);
  }

  /**
   * Examples for a window of about {@code seconds} at {@code ratePerSecond} (measured in memory),
   * at least {@code min}, and never more than the trainer topic holds past its first micro-batches.
   */
  long examplesFor(double ratePerSecond, double seconds, long min) {
    long cap = trainTopicExamples - 2 * 512;
    return Math.max(Math.min(min, cap), Math.min(cap, (long) (ratePerSecond * seconds)));
  }

  /** Sections in their run order. */
  List<String> orderedSections() {
    return ALL_SECTIONS.stream().filter(sections::contains).toList();
  }

  boolean runs(String section) {
    return sections.contains(section);
  }

  BenchPlan withSections(Set<String> s) {
    return new BenchPlan(mode, s, ingestExamples, trainTopicExamples, trainerExamples, scalingExamples, trainerSeconds,
        scalingSeconds, trainerRepeats, batchSizes, ranks, rolloutSnapshots, fetchMaxWaits, inferenceRounds, e2eRequests,
        wideRecords, largeMlpBatches, seed);
  }

  BenchPlan withLargeMlpBatches(List<Integer> sizes) {
    return new BenchPlan(mode, sections, ingestExamples, trainTopicExamples, trainerExamples, scalingExamples,
        trainerSeconds, scalingSeconds, trainerRepeats, batchSizes, ranks, rolloutSnapshots, fetchMaxWaits, inferenceRounds,
        e2eRequests, wideRecords, List.copyOf(sizes), seed);
  }

  BenchPlan withRollout(int snapshots, List<Integer> waits) {
    return new BenchPlan(mode, sections, ingestExamples, trainTopicExamples, trainerExamples, scalingExamples,
        trainerSeconds, scalingSeconds, trainerRepeats, batchSizes, ranks, snapshots, waits, inferenceRounds, e2eRequests,
        wideRecords, largeMlpBatches, seed);
  }
}
