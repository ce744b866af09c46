package io.lorastream.lora.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.ModelSpec;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * Pins the optimizer step to its documented math, computed independently on the host from the
 * autograd gradients: L2 term 2*lambda*P, global-norm clip, bias-corrected AdamW moments, decoupled
 * weight decay. The learner runs the step as one fused native update per tensor, so this is what
 * says the fusion did not change the algorithm. Settings make every term matter: clipping active,
 * non-zero decay and L2, several steps so the moments carry history.
 */
class OptimizerMathTest {

  @Test
  void everyStepMatchesAHostAdamWReference() {
    ModelSpec spec = ModelSpec.demoDefault(5);
    double lr = 0.02;
    double l2 = 0.05;
    double wd = 0.1;
    double clip = 0.5;
    LearnerConfig tc = LearnerConfig.defaults().withLr(lr).withL2Lambda(l2).withWeightDecay(wd).withClipNorm(clip)
        .withAccumulationSteps(1).withSchedule(RankSchedule.fixed(3));
    AdapterConfig ac = AdapterConfig.defaults().withInitStd(0.1);
    Random rnd = new Random(11);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        OnlineLearner learner = OnlineLearner.create(base, ac, tc, DataType.FLOAT64)) {
      Fixtures.randomizeB(learner.model(), rnd, 0.05);
      Map<String, double[]> p = new LinkedHashMap<>();
      Map<String, double[]> m = new LinkedHashMap<>();
      Map<String, double[]> v = new LinkedHashMap<>();
      for (LayerInfo l : learner.model().targets()) {
        p.put("A." + l.name(), learner.model().a(l.name()));
        p.put("B." + l.name(), learner.model().b(l.name()));
      }
      p.forEach((k, x) -> {
        m.put(k, new double[x.length]);
        v.put(k, new double[x.length]);
      });
      boolean clipped = false;
      for (int t = 1; t <= 4; t++) {
        // Start each step from the learner's own parameters, so a float32 rounding in one step
        // does not make the next step's gradients differ; m and v carry the host's history.
        for (LayerInfo l : learner.model().targets()) {
          p.put("A." + l.name(), learner.model().a(l.name()));
          p.put("B." + l.name(), learner.model().b(l.name()));
        }
        float[] x = Fixtures.gaussianFloats(rnd, 16 * 32, 1.0);
        int[] y = Fixtures.labels(rnd, 16, 4);
        LoraModel.LossAndGradients lg = learner.model().lossAndGradients(x, y, null);
        Map<String, double[]> g = new LinkedHashMap<>();
        double sq = 0;
        for (String k : p.keySet()) {
          String layer = k.substring(2);
          double[] raw = k.startsWith("A.") ? lg.gradA().get(layer) : lg.gradB().get(layer);
          double[] gk = new double[raw.length];
          for (int i = 0; i < gk.length; i++) {
            gk[i] = raw[i] + 2 * l2 * p.get(k)[i];
            sq += gk[i] * gk[i];
          }
          g.put(k, gk);
        }
        double norm = Math.sqrt(sq);
        double c = norm > clip ? clip / norm : 1.0;
        clipped |= c < 1;
        double bc1 = 1 - Math.pow(tc.beta1(), t);
        double bc2 = 1 - Math.pow(tc.beta2(), t);
        for (String k : p.keySet()) {
          double[] pk = p.get(k);
          double[] mk = m.get(k);
          double[] vk = v.get(k);
          double[] gk = g.get(k);
          for (int i = 0; i < pk.length; i++) {
            mk[i] = tc.beta1() * mk[i] + (1 - tc.beta1()) * c * gk[i];
            vk[i] = tc.beta2() * vk[i] + (1 - tc.beta2()) * c * c * gk[i] * gk[i];
            pk[i] -= lr * wd * pk[i];
            pk[i] -= lr * (mk[i] / bc1) / (Math.sqrt(vk[i] / bc2) + tc.eps());
          }
        }

        StepResult r = learner.trainMicroBatch(x, y, null);

        assertThat(r.stepped()).isTrue();
        assertThat(r.gradNorm()).isCloseTo(norm, Offset.offset(1e-9 * norm));
        for (LayerInfo l : learner.model().targets()) {
          // The fused update takes its scalars as float32, so 1 - beta2 is off by 1.3e-5 relative:
          // ~1e-7 per lr-sized (0.02) step. A real mistake (bias correction, clip, decay) is ~lr.
          assertThat(Fixtures.maxAbsDiff(learner.model().a(l.name()), p.get("A." + l.name()))).isLessThan(1e-6);
          assertThat(Fixtures.maxAbsDiff(learner.model().b(l.name()), p.get("B." + l.name()))).isLessThan(1e-6);
        }
      }
      assertThat(clipped).as("the settings must exercise clipping").isTrue();
    }
  }
}
