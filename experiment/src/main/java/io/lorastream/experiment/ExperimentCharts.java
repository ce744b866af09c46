package io.lorastream.experiment;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.renderer.xy.XYStepRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Renders the report's PNG charts with JFreeChart, headless: prequential accuracy per window for
 * every variant, and adapter rank over the stream for the progressive variants. X is the number of
 * examples streamed so far, so variants line up example by example.
 */
public final class ExperimentCharts {
  public static final String ACCURACY_PNG = "accuracy.png";
  public static final String RANK_PNG = "rank.png";
  private static final int WIDTH = 1000;
  private static final int HEIGHT = 560;

  private ExperimentCharts() {
  }

  /** Writes the charts into {@code dir}; returns the files written. */
  public static List<Path> write(ExperimentResult r, Path dir) throws IOException {
    System.setProperty("java.awt.headless", "true");
    List<Path> files = new ArrayList<>();
    files.add(accuracy(r, dir.resolve(ACCURACY_PNG)));
    if (r.variants().stream().anyMatch(v -> v.ranks().size() > 0 && Variant.Kind.LORA == v.kind())) {
      files.add(rank(r, dir.resolve(RANK_PNG)));
    }
    return files;
  }

  private static Path accuracy(ExperimentResult r, Path file) throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    for (VariantResult v : r.variants()) {
      XYSeries s = new XYSeries(v.name());
      for (PrequentialScore.Window w : v.windows()) {
        s.add(w.end(), w.accuracy());
      }
      data.addSeries(s);
    }
    JFreeChart chart = org.jfree.chart.ChartFactory.createXYLineChart(
        r.workload() + ": prequential accuracy per window of " + r.settings().window() + " examples",
        "examples streamed", "accuracy", data, PlotOrientation.VERTICAL, true, false, false);
    XYPlot plot = style(chart);
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
    for (int i = 0; i < data.getSeriesCount(); i++) {
      renderer.setSeriesStroke(i, new BasicStroke(i == 0 ? 2.5f : 1.6f));
    }
    plot.setRenderer(renderer);
    ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
    ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
    return file;
  }

  private static Path rank(ExperimentResult r, Path file) throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    for (VariantResult v : r.variants()) {
      if (v.kind() != Variant.Kind.LORA || !Variant.isProgressive(v.schedule())) {
        continue;
      }
      XYSeries s = new XYSeries(v.name());
      for (VariantResult.RankPoint p : v.ranks()) {
        s.add(p.examples(), p.rank());
      }
      data.addSeries(s);
    }
    JFreeChart chart = org.jfree.chart.ChartFactory.createXYLineChart(r.workload() + ": adapter rank over the stream",
        "examples streamed", "rank", data, PlotOrientation.VERTICAL, true, false, false);
    XYPlot plot = style(chart);
    XYStepRenderer renderer = new XYStepRenderer();
    for (int i = 0; i < data.getSeriesCount(); i++) {
      renderer.setSeriesStroke(i, new BasicStroke(2.2f));
    }
    plot.setRenderer(renderer);
    NumberAxis y = (NumberAxis) plot.getRangeAxis();
    y.setRange(0, 17);
    y.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
    return file;
  }

  private static XYPlot style(JFreeChart chart) {
    chart.setBackgroundPaint(Color.WHITE);
    XYPlot plot = chart.getXYPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(new Color(220, 220, 220));
    plot.setRangeGridlinePaint(new Color(220, 220, 220));
    return plot;
  }
}
