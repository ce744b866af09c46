package io.lorastream.experiment;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.awt.Shape;
import java.awt.Stroke;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.DefaultDrawingSupplier;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.renderer.xy.XYStepRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Renders the report's PNG charts with JFreeChart, headless: prequential accuracy per window for
 * every variant, and adapter rank over the stream for the progressive variants. X is the number of
 * examples streamed so far, so variants line up example by example. Series are told apart by
 * colour (the Okabe-Ito palette, which colour-blind readers can separate), marker shape and, past
 * eight series, dash pattern; a workload's concept boundaries ({@code data.segments}) are drawn as
 * labelled vertical markers. A chart that cannot be drawn (a minimal image without fonts) is
 * reported in {@link Charts#skipped} and left out: the results are already written by then.
 */
public final class ExperimentCharts {
  public static final String ACCURACY_PNG = "accuracy.png";
  public static final String RANK_PNG = "rank.png";
  /** Key of {@code ExperimentResult.data}: the stream's concepts, each {@code {"start": n, "label": ..}}. */
  public static final String SEGMENTS = "segments";
  private static final int WIDTH = 1000;
  private static final int HEIGHT = 560;
  /** Okabe and Ito's palette for colour-blind readers (black last: it is also the marker colour). */
  private static final Color[] PALETTE = {new Color(0xE69F00), new Color(0x56B4E9), new Color(0x009E73), new Color(0x0072B2),
      new Color(0xD55E00), new Color(0xCC79A7), new Color(0xF0E442), new Color(0x000000)};
  private static final Shape[] SHAPES = DefaultDrawingSupplier.createStandardSeriesShapes();
  private static final float[][] DASHES = {null, {8f, 4f}, {2f, 3f}};

  /** What was drawn, and what could not be, with the reason. */
  public record Charts(List<Path> files, List<String> skipped) {}

  private ExperimentCharts() {
  }

  /** Writes the charts into {@code dir}; a chart that fails is skipped with its reason, never thrown. */
  public static Charts write(ExperimentResult r, Path dir) {
    System.setProperty("java.awt.headless", "true");
    List<Path> files = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    draw(ACCURACY_PNG, () -> accuracy(r, dir.resolve(ACCURACY_PNG)), files, skipped);
    if (r.variants().stream().anyMatch(v -> v.ranks().size() > 0 && Variant.Kind.LORA == v.kind())) {
      draw(RANK_PNG, () -> rank(r, dir.resolve(RANK_PNG)), files, skipped);
    }
    return new Charts(files, skipped);
  }

  interface Drawing {
    Path draw() throws IOException;
  }

  static void draw(String name, Drawing d, List<Path> files, List<String> skipped) {
    try {
      files.add(d.draw());
    } catch (IOException | RuntimeException | LinkageError | InternalError e) {
      // No fonts (a JRE image without fontconfig throws InternalError or UnsatisfiedLinkError) or a full disk.
      String why = name + " not drawn: " + e;
      skipped.add(why);
      System.err.println("experiment: " + why + " (the results and report are written without it)");
    }
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
    XYPlot plot = style(chart, r);
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
    series(renderer, data.getSeriesCount(), 1.6f);
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
    XYPlot plot = style(chart, r);
    XYStepRenderer renderer = new XYStepRenderer();
    series(renderer, data.getSeriesCount(), 2.2f);
    renderer.setDefaultShapesVisible(true);
    plot.setRenderer(renderer);
    NumberAxis y = (NumberAxis) plot.getRangeAxis();
    y.setRange(0, 17);
    y.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
    return file;
  }

  /** Colour, marker and (past the palette) dash of series {@code i}. */
  public static void series(XYLineAndShapeRenderer renderer, int n, float width) {
    for (int i = 0; i < n; i++) {
      renderer.setSeriesPaint(i, paint(i));
      renderer.setSeriesShape(i, SHAPES[i % SHAPES.length]);
      renderer.setSeriesStroke(i, stroke(i, i == 0 ? width + 0.9f : width));
    }
  }

  /** Colour {@code i} of the palette (cycling). */
  public static Color color(int i) {
    return PALETTE[i % PALETTE.length];
  }

  static Paint paint(int i) {
    return color(i);
  }

  /** The line of series {@code i}: solid for the first eight, then dashed, then dotted. */
  public static Stroke stroke(int i, float width) {
    float[] dash = DASHES[(i / PALETTE.length) % DASHES.length];
    return dash == null ? new BasicStroke(width)
        : new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, dash, 0f);
  }

  /** White background and light grey grid lines: the look of every lorastream chart. */
  public static XYPlot plain(JFreeChart chart) {
    chart.setBackgroundPaint(Color.WHITE);
    XYPlot plot = chart.getXYPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(new Color(220, 220, 220));
    plot.setRangeGridlinePaint(new Color(220, 220, 220));
    return plot;
  }

  private static XYPlot style(JFreeChart chart, ExperimentResult r) {
    XYPlot plot = plain(chart);
    for (Map<?, ?> seg : segments(r)) {
      ValueMarker m = new ValueMarker(((Number) seg.get("start")).doubleValue(), new Color(110, 110, 110),
          new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {4f, 4f}, 0f));
      m.setLabel(String.valueOf(seg.get("label")));
      m.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      m.setLabelPaint(new Color(70, 70, 70));
      m.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
      m.setLabelTextAnchor(TextAnchor.TOP_LEFT);
      plot.addDomainMarker(m);
    }
    return plot;
  }

  /** The workload's concept segments, or none. */
  static List<Map<?, ?>> segments(ExperimentResult r) {
    Object s = r.data() == null ? null : r.data().get(SEGMENTS);
    List<Map<?, ?>> out = new ArrayList<>();
    if (s instanceof List<?> l) {
      for (Object o : l) {
        if (o instanceof Map<?, ?> m && m.get("start") instanceof Number && m.get("label") != null) {
          out.add(m);
        }
      }
    }
    return out;
  }
}
