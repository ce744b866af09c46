package io.lorastream.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClaimsTest {

  static VariantResult v(String name, Variant.Kind kind, String schedule, double acc, Map<String, Integer> ranks,
      List<VariantResult.RankPoint> points) {
    return new VariantResult(name, kind, schedule, 0.01, 1000, acc, acc, acc, acc, 0, 0, 0, 0, 0, 100, 1, ranks,
        List.of(), points, acc, acc, 0.5, "", 0, 0);
  }

  static ExperimentResult result(List<VariantResult> variants) {
    ExperimentSettings s = new ExperimentSettings(Path.of("x"), 1, "cpu", 16, 1, 0.01, 0.001, 16f, List.of(), 10, 100,
        10, 0.01, 1, 0.01, 16, "all");
    Map<String, Object> base = Map.of("parameters", 100_000L, "linearLayers", List.of(
        Map.of("name", "l0.q", "in", 128, "out", 128), Map.of("name", "l0.v", "in", 128, "out", 128),
        Map.of("name", "head", "in", 128, "out", 2)), "spec", "test", "pretrainExamples", 10, "pretrainSeconds", 1.0,
        "pretrainTrainAccuracy", 0.9, "pretrainHoldoutAccuracy", 0.8);
    return new ExperimentResult("t", Map.of(), s, base, 1000, 1000, variants, 1, null);
  }

  @Test
  void accuracyRatioIsCheckedAgainstFullFineTuningAndFailuresAreNamed() {
    Map<String, Integer> qv4 = Map.of("l0.q", 4, "l0.v", 4);
    ExperimentResult r = result(List.of(
        v("full-ft", Variant.Kind.FULL, "", 0.90, Map.of(), List.of()),
        v("lora-r4", Variant.Kind.LORA, "fixed:4", 0.87, qv4, List.of()),
        v("lora-r2", Variant.Kind.LORA, "fixed:2", 0.80, Map.of("l0.q", 2, "l0.v", 2), List.of())));
    List<Claims.Claim> c = Claims.check(r);
    Claims.Claim r4 = c.stream().filter(x -> x.id().equals("accuracy-ratio/lora-r4")).findFirst().orElseThrow();
    assertThat(r4.measured()).isCloseTo(0.87 / 0.90, within(1e-12));
    assertThat(r4.holds()).isTrue();
    Claims.Claim r2 = c.stream().filter(x -> x.id().equals("accuracy-ratio/lora-r2")).findFirst().orElseThrow();
    assertThat(r2.holds()).isFalse();
    assertThat(ExperimentReport.markdown(r, c, List.of(), "cmd", new ExperimentCharts.Charts(List.of(), List.of())))
        .contains("Does not hold: lora-r2");
  }

  @Test
  void parameterReductionIsPerAdaptedLayerAndFailsForNarrowLayers() {
    ExperimentResult r = result(List.of(v("lora-r4", Variant.Kind.LORA, "fixed:4", 0.9, Map.of("l0.q", 4, "l0.v", 4),
        List.of())));
    Claims.Claim p = Claims.check(r).stream().filter(x -> x.id().startsWith("parameter-reduction")).findFirst()
        .orElseThrow();
    // 2 layers of 128x128 = 32,768 weights; r=4 adapters 2 * 4 * 256 = 2,048 -> 93.75% fewer
    assertThat(p.measured()).isCloseTo(1 - 2048.0 / 32768, within(1e-12));
    assertThat(p.holds()).isFalse();
    assertThat(p.detail()).contains("d > 800");
  }

  @Test
  void meanRankIntegratesTheStepFunctionOverExamples() {
    VariantResult p = v("progressive-steps", Variant.Kind.LORA, "steps:2@0,16@5", 0.9, Map.of("l0.q", 16),
        List.of(new VariantResult.RankPoint(0, 2), new VariantResult.RankPoint(500, 16),
            new VariantResult.RankPoint(1000, 16)));
    assertThat(Claims.meanRank(p)).isCloseTo(9.0, within(1e-12));
  }

  @Test
  void missingVariantsLeaveClaimsUncheckedInsteadOfGuessing() {
    ExperimentResult r = result(List.of(v("lora-r8", Variant.Kind.LORA, "fixed:8", 0.9, Map.of("l0.q", 8), List.of())));
    List<Claims.Claim> c = Claims.check(r);
    assertThat(c).allSatisfy(x -> assertThat(x.holds()).isNull());
  }
}
