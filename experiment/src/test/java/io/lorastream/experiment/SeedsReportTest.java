package io.lorastream.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SeedsReportTest {

  private static VariantResult v(String name, Variant.Kind kind, double acc, String outcomes) {
    return new VariantResult(name, kind, kind == Variant.Kind.LORA ? "fixed:4" : "", 0.01, outcomes.length(), acc, acc,
        acc, acc, 0, 0, 0, 0, 0, 100, 1, Map.of(), List.of(), List.of(), acc, acc, 0.5, outcomes, 0, 0);
  }

  @Test
  void meansStandardDeviationsAndPerSeedComparisonsAreWritten(@TempDir Path dir) throws Exception {
    ExperimentResult a = ClaimsTest.result(List.of(v("full-ft", Variant.Kind.FULL, 0.80, "1".repeat(80) + "0".repeat(20)),
        v("lora-r4", Variant.Kind.LORA, 0.90, "1".repeat(90) + "0".repeat(10))));
    ExperimentResult b = ClaimsTest.result(List.of(v("full-ft", Variant.Kind.FULL, 0.84, "1".repeat(84) + "0".repeat(16)),
        v("lora-r4", Variant.Kind.LORA, 0.86, "1".repeat(86) + "0".repeat(14))));
    SeedsReport.write(List.of(a, b), List.of(1L, 2L), dir, "cmd");
    String md = Files.readString(dir.resolve(ExperimentReport.REPORT_MD));
    // lora: mean 0.88, sd = sqrt(((0.02)^2 * 2) / 1) = 0.0283
    assertThat(md).contains("over 2 seeds", "| lora-r4 | 0.8800 ± 0.0283 |", "| full-ft | 0.8200 ± 0.0283 |",
        "| LoRA vs full fine-tuning | lora-r4 - full-ft | +0.0600 ± 0.0566 |");
    var json = new ObjectMapper().readTree(dir.resolve(ExperimentReport.RESULTS_JSON).toFile());
    assertThat(json.get("seeds")).hasSize(2);
    assertThat(json.get("variants").get(1).get("accuracy").get("mean").asDouble()).isCloseTo(0.88, within(1e-12));
    assertThat(json.get("comparisons").get(0).get("perSeed")).hasSize(2);
  }
}
