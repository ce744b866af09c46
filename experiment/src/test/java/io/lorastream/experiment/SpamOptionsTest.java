package io.lorastream.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SpamOptionsTest {

  private static SpamWorkload.Options parse(String... args) {
    SpamWorkload.Options o = new SpamWorkload.Options();
    new CommandLine(o).parseArgs(args);
    o.validate();
    return o;
  }

  @Test
  void theWindowDefaultsToWhatEachModelCanAfford() {
    assertThat(parse("--model", "embbag").seqLen).isEqualTo(512);
    assertThat(parse("--model", "transformer").seqLen).isEqualTo(128);
    assertThat(parse("--model", "minilm").seqLen).isEqualTo(128);
    assertThat(parse("--model", "embbag", "--seq-len", "64").seqLen).isEqualTo(64);
    assertThat(parse("--bigrams").bigrams).isTrue();
    assertThat(SpamWorkload.defaultVariants(parse("--model", "minilm"))).isEqualTo(SpamWorkload.MINILM_VARIANTS);
    assertThat(SpamWorkload.defaultVariants(parse())).isEqualTo("all");
  }

  @Test
  void badCombinationsNameTheFlagAndTheFix() {
    assertThatThrownBy(() -> parse("--model", "minilm", "--bigrams")).hasMessageContaining("--bigrams")
        .hasMessageContaining("Fix:");
    assertThatThrownBy(() -> parse("--model", "minilm", "--seq-len", "600")).hasMessageContaining("at most 512");
    assertThatThrownBy(() -> parse("--model", "gpt")).hasMessageContaining("transformer, embbag or minilm");
  }
}
