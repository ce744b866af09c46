package io.lorastream.lora.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.adapter.AdapterConfig;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.adapter.Scaling;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The DJL serving engine: same function as the unmerged forward and the host engine; device memory freed on retire. */
class DeviceMergedModelTest {

  @Test
  void mlpMergedOnTheDeviceEqualsUnmergedLoraAndTheHostMerge() {
    Random rnd = new Random(4);
    ModelSpec spec = ModelSpec.demoDefault(8);
    int n = 50;
    float[] x = Fixtures.gaussianFloats(rnd, n * spec.inputSize(), 1.0);
    AdapterConfig ac = AdapterConfig.defaults().withRank(8)
        .withOverride("fc1", new AdapterConfig.LayerOverride(2, 3f, Scaling.RSLORA));
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        LoraModel m = LoraModel.create(base, ac)) {
      Fixtures.randomizeB(m, rnd, 0.05);
      double[] lora = m.logits(x, n);
      assertThat(Fixtures.maxAbsDiff(lora, LoraModel.toDouble(base.logits(x, n)))).isGreaterThan(0.1);
      MergedClassifier device = m.merge(ServingEngine.DJL);
      MergedModel host = m.merge();
      int c = spec.numClasses();
      double worst = 0;
      double engines = 0;
      for (int i = 0; i < n; i++) {
        float[] xi = Arrays.copyOfRange(x, i * spec.inputSize(), (i + 1) * spec.inputSize());
        float[] z = device.logits(xi);
        float[] h = host.logits(xi);
        for (int k = 0; k < c; k++) {
          worst = Math.max(worst, Math.abs(z[k] - lora[i * c + k]));
          engines = Math.max(engines, Math.abs(z[k] - h[k]));
        }
      }
      assertThat(worst).isLessThanOrEqualTo(1e-5);
      assertThat(engines).isLessThanOrEqualTo(1e-5);
      assertThat(device.ranks()).isEqualTo(m.ranks());
      assertThat(device.engine()).isEqualTo("djl:cpu()");
      assertThat(host.engine()).isEqualTo("java");
      device.retire();
    }
  }

  @Test
  void theFrozenBaseOnTheDeviceIsTheBasesForward() {
    Random rnd = new Random(1);
    ModelSpec spec = Fixtures.tinyBert(ModelSpec.POOL_MEAN, 3);
    try (BaseModel base = BaseModel.create(spec, Device.cpu())) {
      float[] x = Fixtures.tokenRows(rnd, 1, spec.inputSize(), spec.vocabSize(), false);
      DeviceMergedModel frozen = DeviceMergedModel.ofBase(base);
      assertThat(frozen.logits(x)).containsExactly(base.logits(x, 1));
      frozen.retire(); // owns nothing: the base's tensors stay usable
      assertThat(frozen.logits(x)).containsExactly(base.logits(x, 1));
      assertThat(frozen.ranks()).isEmpty();
    }
  }

  @Test
  void badInputGetsAClearErrorBeforeAnyDeviceWork() {
    ModelSpec spec = Fixtures.tinyBert(ModelSpec.POOL_MEAN, 3);
    try (BaseModel base = BaseModel.create(spec, Device.cpu())) {
      DeviceMergedModel m = DeviceMergedModel.ofBase(base);
      assertThatThrownBy(() -> m.logits(new float[spec.inputSize() + 1])).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("expected " + spec.inputSize());
      float[] bad = new float[spec.inputSize()];
      bad[0] = spec.vocabSize(); // one past the vocabulary
      assertThatThrownBy(() -> m.logits(bad)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void retireFreesTheMergedTensorsOnlyAfterTheRequestsInFlight() throws Exception {
    ModelSpec spec = Fixtures.tinyBert(ModelSpec.POOL_MEAN, 5);
    Random rnd = new Random(2);
    try (BaseModel base = BaseModel.create(spec, Device.cpu());
        LoraModel lora = LoraModel.create(base, AdapterConfig.defaults().withTargets(List.of("*", "emb")))) {
      Fixtures.randomizeB(lora, rnd, 0.3);
      DeviceMergedModel m = (DeviceMergedModel) lora.merge(ServingEngine.DJL);
      float[] x = Fixtures.tokenRows(rnd, 1, spec.inputSize(), spec.vocabSize(), false);
      float[] expected = m.logits(x);
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        CountDownLatch started = new CountDownLatch(4);
        List<Future<Integer>> runs = new java.util.ArrayList<>();
        for (int t = 0; t < 4; t++) {
          runs.add(pool.submit(() -> {
            started.countDown();
            int served = 0;
            for (int i = 0; i < 200; i++) {
              try {
                assertThat(m.logits(x)).containsExactly(expected);
                served++;
              } catch (IllegalStateException retired) {
                assertThat(retired).hasMessageContaining("retired");
                break; // every later request is refused too
              }
            }
            return served;
          }));
        }
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        m.retire();
        for (Future<Integer> f : runs) {
          f.get(60, TimeUnit.SECONDS); // a request that was already running finished on intact tensors
        }
      } finally {
        pool.shutdownNow();
      }
      assertThat(m.released()).isTrue();
      assertThatThrownBy(() -> m.logits(x)).isInstanceOf(IllegalStateException.class).hasMessageContaining("retired");
      m.retire(); // idempotent
      // the base and a fresh merge are untouched by the freed version
      assertThat(lora.merge(ServingEngine.DJL).logits(x)).containsExactly(expected);
    }
  }

  @Test
  void autoPicksDjlForLargeBasesAndJavaForSmallOnes() {
    try (BaseModel small = BaseModel.create(ModelSpec.demoDefault(8), Device.cpu())) {
      assertThat(ServingEngine.choose("auto", small)).isEqualTo(ServingEngine.JAVA);
      assertThat(ServingEngine.choose("djl", small)).isEqualTo(ServingEngine.DJL);
      assertThat(ServingEngine.choose(" Java ", small)).isEqualTo(ServingEngine.JAVA);
      assertThatThrownBy(() -> ServingEngine.choose("onnx", small)).hasMessageContaining("auto, java, djl");
    }
    ModelSpec wide = ModelSpec.mlp(2500, List.of(2048), 2, 1); // 5.1 M parameters
    try (BaseModel large = BaseModel.create(wide, Device.cpu())) {
      assertThat(large.parameterCount()).isGreaterThanOrEqualTo(ServingEngine.AUTO_DJL_PARAMETERS);
      assertThat(ServingEngine.choose("auto", large)).isEqualTo(ServingEngine.DJL);
    }
  }
}
