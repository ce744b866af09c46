package io.lorastream.lora.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class DjlSmokeTest {
  @Test
  void pytorchEngineRunsOfflineOnCpu() {
    assertThat(Engine.getInstance().getEngineName()).isEqualTo("PyTorch");
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray a = m.ones(new Shape(2, 3), DataType.FLOAT64);
      NDArray b = m.ones(new Shape(3, 2), DataType.FLOAT64);
      assertThat(a.matMul(b).toDoubleArray()).containsExactly(3, 3, 3, 3);
    }
  }
}
