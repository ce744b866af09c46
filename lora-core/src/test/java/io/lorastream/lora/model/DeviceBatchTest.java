package io.lorastream.lora.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DeviceBatchTest {
  private static float[] features(int n, int d, long seed) {
    Random rnd = new Random(seed);
    float[] f = new float[n * d];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) rnd.nextGaussian();
    }
    return f;
  }

  @Test
  void thePackerWritesWhatPackWritesInEitherDtypeAndTheDeviceArrayHoldsIt() {
    DeviceBatch.Packer packer = new DeviceBatch.Packer();
    try (NDManager m = NDManager.newBaseManager()) {
      for (int n : new int[] {5, 17, 3}) { // grows, then reuses a larger buffer
        float[] x = features(n, 4, n);
        int[] y = new int[n];
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
          y[i] = i % 3;
          w[i] = 0.5f + i;
        }
        double[] want = DeviceBatch.pack(x, y, w, 4, 3);
        for (DataType dt : new DataType[] {DataType.FLOAT32, DataType.FLOAT64}) {
          ByteBuffer b = packer.pack(x, y, w, 4, 3, dt);
          assertThat(b.remaining()).isEqualTo(want.length * dt.getNumOfBytes());
          NDArray a = m.create(b, new Shape(want.length), dt);
          double[] got = dt == DataType.FLOAT64 ? a.toDoubleArray() : toDouble(a.toFloatArray());
          for (int i = 0; i < want.length; i++) {
            assertThat(got[i]).as("n=%d %s element %d", n, dt, i).isEqualTo(dt == DataType.FLOAT64 ? want[i]
                : (double) (float) want[i]);
          }
          a.close();
        }
      }
    }
  }

  @Test
  void thePackerRefusesWhatPackRefuses() {
    DeviceBatch.Packer packer = new DeviceBatch.Packer();
    assertThatThrownBy(() -> packer.pack(new float[4], new int[] {3}, null, 4, 3, DataType.FLOAT32))
        .hasMessageContaining("label 3 of example 0 is outside [0, 3)");
    assertThatThrownBy(() -> packer.pack(new float[4], new int[] {1}, new float[] {-1f}, 4, 3, DataType.FLOAT32))
        .hasMessageContaining("is negative");
    assertThatThrownBy(() -> packer.pack(new float[3], new int[] {1}, null, 4, 3, DataType.FLOAT32))
        .hasMessageContaining("needs 4 features");
    assertThatThrownBy(() -> packer.pack(new float[4], new int[] {1}, null, 4, 3, DataType.INT32))
        .hasMessageContaining("float32 or float64");
  }

  private static double[] toDouble(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }
}
