package io.lorastream.experiment;

import ai.djl.Device;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.train.FullFineTuner;
import io.lorastream.lora.train.HeadFitter;
import io.lorastream.lora.train.Learner;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.lora.train.Pretrainer;
import io.lorastream.trainer.TrainerConfig;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Chooses every method's settings inside the pretraining period, so nothing is tuned on the stream
 * the report scores. The pretraining period is split in time: a base is pretrained (or, for a
 * pretrained encoder, its head fitted) on the first {@value OnlineLinear#TUNE_FIT_SHARE} of it, and
 * each candidate then learns test-then-train over the rest, the tuning slice, exactly as it will on
 * the stream. Candidates: every selected fixed-rank LoRA variant (rank and alpha, including the
 * matched-scale ones) at three learning rates around {@code --lr}, full fine-tuning at three rates
 * around {@code --full-lr}, and both linear baselines (AdaGrad's rate by the same slice, see
 * {@link OnlineLinear#tuned}). The winners set the stream's learning rates and name the LoRA variant,
 * the fixed rank of each scale family and the linear baseline that the paired comparisons use. The
 * base for the stream is then pretrained on the whole period, as before.
 */
final class PretrainingTuner {
  /** Learning-rate multipliers tried around the configured rates. */
  static final double[] LORA_FACTORS = {0.4, 1.0, 2.5};
  static final double[] FULL_FACTORS = {1 / 3.0, 1.0, 3.0};

  /** One candidate's prequential accuracy on the tuning slice. */
  record Trial(String variant, double lr, double accuracy) {}

  /**
   * What the tuning chose.
   *
   * @param loraLr the LoRA learning rate for every LoRA variant on the stream
   * @param fullLr full fine-tuning's rate
   * @param lora the fixed-rank LoRA variant with the best slice accuracy (null when none ran)
   * @param fixedByFamily per scale family ({@code fixed-alpha}, {@code matched}) its best fixed-rank variant
   * @param linear the better linear baseline on the slice (null when none ran)
   */
  record Result(double loraLr, double fullLr, String lora, Map<String, String> fixedByFamily, String linear,
      List<Trial> trials, int fitExamples, int sliceExamples, double seconds) {

    /** The fixed-rank variant a progressive one is judged against. */
    Optional<String> fixedFor(String progressive) {
      return Optional.ofNullable(fixedByFamily.get(progressive.endsWith(Variant.MATCHED) ? MATCHED : FIXED_ALPHA));
    }
  }

  static final String FIXED_ALPHA = "fixed-alpha";
  static final String MATCHED = "matched";

  private PretrainingTuner() {
  }

  /**
   * @param baseOnFit builds the base from the fitting part (pretraining or head fit); closed here
   */
  static Result run(Workload w, ExperimentSettings s, List<Variant> variants, List<Example> pretrain,
      Function<List<Example>, BaseModel> baseOnFit, PrintStream out) {
    long t0 = System.nanoTime();
    int cut = (int) Math.round(pretrain.size() * OnlineLinear.TUNE_FIT_SHARE);
    if (cut < 2 || pretrain.size() - cut < s.microBatch()) {
      throw new IllegalArgumentException("the pretraining period (" + pretrain.size() + " examples) is too short to "
          + "tune on: it needs a fitting part and a slice of at least one micro-batch (" + s.microBatch() + ")");
    }
    List<Example> fit = pretrain.subList(0, cut);
    List<Example> slice = pretrain.subList(cut, pretrain.size());
    out.printf("[%s] tuning on the pretraining period: base on its first %,d examples, candidates scored "
        + "test-then-train on the last %,d%n", w.name(), fit.size(), slice.size());
    List<Trial> trials = new ArrayList<>();
    double loraLr = s.loraLr();
    double fullLr = s.fullLr();
    String lora = null;
    Map<String, String> byFamily = new LinkedHashMap<>();
    String linear = null;
    try (BaseModel base = baseOnFit.apply(fit)) {
      double bestLora = -1;
      Map<String, Double> fixedAtBest = new LinkedHashMap<>();
      Map<Double, Map<String, Double>> byLr = new LinkedHashMap<>();
      for (Variant v : variants) {
        if (v.kind() != Variant.Kind.LORA || v.progressive()) {
          continue;
        }
        for (double f : LORA_FACTORS) {
          double lr = s.loraLr() * f;
          double acc = score(base, slice, s, () -> loraLearner(base, s, v, lr));
          trials.add(new Trial(v.name(), lr, acc));
          byLr.computeIfAbsent(lr, k -> new LinkedHashMap<>()).put(v.name(), acc);
          out.printf(Locale.ROOT, "[%s] tuning %s lr %s: %.4f%n", w.name(), v.name(), fmt(lr), acc);
          if (acc > bestLora) {
            bestLora = acc;
            loraLr = lr;
            lora = v.name();
          }
        }
      }
      if (lora != null) {
        fixedAtBest.putAll(byLr.get(loraLr));
        best(fixedAtBest, n -> !n.endsWith(Variant.MATCHED)).ifPresent(n -> byFamily.put(FIXED_ALPHA, n));
        best(fixedAtBest, Variant::matched).ifPresent(n -> byFamily.put(MATCHED, n));
      }
      if (variants.stream().anyMatch(v -> v.kind() == Variant.Kind.FULL)) {
        double bestFull = -1;
        for (double f : FULL_FACTORS) {
          double lr = s.fullLr() * f;
          double acc = score(base, slice, s, () -> FullFineTuner.create(base, ExperimentRunner.fullFineTuningConfig(s, lr)));
          trials.add(new Trial("full-ft", lr, acc));
          out.printf(Locale.ROOT, "[%s] tuning full-ft lr %s: %.4f%n", w.name(), fmt(lr), acc);
          if (acc > bestFull) {
            bestFull = acc;
            fullLr = lr;
          }
        }
      }
      double bestLinear = -1;
      for (Variant v : variants) {
        if (v.kind() != Variant.Kind.LINEAR) {
          continue;
        }
        OnlineLinear.Tuned t = OnlineLinear.tuned(ExperimentRunner.ruleOf(v), pretrain, w.tokens(),
            ExperimentRunner.linearDim(w, pretrain), w.numClasses(), s.pretrainEpochs());
        trials.add(new Trial(v.name(), t.lr(), t.sliceAccuracy()));
        if (t.sliceAccuracy() > bestLinear) {
          bestLinear = t.sliceAccuracy();
          linear = v.name();
        }
      }
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    out.printf(Locale.ROOT, "[%s] tuned in %.0f s: LoRA %s at lr %s, full fine-tuning lr %s, linear baseline %s%n",
        w.name(), secs, lora == null ? "-" : lora, fmt(loraLr), fmt(fullLr), linear == null ? "-" : linear);
    return new Result(loraLr, fullLr, lora, Map.copyOf(byFamily), linear, List.copyOf(trials), fit.size(),
        slice.size(), secs);
  }

  /** The base for the fitting part: pretrained from scratch, or an encoder's head fitted on it. */
  static Function<List<Example>, BaseModel> baseBuilder(Workload w, ExperimentSettings s, BaseModel encoderOrNull,
      Device device) {
    return fit -> encoderOrNull != null
        ? new HeadFitter(HeadFitter.Config.defaults(s.seed()).withHoldout(ExperimentRunner.PRETRAIN_HOLDOUT), line -> { }).fit(encoderOrNull, fit, "tuning", device).model()
        : new Pretrainer(new Pretrainer.Config(s.pretrainEpochs(), s.pretrainBatch(), s.pretrainLr(),
            ExperimentRunner.PRETRAIN_HOLDOUT, s.seed()))
            .train(w.baseSpec(s.seed()), fit, device).model();
  }

  private static Learner loraLearner(BaseModel base, ExperimentSettings s, Variant v, double lr) {
    TrainerConfig tc = TrainerConfig.of(ExperimentRunner.learningSettings(s, v, lr));
    return OnlineLearner.create(base, tc.adapterConfig(), tc.learnerConfig());
  }

  /** Prequential accuracy of a fresh learner over the slice, in micro-batches of the stream's size. */
  private static double score(BaseModel base, List<Example> slice, ExperimentSettings s,
      java.util.function.Supplier<Learner> learner) {
    int width = base.inputSize();
    int ok = 0;
    int scored = 0;
    try (Learner l = learner.get()) {
      for (int from = 0; from < slice.size(); from += s.microBatch()) {
        int n = Math.min(s.microBatch(), slice.size() - from);
        float[] x = new float[n * width];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
          Example e = slice.get(from + i);
          System.arraycopy(e.features(), 0, x, i * width, width);
          y[i] = e.label();
        }
        int[] p = l.trainMicroBatch(x, y, null).predictions();
        if (p == null) {
          continue; // a skipped non-finite batch is unscored, as on the stream
        }
        for (int i = 0; i < n; i++) {
          ok += p[i] == y[i] ? 1 : 0;
        }
        scored += n;
      }
    }
    return scored == 0 ? 0 : (double) ok / scored;
  }

  private static Optional<String> best(Map<String, Double> scores, java.util.function.Predicate<String> which) {
    return scores.entrySet().stream().filter(e -> which.test(e.getKey()))
        .max(Map.Entry.comparingByValue()).map(Map.Entry::getKey);
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.3g", v);
  }
}
