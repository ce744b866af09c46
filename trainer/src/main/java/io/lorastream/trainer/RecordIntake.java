package io.lorastream.trainer;

import io.lorastream.avro.LabeledExample;
import io.lorastream.lora.text.TextTokenizer;
import io.lorastream.registry.RegistryException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Decides what one input record is to the trainer: an example of its adapter, another task's
 * example (skipped, its offset still claimed), a bad record (dead-lettered with a reason code), or
 * unreadable for now because the schema registry does not answer (re-read later, never dropped).
 * A text example of a text model is tokenized here, with the tokenizer the base carries.
 */
final class RecordIntake {
  enum Kind { EXAMPLE, OTHER_TASK, BAD, REGISTRY_UNAVAILABLE }

  /** {@code example} for EXAMPLE; {@code code} and {@code detail} for BAD (detail for REGISTRY_UNAVAILABLE too). */
  record Outcome(Kind kind, LabeledExample example, String code, String detail) {
    static Outcome bad(String code, String detail) {
      return new Outcome(Kind.BAD, null, code, detail);
    }
  }

  private final String adapterId;
  private final String inputTopic;
  private final Deserializer<LabeledExample> deserializer;
  private final MicroBatchAssembler assembler;
  private final TextTokenizer tokenizer; // null: the base carries none
  private final String baseId;

  RecordIntake(String adapterId, String inputTopic, Deserializer<LabeledExample> deserializer,
      MicroBatchAssembler assembler, TextTokenizer tokenizer, String baseId) {
    this.tokenizer = tokenizer;
    this.baseId = baseId;
    this.adapterId = adapterId;
    this.inputTopic = inputTopic;
    this.deserializer = deserializer;
    this.assembler = assembler;
  }

  Outcome classify(ConsumerRecord<byte[], byte[]> r) {
    if (r.value() == null) {
      return Outcome.bad("NULL_VALUE", "null value");
    }
    LabeledExample e;
    try {
      e = deserializer.deserialize(inputTopic, r.headers(), r.value());
    } catch (RuntimeException ex) {
      if (RegistryException.isOutage(ex)) {
        return new Outcome(Kind.REGISTRY_UNAVAILABLE, null, null, ex.getMessage());
      }
      return Outcome.bad("UNDECODABLE", ex.getMessage());
    }
    if (e == null) {
      return Outcome.bad("NULL_VALUE", "null value");
    }
    if (!adapterId.equals(e.getTask())) {
      return new Outcome(Kind.OTHER_TASK, e, null, null);
    }
    if ((e.getTokens() == null || e.getTokens().isEmpty()) && e.getText() != null && assembler.readsTokens()) {
      if (tokenizer == null) {
        return Outcome.bad("NO_TOKENIZER", "the example has text but the base " + baseId + " carries no tokenizer; "
            + "send token ids, or import the base with its tokenizer (lorastream base import --tokenizer)");
      }
      e.setTokens(tokenizer.encode(e.getText())); // once, here: the row is packed from these ids
    }
    String reason = assembler.rejectReason(e);
    if (reason != null) {
      return Outcome.bad("INVALID_EXAMPLE", reason);
    }
    return new Outcome(Kind.EXAMPLE, e, null, null);
  }
}
