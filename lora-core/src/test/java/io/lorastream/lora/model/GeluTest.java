package io.lorastream.lora.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import org.junit.jupiter.api.Test;

/** The pure-Java erf and GELU that the bert serving forward uses (Java has no erf). */
class GeluTest {
  @Test
  void erfMatchesReferenceValuesAcrossItsTwoRegimes() {
    // Reference values of erf (Abramowitz and Stegun, Table 7.1, and higher-precision tables).
    double[][] ref = {{0.0, 0.0}, {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1.0, 0.8427007929497149},
        {1.5, 0.9661051464753108}, {2.0, 0.9953222650189527}, {2.5, 0.9995930479825550},
        {3.0, 0.9999779095030014}, {4.0, 0.9999999845827421}, {5.5, 0.9999999999999927}, {7.0, 1.0}};
    for (double[] r : ref) {
      assertThat(MergedModel.erf(r[0])).as("erf(%s)", r[0]).isCloseTo(r[1], offset(1e-9));
      assertThat(MergedModel.erf(-r[0])).as("erf(-%s)", r[0]).isCloseTo(-r[1], offset(1e-9));
    }
  }

  @Test
  void geluIsTheErfForm() {
    assertThat(MergedModel.gelu(0f)).isEqualTo(0f);
    assertThat(MergedModel.gelu(1f)).isCloseTo(0.8413447f, offset(1e-6f)); // 1 * Phi(1)
    assertThat(MergedModel.gelu(-1f)).isCloseTo(-0.15865526f, offset(1e-6f));
    assertThat(MergedModel.gelu(3f)).isCloseTo(2.9959502f, offset(1e-6f));
  }
}
