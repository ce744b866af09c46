package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.lora.bench.ThroughputBench;
import org.junit.jupiter.api.Test;

/** Prints training throughput for the record; speed is not asserted (that belongs in benchmarks). */
class ThroughputReportTest {

  @Test
  void printsOnlineLearnerThroughputAtB32R16() {
    String line = ThroughputBench.run(32, 16, 500);
    System.out.println(line);
    assertThat(line).contains("examples/s");
  }
}
