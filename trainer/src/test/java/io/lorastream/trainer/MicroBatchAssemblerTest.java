package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.avro.LabeledExample;
import java.util.List;
import org.junit.jupiter.api.Test;

class MicroBatchAssemblerTest {

  static LabeledExample example(String id, int label, Float weight, Float... features) {
    return LabeledExample.newBuilder().setId(id).setTask("t").setFeatures(List.of(features)).setLabel(label)
        .setWeight(weight).setEventTime(java.time.Instant.EPOCH).build();
  }

  @Test
  void packsRowsInArrivalOrderRowMajor() {
    MicroBatchAssembler a = new MicroBatchAssembler(2, 3, 4);
    assertThat(a.add(example("x", 1, null, 1f, 2f, 3f))).isFalse();
    assertThat(a.add(example("y", 3, null, 4f, 5f, 6f))).isTrue();
    MicroBatch b = a.drain();
    assertThat(b.features()).containsExactly(1f, 2f, 3f, 4f, 5f, 6f);
    assertThat(b.labels()).containsExactly(1, 3);
    assertThat(b.weights()).isNull();
    assertThat(b.size()).isEqualTo(2);
    assertThat(a.isEmpty()).isTrue();
  }

  @Test
  void weightsAreKeptOnlyWhenSomeDifferFromOne() {
    MicroBatchAssembler a = new MicroBatchAssembler(2, 1, 2);
    a.add(example("x", 0, 1f, 0f));
    a.add(example("y", 1, 0.5f, 0f));
    assertThat(a.drain().weights()).containsExactly(1f, 0.5f);
  }

  @Test
  void partialBatchAtShutdownIsTrimmed() {
    MicroBatchAssembler a = new MicroBatchAssembler(4, 2, 2);
    a.add(example("x", 1, null, 7f, 8f));
    MicroBatch b = a.drain();
    assertThat(b.size()).isEqualTo(1);
    assertThat(b.features()).containsExactly(7f, 8f);
    assertThat(b.labels()).containsExactly(1);
  }

  @Test
  void badExamplesAreRejectedWithAReasonAndTakeNoRow() {
    MicroBatchAssembler a = new MicroBatchAssembler(4, 2, 3);
    assertThat(a.rejectReason(example("w", 0, null, 1f))).contains("feature size 1 != 2");
    assertThat(a.rejectReason(example("n", 0, null, 1f, Float.NaN))).contains("non-finite");
    assertThat(a.rejectReason(example("i", 0, null, Float.POSITIVE_INFINITY, 1f))).contains("non-finite");
    assertThat(a.rejectReason(example("l", 3, null, 1f, 1f))).contains("label 3 outside");
    assertThat(a.rejectReason(example("m", -1, null, 1f, 1f))).contains("label -1 outside");
    assertThat(a.rejectReason(example("g", 0, -1f, 1f, 1f))).contains("weight");
    assertThat(a.rejectReason(example("ok", 2, 2f, 1f, 1f))).isNull();
    assertThatThrownBy(() -> a.add(example("w", 0, null, 1f))).isInstanceOf(IllegalArgumentException.class);
    assertThat(a.size()).isZero();
    assertThatThrownBy(a::drain).isInstanceOf(IllegalStateException.class);
  }

  static LabeledExample tokens(String id, int label, Integer... ids) {
    return LabeledExample.newBuilder().setId(id).setTask("t").setTokens(java.util.Arrays.asList(ids)).setLabel(label)
        .setEventTime(java.time.Instant.EPOCH).build();
  }

  @Test
  void tokenRowsAreTruncatedOrPaddedToTheSequenceLength() {
    MicroBatchAssembler a = MicroBatchAssembler.forTokens(3, 4, 2, 10);
    a.add(tokens("long", 1, 5, 6, 7, 8, 9));
    a.add(tokens("short", 0, 3));
    a.add(tokens("empty", 1));
    MicroBatch b = a.drain();
    assertThat(b.features()).containsExactly(5f, 6f, 7f, 8f, 3f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
    assertThat(b.labels()).containsExactly(1, 0, 1);
  }

  @Test
  void tokenIdsOutsideTheVocabularyAreRejected() {
    MicroBatchAssembler a = MicroBatchAssembler.forTokens(3, 4, 2, 10);
    assertThat(a.rejectReason(tokens("big", 0, 1, 10))).contains("token id 10 outside [0, 10)");
    assertThat(a.rejectReason(tokens("neg", 0, -1))).contains("token id -1");
    assertThat(a.rejectReason(tokens("lbl", 2, 1))).contains("label 2 outside");
    assertThat(a.rejectReason(tokens("ok", 1, 9, 0, 1))).isNull();
  }
}
