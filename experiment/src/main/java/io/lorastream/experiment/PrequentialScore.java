package io.lorastream.experiment;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Test-then-train bookkeeping for one variant: the (label, prediction) pairs in stream order, each
 * prediction made before the model trained on that example. Windows are consecutive blocks of
 * {@code window} examples; the last window is the final {@code window} examples. F1 is for the
 * positive class when there is one (spam), else the macro average over classes that occur.
 */
public final class PrequentialScore {
  private final int numClasses;
  private final int positiveClass;
  private final int window;
  private int[] labels = new int[1024];
  private int[] predictions = new int[1024];
  private int size;

  /** Accuracy and F1 of one window ending (exclusive) at example {@code end}. */
  public record Window(long end, int examples, double accuracy, double f1) {}

  public PrequentialScore(int numClasses, int positiveClass, int window) {
    if (numClasses < 2 || positiveClass >= numClasses || window < 1) {
      throw new IllegalArgumentException("numClasses >= 2, positiveClass < numClasses and window >= 1 required");
    }
    this.numClasses = numClasses;
    this.positiveClass = positiveClass;
    this.window = window;
  }

  public synchronized void add(int[] ys, int[] preds) {
    if (ys.length != preds.length) {
      throw new IllegalArgumentException(ys.length + " labels but " + preds.length + " predictions");
    }
    if (size + ys.length > labels.length) {
      int cap = Math.max(labels.length * 2, size + ys.length);
      labels = Arrays.copyOf(labels, cap);
      predictions = Arrays.copyOf(predictions, cap);
    }
    System.arraycopy(ys, 0, labels, size, ys.length);
    System.arraycopy(preds, 0, predictions, size, preds.length);
    size += ys.length;
  }

  public synchronized int size() {
    return size;
  }

  public synchronized double accuracy() {
    return accuracy(0, size);
  }

  public synchronized double f1() {
    return f1(0, size);
  }

  /** Accuracy over the final {@code window} examples (all of them if fewer). */
  public synchronized double lastWindowAccuracy() {
    return accuracy(Math.max(0, size - window), size);
  }

  public synchronized double lastWindowF1() {
    return f1(Math.max(0, size - window), size);
  }

  /** Mean recall over the classes that occur: accuracy that a majority-class predictor cannot inflate. */
  public synchronized double balancedAccuracy() {
    long[] n = new long[numClasses];
    long[] hit = new long[numClasses];
    for (int i = 0; i < size; i++) {
      n[labels[i]]++;
      hit[labels[i]] += labels[i] == predictions[i] ? 1 : 0;
    }
    double sum = 0;
    int present = 0;
    for (int c = 0; c < numClasses; c++) {
      if (n[c] > 0) {
        sum += (double) hit[c] / n[c];
        present++;
      }
    }
    return present == 0 ? Double.NaN : sum / present;
  }

  /** Cohen's kappa of predictions against labels: agreement beyond what the two marginals give by chance. */
  public synchronized double kappa() {
    if (size == 0) {
      return Double.NaN;
    }
    long[] byLabel = new long[numClasses];
    long[] byPrediction = new long[numClasses];
    long agree = 0;
    for (int i = 0; i < size; i++) {
      byLabel[labels[i]]++;
      byPrediction[predictions[i]]++;
      agree += labels[i] == predictions[i] ? 1 : 0;
    }
    double po = (double) agree / size;
    double pe = 0;
    for (int c = 0; c < numClasses; c++) {
      pe += (double) byLabel[c] / size * byPrediction[c] / size;
    }
    return pe >= 1 ? Double.NaN : (po - pe) / (1 - pe);
  }

  /** Share of the most frequent label: the accuracy of always answering that class, known in hindsight. */
  public synchronized double majorityRate() {
    long[] n = new long[numClasses];
    for (int i = 0; i < size; i++) {
      n[labels[i]]++;
    }
    return size == 0 ? Double.NaN : (double) Arrays.stream(n).max().orElse(0) / size;
  }

  /** One character per scored example in stream order: {@code 1} correct, {@code 0} wrong (for paired tests). */
  public synchronized String outcomes() {
    StringBuilder b = new StringBuilder(size);
    for (int i = 0; i < size; i++) {
      b.append(labels[i] == predictions[i] ? '1' : '0');
    }
    return b.toString();
  }

  /** Consecutive windows; a trailing partial window is included when it holds at least half a window. */
  public synchronized List<Window> windows() {
    List<Window> out = new ArrayList<>();
    for (int start = 0; start < size; start += window) {
      int end = Math.min(size, start + window);
      if (end - start < window && end - start < (window + 1) / 2 && !out.isEmpty()) {
        break;
      }
      out.add(new Window(end, end - start, accuracy(start, end), f1(start, end)));
    }
    return out;
  }

  private double accuracy(int from, int to) {
    if (to <= from) {
      return Double.NaN;
    }
    int ok = 0;
    for (int i = from; i < to; i++) {
      if (labels[i] == predictions[i]) {
        ok++;
      }
    }
    return (double) ok / (to - from);
  }

  private double f1(int from, int to) {
    if (to <= from) {
      return Double.NaN;
    }
    if (positiveClass >= 0) {
      return f1Of(positiveClass, from, to);
    }
    double sum = 0;
    int classes = 0;
    boolean[] present = new boolean[numClasses];
    for (int i = from; i < to; i++) {
      present[labels[i]] = true;
    }
    for (int c = 0; c < numClasses; c++) {
      if (present[c]) {
        sum += f1Of(c, from, to);
        classes++;
      }
    }
    return classes == 0 ? Double.NaN : sum / classes;
  }

  private double f1Of(int c, int from, int to) {
    long tp = 0;
    long fp = 0;
    long fn = 0;
    for (int i = from; i < to; i++) {
      boolean actual = labels[i] == c;
      boolean predicted = predictions[i] == c;
      if (actual && predicted) {
        tp++;
      } else if (predicted) {
        fp++;
      } else if (actual) {
        fn++;
      }
    }
    // No positives and none predicted: F1 is undefined; 1.0 would flatter, 0 would punish. Report 0
    // only when something was wrong, else NaN.
    if (tp + fp + fn == 0) {
      return Double.NaN;
    }
    return 2.0 * tp / (2.0 * tp + fp + fn);
  }
}
