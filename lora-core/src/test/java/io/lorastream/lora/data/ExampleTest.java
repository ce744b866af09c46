package io.lorastream.lora.data;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.avro.LabeledExample;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ExampleTest {

  @Test
  void theAvroRecordCarriesFeaturesLabelPhaseAndTheGivenProvenance() {
    Instant t = Instant.parse("2026-01-02T03:04:05Z");
    LabeledExample r = new Example("e-7", new float[] {1.5f, -2f}, 3, 2).toLabeledExample("drift", "gen", t);
    assertThat(r.getId()).isEqualTo("e-7");
    assertThat(r.getTask()).isEqualTo("drift");
    assertThat(r.getFeatures()).containsExactly(1.5f, -2f);
    assertThat(r.getTokens()).isEmpty();
    assertThat(r.getLabel()).isEqualTo(3);
    assertThat(r.getWeight()).isNull();
    assertThat(r.getEventTime()).isEqualTo(t);
    assertThat(r.getSource()).isEqualTo("gen");
    assertThat(r.getAttributes()).containsExactly(java.util.Map.entry("phase", "2"));
  }
}
