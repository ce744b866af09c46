package io.lorastream.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.lora.model.ModelSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FlopsTest {

  @Test
  void mlpForwardIsTwoFlopsPerWeight() {
    ModelSpec mlp = ModelSpec.mlp(32, List.of(64, 64), 4, 1);
    assertThat(Flops.forward(mlp)).isEqualTo(2.0 * (32 * 64 + 64 * 64 + 64 * 4));
    assertThat(Flops.perExample(mlp, Variant.Kind.FULL, Map.of(), 4)).isEqualTo(3 * Flops.forward(mlp));
    // LoRA r=2 on fc0: two forwards plus three times 2 * 2 * (32 + 64)
    assertThat(Flops.perExample(mlp, Variant.Kind.LORA, Map.of("fc0", 2), 4))
        .isEqualTo(2 * Flops.forward(mlp) + 3 * 2.0 * 2 * (32 + 64));
  }

  @Test
  void encoderForwardCountsEveryTokenAndTheAttentionProducts() {
    // V=50, L=8, d=8, 2 heads, 1 layer, ffn 16, 3 classes
    ModelSpec t = ModelSpec.transformer(50, 8, 8, 2, 1, 16, 3, 1);
    double perToken = 2.0 * (4 * 8 * 8 + 8 * 16 + 16 * 8);
    assertThat(Flops.forward(t)).isEqualTo(8 * perToken + 4.0 * 8 * 8 * 8 + 2.0 * 8 * 3);
    double lora = Flops.adapters(t, Map.of("l0.q", 4, "emb", 2));
    assertThat(lora).isEqualTo(8 * 2.0 * 4 * (8 + 8) + 8 * 2.0 * 2 * 8);
    assertThat(Flops.perExample(t, Variant.Kind.LINEAR, Map.of(), 3)).isEqualTo(4.0 * 9 * 3);
    assertThat(Flops.perExample(t, Variant.Kind.FROZEN, Map.of(), 3)).isEqualTo(Flops.forward(t));
  }
}
