package io.lorastream.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A chart that cannot be drawn is reported and skipped, never thrown; concept segments come from
 * the workload's data and are drawn; series past the palette get a dash, so 14 variants stay apart.
 */
class ExperimentChartsTest {
  @Test
  void aChartThatCannotBeDrawnIsSkippedWithItsReason() {
    List<Path> files = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    ExperimentCharts.draw("accuracy.png", () -> {
      throw new InternalError("java.awt.FontConfiguration: no fonts");
    }, files, skipped);
    ExperimentCharts.draw("rank.png", () -> {
      throw new UnsatisfiedLinkError("libfontmanager.so");
    }, files, skipped);
    assertThat(files).isEmpty();
    assertThat(skipped).hasSize(2);
    assertThat(skipped.get(0)).contains("accuracy.png not drawn", "no fonts");
    assertThat(skipped.get(1)).contains("rank.png", "libfontmanager");
  }

  @Test
  void segmentsAreReadFromTheWorkloadDataAndDrawn(@TempDir Path dir) throws Exception {
    Map<String, Object> data = Map.of(ExperimentCharts.SEGMENTS, List.of(Map.of("start", 0L, "label", "phase-1 (m=1)"),
        Map.of("start", 500L, "label", "phase-2 (m=4)"), Map.of("label", "no start: ignored")));
    ExperimentResult r = new ExperimentResult("drift", data, ExperimentIT.tiny(dir, 100), Map.of(), 0, 0, List.of(), 0,
        null);
    assertThat(ExperimentCharts.segments(r).stream().map(m -> String.valueOf(m.get("label"))).toList())
        .containsExactly("phase-1 (m=1)", "phase-2 (m=4)");
    ExperimentCharts.Charts c = ExperimentCharts.write(r, dir);
    assertThat(c.skipped()).isEmpty();
    assertThat(ImageIO.read(dir.resolve(ExperimentCharts.ACCURACY_PNG).toFile()).getWidth()).isEqualTo(1000);
  }

  @Test
  void seriesPastThePaletteAreDashedAndColoursCycle() {
    assertThat(ExperimentCharts.color(0)).isEqualTo(ExperimentCharts.color(8));
    assertThat(((java.awt.BasicStroke) ExperimentCharts.stroke(0, 1f)).getDashArray()).isNull();
    assertThat(((java.awt.BasicStroke) ExperimentCharts.stroke(8, 1f)).getDashArray()).isNotNull();
    assertThat(((java.awt.BasicStroke) ExperimentCharts.stroke(16, 1f)).getDashArray())
        .isNotEqualTo(((java.awt.BasicStroke) ExperimentCharts.stroke(8, 1f)).getDashArray());
  }
}
