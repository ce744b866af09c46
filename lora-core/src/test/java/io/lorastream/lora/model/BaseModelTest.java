package io.lorastream.lora.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import io.lorastream.lora.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BaseModelTest {

  @TempDir Path dir;

  @Test
  void saveAndLoadKeepParametersFingerprintAndOutputs() throws IOException {
    ModelSpec spec = ModelSpec.mlp(6, List.of(8, 5), 3, 4);
    float[] x = Fixtures.gaussianFloats(new Random(1), 4 * 6, 1.0);
    Path f = dir.resolve("sub/base.lsb");
    try (BaseModel a = BaseModel.create(spec, Device.cpu())) {
      a.save(f);
      try (BaseModel b = BaseModel.load(f, Device.cpu())) {
        assertThat(b.fingerprint()).isEqualTo(a.fingerprint()).matches("[0-9a-f]{64}");
        assertThat(b.id()).isEqualTo(a.id()).startsWith("mlp-6-8-5-3-");
        assertThat(b.spec()).isEqualTo(spec);
        assertThat(b.linearLayers()).containsExactly(new LayerInfo("fc0", 6, 8), new LayerInfo("fc1", 8, 5), new LayerInfo("head", 5, 3));
        assertThat(b.deviceParameterBytes()).isEqualTo(a.deviceParameterBytes());
        assertThat(b.logits(x, 4)).containsExactly(a.logits(x, 4));
      }
    }
  }

  @Test
  void fingerprintDependsOnTheParameters() {
    try (BaseModel a = BaseModel.create(ModelSpec.demoDefault(1), Device.cpu());
        BaseModel a2 = BaseModel.create(ModelSpec.demoDefault(1), Device.cpu());
        BaseModel b = BaseModel.create(ModelSpec.demoDefault(2), Device.cpu())) {
      assertThat(a.fingerprint()).isEqualTo(a2.fingerprint()).isNotEqualTo(b.fingerprint());
      float[] w = a.weight("head");
      w[0] = Math.nextUp(w[0]);
      List<float[]> ws = List.of(a.weight("fc0"), a.weight("fc1"), w);
      List<float[]> bs = List.of(a.bias("fc0"), a.bias("fc1"), a.bias("head"));
      try (BaseModel c = BaseModel.fromParameters(a.spec(), ws, bs, Device.cpu())) {
        assertThat(c.fingerprint()).isNotEqualTo(a.fingerprint());
      }
    }
  }

  @Test
  void corruptTruncatedOrForeignFilesAreRejected() throws IOException {
    Path f = dir.resolve("base.lsb");
    try (BaseModel a = BaseModel.create(ModelSpec.mlp(4, List.of(3), 2, 1), Device.cpu())) {
      a.save(f);
    }
    byte[] good = Files.readAllBytes(f);
    byte[] flipped = good.clone();
    flipped[flipped.length - 3] ^= 0x10;
    Path corrupt = Files.write(dir.resolve("corrupt.lsb"), flipped);
    assertThatThrownBy(() -> BaseModel.load(corrupt, Device.cpu())).isInstanceOf(IOException.class).hasMessageContaining("fingerprint");
    Path truncated = Files.write(dir.resolve("trunc.lsb"), java.util.Arrays.copyOf(good, good.length - 8));
    assertThatThrownBy(() -> BaseModel.load(truncated, Device.cpu())).isInstanceOf(IOException.class).hasMessageContaining("truncated");
    Path foreign = Files.writeString(dir.resolve("x.lsb"), "hello world, not a model");
    assertThatThrownBy(() -> BaseModel.load(foreign, Device.cpu())).isInstanceOf(IOException.class).hasMessageContaining("magic");
  }

  @Test
  void invalidSpecsNameTheField() {
    assertThatThrownBy(() -> ModelSpec.mlp(0, List.of(4), 2, 1)).hasMessageContaining("inputSize");
    assertThatThrownBy(() -> ModelSpec.mlp(3, List.of(4), 1, 1)).hasMessageContaining("numClasses");
    assertThatThrownBy(() -> new ModelSpec("cnn", 3, List.of(), 2, 1)).hasMessageContaining("kind");
  }
}
