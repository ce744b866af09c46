package io.lorastream.lora.bench;

import ai.djl.Device;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.Scaling;
import io.lorastream.lora.data.Example;
import io.lorastream.lora.data.RotatingSubspaceStream;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.train.LearnerConfig;
import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.lora.train.Pretrainer;
import io.lorastream.lora.train.RankSchedule;
import java.util.ArrayList;
import java.util.List;

/**
 * Offline prequential run of the drift stream (no Kafka): pretrains a base on phase 0, then feeds
 * the phases to learners with different rank schedules and prints per-phase test-then-train
 * accuracy next to the frozen base. A benchmark/tuning tool, not a test:
 * {@code java -cp ... io.lorastream.lora.bench.DriftBench [examplesPerPhase] [schedule...]}.
 */
public final class DriftBench {
  private DriftBench() {}

  public static void main(String[] args) throws Exception {
    long perPhase = args.length > 0 ? Long.parseLong(args[0]) : 5000;
    List<String> schedules = args.length > 1 ? List.of(args).subList(1, args.length)
        : List.of("fixed:2", "fixed:16", "progressive");
    double lr = Double.parseDouble(System.getProperty("lr", String.valueOf(LearnerConfig.defaults().lr())));
    double l2 = Double.parseDouble(System.getProperty("l2", String.valueOf(LearnerConfig.defaults().l2Lambda())));
    float alpha = Float.parseFloat(System.getProperty("alpha", String.valueOf(AdapterConfig.defaults().alpha())));
    double initStd = Double.parseDouble(System.getProperty("initStd", String.valueOf(AdapterConfig.defaults().initStd())));
    int b = Integer.parseInt(System.getProperty("b", "32"));
    int k = Integer.parseInt(System.getProperty("k", "1"));
    Scaling mode = Scaling.valueOf(System.getProperty("scaling", AdapterConfig.defaults().scaling().name()));
    long seed = Long.parseLong(System.getProperty("seed", "1"));
    RotatingSubspaceStream.Config d0 = RotatingSubspaceStream.Config.defaults(seed);
    RotatingSubspaceStream.Config cfg = new RotatingSubspaceStream.Config(d0.inputSize(), Integer.getInteger("C", d0.numClasses()),
        seed, d0.planesPerPhase(), d0.angle(), perPhase, d0.teacherHidden());
    int d = cfg.inputSize();
    int classes = cfg.numClasses();
    RotatingSubspaceStream gen = new RotatingSubspaceStream(cfg);
    long t0 = System.nanoTime();
    int preN = Integer.getInteger("preN", 40_000);
    Pretrainer.Config pd = Pretrainer.Config.defaults();
    Pretrainer.Config pc = new Pretrainer.Config(Integer.getInteger("preEpochs", pd.epochs()), Integer.getInteger("preBatch", pd.batchSize()),
        Double.parseDouble(System.getProperty("preLr", String.valueOf(pd.lr()))), 0.1, 7);
    Pretrainer.Result pre = new Pretrainer(pc).train(ModelSpec.mlp(d, List.of(64, 64), classes, seed), gen.phaseSource(0, preN, 99), preN, Device.cpu());
    if (Boolean.getBoolean("preOnly")) {
      System.out.printf("pretrain only: train=%.3f holdout=%.3f in %.1fs%n", pre.trainAccuracy(), pre.holdoutAccuracy(), (System.nanoTime() - t0) / 1e9);
      return;
    }
    System.out.printf("pretrain: train=%.3f holdout=%.3f loss=%.3f in %.1fs%n", pre.trainAccuracy(), pre.holdoutAccuracy(),
        pre.finalLoss(), (System.nanoTime() - t0) / 1e9);
    try (BaseModel base = pre.model()) {
      MergedModel frozen = MergedModel.ofBase(base);
      for (String sched : schedules) {
        LearnerConfig tc = LearnerConfig.defaults().withLr(lr).withL2Lambda(l2).withAccumulationSteps(k).withMicroBatchSize(b)
            .withSchedule(RankSchedule.parse(sched));
        AdapterConfig ac = AdapterConfig.defaults().withAlpha(alpha).withInitStd(initStd).withScaling(mode);
        RotatingSubspaceStream s = new RotatingSubspaceStream(cfg);
        int phases = cfg.phases();
        int[] ok = new int[phases];
        int[] okFrozen = new int[phases];
        int[] n = new int[phases];
        int[] okLate = new int[phases];
        int[] nLate = new int[phases];
        long t1 = System.nanoTime();
        try (OnlineLearner learner = OnlineLearner.create(base, ac, tc)) {
          List<Example> batch = new ArrayList<>();
          while (s.hasNext()) {
            batch.add(s.next());
            if (batch.size() == b || !s.hasNext()) {
              float[] f = new float[batch.size() * d];
              int[] y = new int[batch.size()];
              for (int i = 0; i < batch.size(); i++) {
                System.arraycopy(batch.get(i).features(), 0, f, i * d, d);
                y[i] = batch.get(i).label();
              }
              double[] logits = learner.model().logits(f, batch.size());
              for (int i = 0; i < batch.size(); i++) {
                int p = batch.get(i).phase();
                int best = 0;
                for (int c = 1; c < classes; c++) {
                  if (logits[i * classes + c] > logits[i * classes + best]) {
                    best = c;
                  }
                }
                ok[p] += best == y[i] ? 1 : 0;
                okFrozen[p] += frozen.predict(batch.get(i).features()) == y[i] ? 1 : 0;
                n[p]++;
                if (n[p] > cfg.examplesPerPhase() / 2) {
                  okLate[p] += best == y[i] ? 1 : 0;
                  nLate[p]++;
                }
              }
              learner.trainMicroBatch(f, y, null);
              batch.clear();
            }
          }
          double secs = (System.nanoTime() - t1) / 1e9;
          StringBuilder sb = new StringBuilder(String.format("%-28s", sched));
          for (int p = 0; p < phases; p++) {
            sb.append(String.format(" p%d frozen=%.3f adapted=%.3f (2nd half %.3f) |", p, okFrozen[p] / (double) n[p],
                ok[p] / (double) n[p], okLate[p] / (double) nLate[p]));
          }
          sb.append(String.format(" ranks=%s steps=%d %.0f ex/s", learner.ranks(), learner.optimizerStep(), s.config().totalExamples() / secs));
          System.out.println(sb);
        }
      }
    }
  }
}
