package io.lorastream.lora.peft;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.adapter.LoraModel;
import io.lorastream.lora.importer.BertImporter;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.model.ModelSpec;
import java.nio.file.Path;
import java.util.List;

/**
 * The other half of {@code tools/peft_make.py}: imports the adapter Python PEFT saved
 * ({@code OUT/py-adapter}) onto the fixture's base ({@code DIR/base}, imported from its Hugging
 * Face files) and compares lorastream's mean-pooled outputs with PEFT's ({@code OUT/py-expected.json}).
 * {@code java -cp ... io.lorastream.lora.peft.PeftImportCheck DIR OUT}; exit 0 when within 1e-4.
 */
public final class PeftImportCheck {
  private PeftImportCheck() {
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Path out = Path.of(args[1]);
    JsonNode exp = new ObjectMapper().readTree(out.resolve("py-expected.json").toFile());
    int seqLen = exp.path("input_ids").get(0).size();
    try (BaseModel base = BertImporter.fromHuggingFace(dir.resolve("base"),
        new BertImporter.Options(0, seqLen, 2, ModelSpec.POOL_MEAN, 1L), "fixture", Device.cpu())) {
      List<LayerWeights> layers = PeftImport.read(out.resolve("py-adapter"), base.spec());
      double worst = 0;
      double moved = 0;
      try (LoraModel m = LoraModel.of(base, layers)) {
        MergedModel merged = m.merge();
        MergedModel frozen = MergedModel.ofBase(base);
        for (int s = 0; s < exp.path("input_ids").size(); s++) {
          float[] row = new float[seqLen];
          for (int i = 0; i < seqLen; i++) {
            row[i] = exp.path("input_ids").get(s).get(i).floatValue();
          }
          float[] ours = merged.pooled(row);
          float[] plain = frozen.pooled(row);
          for (int j = 0; j < ours.length; j++) {
            double want = exp.path("pooled").get(s).get(j).asDouble();
            worst = Math.max(worst, Math.abs(ours[j] - want));
            moved = Math.max(moved, Math.abs(plain[j] - want));
          }
        }
      }
      System.out.printf("imported %d layers %s; max |lorastream - PEFT| = %.2g; adapter effect %.3g%n", layers.size(),
          layers.stream().map(l -> l.name() + "@r" + l.rank() + "/a" + l.alpha()).toList(), worst, moved);
      System.exit(worst < 1e-4 && moved > 1e-2 ? 0 : 1);
    }
  }
}
