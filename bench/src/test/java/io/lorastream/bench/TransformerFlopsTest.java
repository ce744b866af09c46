package io.lorastream.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The transformer FLOP count against totals worked out by hand for tiny shapes. */
class TransformerFlopsTest {

  @Test
  void oneLayerMatchesAHandCount() {
    // n=1, L=2, d=4, h=2 (dh=2), F=8, N=1, C=2, r=1
    TransformerFlops f = new TransformerFlops(1, 2, 4, 2, 8, 1, 2, 1);
    TransformerFlops.Count c = f.count();
    // forward: QKVO 4*2*2*4*4=256, scores+context 2*2*(1*2*2)*2*2=64, FFN 2*2*2*4*8=256,
    // LoRA on Q,V 2*(2*2*4*1 + 2*2*1*4)=64, head 2*1*4*2=16
    assertThat(c.forwardMatmul()).isEqualTo(256 + 64 + 256 + 64 + 16);
    // backward: head dX 16, ff2/ff1 dX 2*128, O dX 64, dP+dV+dQ (no dK in layer 0) 3*32,
    // LoRA per projection dBt+d(xA)+dAt 3*16 (no dX via A in layer 0) for Q and V = 96; no Q/K/V dX in layer 0
    assertThat(c.backwardMatmul()).isEqualTo(16 + 256 + 64 + 96 + 96);
    assertThat(c.adapterParams()).isEqualTo(2 * 1 * (4 + 4));
  }

  @Test
  void layersAboveTheFirstAlsoPassGradientsThroughKAndTheFrozenProjections() {
    TransformerFlops one = new TransformerFlops(1, 2, 4, 2, 8, 1, 2, 1);
    TransformerFlops two = new TransformerFlops(1, 2, 4, 2, 8, 2, 2, 1);
    long headBackward = 16;
    long layer0Backward = one.count().backwardMatmul() - headBackward;
    // layer 1 adds dK (32), Q/K/V dX through W (3*64) and dX via A for Q and V (2*16) on top of layer 0's work
    assertThat(two.count().backwardMatmul()).isEqualTo(headBackward + 2 * layer0Backward + 32 + 3 * 64 + 2 * 16);
    assertThat(two.count().forwardMatmul()).isEqualTo(2 * (one.count().forwardMatmul() - 16) + 16);
    assertThat(two.matmuls(false)).hasSize(2 * 12 + 1);
  }
}
