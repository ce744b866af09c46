package io.lorastream.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class FlopModelTest {

  // fc0: 2 -> 3, head: 3 -> 2, rank 1 on both; counted by hand in the comments below.
  private static final List<FlopModel.Layer> TINY = List.of(
      new FlopModel.Layer("fc0", 2, 3, 1), new FlopModel.Layer("head", 3, 2, 1));

  @Test
  void countsATinyAdaptedMlpByHand() {
    FlopModel.Breakdown b = FlopModel.microBatch(TINY, 4, 2);
    assertThat(b.forwardBase()).isEqualTo(48 + 48); // 2*4*2*3 + 2*4*3*2
    assertThat(b.forwardAdapter()).isEqualTo((16 + 24) + (24 + 16)); // 2nir + 2nro per layer
    assertThat(b.backwardAdapterParams()).isEqualTo(64 + 56); // 2nro + 2nor + 2nir per layer
    assertThat(b.backwardInputBase()).isEqualTo(48); // only the head passes gradients down: 2*4*2*3
    assertThat(b.backwardInputAdapter()).isEqualTo(24); // 2*4*1*3
    // bias 12+8, scale/add 24+16, ReLU 12, loss 7*4*2
    assertThat(b.forwardElementwise()).isEqualTo(12 + 8 + 24 + 16 + 12 + 56);
    // dU 12+8, input-grad sum 12, ReLU mask 12, loss backward 4*4*2
    assertThat(b.backwardElementwise()).isEqualTo(12 + 8 + 12 + 12 + 32);
    assertThat(b.bookkeeping()).isEqualTo(3 * 10); // P = 1*(2+3) + 1*(3+2)
    assertThat(b.matmul()).isEqualTo(368);
    assertThat(b.total()).isEqualTo(602);
    assertThat(FlopModel.optimizerStep(TINY)).isEqualTo(160);
    assertThat(FlopModel.perMicroBatch(TINY, 4, 2, 2)).isEqualTo(602 + 80.0);
  }

  @Test
  void matmulListAddsUpToTheMatmulCount() {
    List<FlopModel.Layer> mlp = List.of(new FlopModel.Layer("fc0", 64, 64, 16), new FlopModel.Layer("fc1", 64, 64, 16),
        new FlopModel.Layer("head", 64, 4, 16));
    for (int n : new int[] {1, 16, 512}) {
      long listed = FlopModel.matmuls(mlp, n).stream().mapToLong(FlopModel.Matmul::flops).sum();
      assertThat(listed).isEqualTo(FlopModel.microBatch(mlp, n, 4).matmul());
    }
    assertThat(FlopModel.matmuls(TINY, 4)).hasSize(6 + 8);
  }

  @Test
  void withoutAdaptersOnlyTheForwardPassRemains() {
    List<FlopModel.Layer> frozen = List.of(new FlopModel.Layer("fc0", 8, 5, 0), new FlopModel.Layer("head", 5, 3, 0));
    FlopModel.Breakdown b = FlopModel.microBatch(frozen, 10, 3);
    assertThat(b.matmul()).isEqualTo(2L * 10 * 8 * 5 + 2L * 10 * 5 * 3);
    assertThat(b.backwardAdapterParams() + b.backwardInputBase() + b.backwardInputAdapter()).isZero();
    assertThat(FlopModel.adapterParameters(frozen)).isZero();
  }

  @Test
  void flopsGrowLinearlyWithTheMicroBatch() {
    long one = FlopModel.microBatch(TINY, 1, 2).total() - FlopModel.microBatch(TINY, 1, 2).bookkeeping();
    long many = FlopModel.microBatch(TINY, 32, 2).total() - FlopModel.microBatch(TINY, 32, 2).bookkeeping();
    assertThat(many).isEqualTo(32 * one);
  }

  @Test
  void rejectsLayersThatDoNotChain() {
    assertThatThrownBy(() -> FlopModel.microBatch(List.of(new FlopModel.Layer("fc0", 4, 8, 1),
        new FlopModel.Layer("head", 6, 2, 1)), 1, 2)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("head");
    assertThatThrownBy(() -> FlopModel.microBatch(TINY, 0, 2)).isInstanceOf(IllegalArgumentException.class);
  }
}
