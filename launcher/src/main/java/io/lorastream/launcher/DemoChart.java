package io.lorastream.launcher;

import io.lorastream.experiment.ExperimentCharts;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.renderer.xy.XYStepRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The demo's one-picture story, {@code demo.png}: prequential accuracy of the frozen base and of
 * the adapter per drift phase; the adapter's largest rank and its committed version over the run;
 * and each consumer's commit-to-active latency per version. Drawn with the experiment charts'
 * colour-blind-safe palette and markers. A picture that cannot be drawn (no fonts) is reported by
 * the caller and skipped.
 */
final class DemoChart {
  static final String FILE = "demo.png";
  private static final int WIDTH = 1000;
  private static final int PANEL = 420;

  private DemoChart() {
  }

  /**
   * @param phases the summary's phases (name, frozenAccuracy, adaptedAccuracy)
   * @param timeseries rows of seconds, produced, trained, loss, max rank, version, ... (timeseries.csv)
   * @param latencies per consumer, latency in ms by version
   */
  static Path write(Path dir, List<Map<String, Object>> phases, List<String> timeseries,
      Map<String, SortedMap<Long, Long>> latencies) throws IOException {
    System.setProperty("java.awt.headless", "true");
    BufferedImage img = new BufferedImage(WIDTH, 3 * PANEL, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, img.getWidth(), img.getHeight());
      accuracy(phases).draw(g, new Rectangle2D.Double(0, 0, WIDTH, PANEL));
      growth(timeseries).draw(g, new Rectangle2D.Double(0, PANEL, WIDTH, PANEL));
      latency(latencies).draw(g, new Rectangle2D.Double(0, 2 * PANEL, WIDTH, PANEL));
    } finally {
      g.dispose();
    }
    Path file = dir.resolve(FILE);
    ImageIO.write(img, "png", file.toFile());
    return file;
  }

  private static JFreeChart accuracy(List<Map<String, Object>> phases) {
    DefaultCategoryDataset d = new DefaultCategoryDataset();
    for (Map<String, Object> p : phases) {
      String name = String.valueOf(p.get("name"));
      d.addValue(number(p.get("frozenAccuracy")), "frozen base", name);
      d.addValue(number(p.get("adaptedAccuracy")), "adapted (serving version)", name);
    }
    JFreeChart c = ChartFactory.createBarChart("Prequential accuracy per drift phase", "phase", "accuracy", d,
        PlotOrientation.VERTICAL, true, false, false);
    c.setBackgroundPaint(Color.WHITE);
    CategoryPlot plot = c.getCategoryPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(new Color(220, 220, 220));
    BarRenderer r = (BarRenderer) plot.getRenderer();
    r.setBarPainter(new StandardBarPainter());
    r.setShadowVisible(false);
    r.setSeriesPaint(0, ExperimentCharts.color(1));
    r.setSeriesPaint(1, ExperimentCharts.color(0));
    ((NumberAxis) plot.getRangeAxis()).setRange(0, 1);
    return c;
  }

  private static JFreeChart growth(List<String> timeseries) {
    XYSeries rank = new XYSeries("largest rank");
    XYSeries version = new XYSeries("committed version");
    for (String row : timeseries) {
      String[] f = row.split(",");
      if (f.length >= 6) {
        double secs = Double.parseDouble(f[0]);
        rank.add(secs, Double.parseDouble(f[4]));
        version.add(secs, Double.parseDouble(f[5]));
      }
    }
    XYSeriesCollection ranks = new XYSeriesCollection(rank);
    JFreeChart c = ChartFactory.createXYLineChart("Rank growth and versions over the run", "seconds", "rank", ranks,
        PlotOrientation.VERTICAL, true, false, false);
    XYPlot plot = ExperimentCharts.plain(c);
    XYStepRenderer rr = new XYStepRenderer();
    rr.setSeriesPaint(0, ExperimentCharts.color(3));
    rr.setSeriesStroke(0, new BasicStroke(2.2f));
    plot.setRenderer(0, rr);
    ((NumberAxis) plot.getRangeAxis()).setRange(0, 17);
    NumberAxis vAxis = new NumberAxis("version");
    vAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    plot.setRangeAxis(1, vAxis);
    plot.setDataset(1, new XYSeriesCollection(version));
    plot.mapDatasetToRangeAxis(1, 1);
    XYStepRenderer vr = new XYStepRenderer();
    vr.setSeriesPaint(0, ExperimentCharts.color(4));
    vr.setSeriesStroke(0, ExperimentCharts.stroke(8, 1.6f)); // dashed: the second axis
    plot.setRenderer(1, vr);
    return c;
  }

  private static JFreeChart latency(Map<String, SortedMap<Long, Long>> latencies) {
    XYSeriesCollection d = new XYSeriesCollection();
    latencies.forEach((consumer, byVersion) -> {
      XYSeries s = new XYSeries(consumer);
      byVersion.forEach((v, ms) -> s.add(v.doubleValue(), ms.doubleValue()));
      d.addSeries(s);
    });
    JFreeChart c = ChartFactory.createXYLineChart("Swap latency, commit to active, per version", "version", "ms", d,
        PlotOrientation.VERTICAL, true, false, false);
    XYPlot plot = ExperimentCharts.plain(c);
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
    ExperimentCharts.series(r, d.getSeriesCount(), 1.4f);
    plot.setRenderer(r);
    ((NumberAxis) plot.getDomainAxis()).setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    return c;
  }

  private static double number(Object o) {
    return o instanceof Number n ? n.doubleValue() : Double.NaN;
  }
}
