package io.lorastream.lora.importer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import io.lorastream.lora.Fixtures;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import io.lorastream.lora.peft.PeftFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny random BERT written by the test as a Hugging Face model directory (config.json and
 * model.safetensors, the layout transformers' BertModel loads, checked by tools/peft_check.py)
 * imports back bit-exactly, and directories of other models are refused with what was found.
 */
class HuggingFaceImportTest {
  @TempDir
  Path tmp;

  @Test
  void aHuggingFaceBertDirectoryImportsBitExactly() throws Exception {
    ModelSpec spec = ModelSpec.bert(60, 12, 32, 4, 2, 64, 3, ModelSpec.POOL_MEAN, 9);
    try (BaseModel original = BaseModel.create(spec, Device.cpu())) {
      PeftFixture.writeBase(tmp, original);
      try (BaseModel imported = BertImporter.fromHuggingFace(tmp, new BertImporter.Options(0, 12, 3, ModelSpec.POOL_MEAN,
          9), "tiny-bert", Device.cpu())) {
        assertThat(imported.spec().heads()).as("heads from config.json").isEqualTo(4);
        for (int i = 0; i < original.tensors().size(); i++) {
          String name = original.tensors().get(i).name();
          if (!name.startsWith("head.")) { // the head is new: the HF model has none
            assertThat(imported.hostTensor(i)).as(name).containsExactly(original.hostTensor(i));
          }
        }
        float[] row = Fixtures.tokenRows(new Random(1), 1, 12, 60, false);
        assertThat(MergedModel.ofBase(imported).pooled(row)).containsExactly(MergedModel.ofBase(original).pooled(row));
      }
    }
  }

  @Test
  void otherModelsAreRefusedWithWhatWasFound() throws Exception {
    assertThatThrownBy(() -> BertImporter.fromHuggingFace(tmp, new BertImporter.Options(12, 8, 2, ModelSpec.POOL_MEAN, 1),
        "x", Device.cpu())).hasMessageContaining("needs config.json and model.safetensors").hasMessageContaining("[]");
    Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
    Files.write(tmp.resolve("model.safetensors"), new byte[16]);
    assertThatThrownBy(() -> BertImporter.fromHuggingFace(tmp, new BertImporter.Options(12, 8, 2, ModelSpec.POOL_MEAN, 1),
        "x", Device.cpu())).hasMessageContaining("model_type is 'gpt2'");
    Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"bert\", \"hidden_act\": \"relu\"}");
    assertThatThrownBy(() -> BertImporter.fromHuggingFace(tmp, new BertImporter.Options(12, 8, 2, ModelSpec.POOL_MEAN, 1),
        "x", Device.cpu())).hasMessageContaining("hidden_act is 'relu'");
  }
}
