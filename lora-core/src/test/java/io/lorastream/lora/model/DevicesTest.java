package io.lorastream.lora.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.engine.Engine;
import org.junit.jupiter.api.Test;

class DevicesTest {

  @Test
  void resolvesNamesAndFailsClearlyWithoutAGpu() {
    assertThat(Devices.resolve("cpu")).isEqualTo(Device.cpu());
    boolean gpu = Engine.getInstance().getGpuCount() > 0;
    assertThat(Devices.resolve("auto")).isEqualTo(gpu ? Device.gpu() : Device.cpu());
    if (!gpu) {
      assertThatThrownBy(() -> Devices.resolve("gpu")).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("no GPU").hasMessageContaining("--device auto");
    }
    assertThatThrownBy(() -> Devices.resolve("tpu")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown value 'tpu'");
  }
}
