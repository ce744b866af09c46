package io.lorastream.launcher.bench;

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
 * @param trainerExamples examples per trainer-overhead run (item 2)
 * @param scalingExamples examples per run of the scaling tables
 * @param batchSizes micro-batch sizes of the scaling table
 * @param ranks ranks of the scaling table
 * @param rolloutSnapshots snapshots per rollout measurement (at least 100)
 * @param fetchMaxWaits fetch.max.wait.ms values of the rollout sweep (the first is the headline)
 * @param inferenceRounds interleaved rounds of the in-process inference comparison
 * @param e2eRequests requests per end-to-end inference run (0 skips it)
 * @param seed seed of the data and the base model
 */
record BenchPlan(String mode, Set<String> sections, int ingestExamples, int trainTopicExamples, int trainerExamples,
    int scalingExamples, List<Integer> batchSizes, List<Integer> ranks, int rolloutSnapshots, List<Integer> fetchMaxWaits,
    int inferenceRounds, int e2eRequests, long seed) {

  static final List<String> ALL_SECTIONS = List.of("ingest", "trainer", "flops", "rollout", "inference", "scaling", "memory");

  /** Input width of the benchmark examples (the issue asks for 64-float examples). */
  static final int INPUT_SIZE = 64;
  static final int CLASSES = 4;
  static final List<Integer> HIDDEN = List.of(64, 64);

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
    if (batchSizes.stream().anyMatch(b -> b < 1) || ranks.stream().anyMatch(r -> r < 1 || r > 16)) {
      throw new IllegalArgumentException("batch sizes must be >= 1 and ranks in [1, 16], got " + batchSizes + " / " + ranks);
    }
  }

  static BenchPlan quick(long seed) {
    return new BenchPlan("quick", Set.copyOf(ALL_SECTIONS), 20_000, 16_000, 8_000, 4_000, List.of(8, 64, 512),
        List.of(2, 16), 100, List.of(5), 3, 0, seed);
  }

  static BenchPlan full(long seed) {
    return new BenchPlan("full", Set.copyOf(ALL_SECTIONS), 100_000, 48_000, 32_000, 12_000,
        List.of(8, 16, 32, 64, 128, 256, 512), List.of(2, 4, 8, 16), 150, List.of(5, 0, 100, 500), 7, 40_000, seed);
  }

  boolean runs(String section) {
    return sections.contains(section);
  }

  BenchPlan withSections(Set<String> s) {
    return new BenchPlan(mode, s, ingestExamples, trainTopicExamples, trainerExamples, scalingExamples, batchSizes, ranks,
        rolloutSnapshots, fetchMaxWaits, inferenceRounds, e2eRequests, seed);
  }

  BenchPlan withRollout(int snapshots, List<Integer> waits) {
    return new BenchPlan(mode, sections, ingestExamples, trainTopicExamples, trainerExamples, scalingExamples, batchSizes,
        ranks, snapshots, waits, inferenceRounds, e2eRequests, seed);
  }
}
