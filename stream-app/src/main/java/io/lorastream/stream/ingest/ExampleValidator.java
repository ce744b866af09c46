package io.lorastream.stream.ingest;

import io.lorastream.avro.LabeledExample;
import io.lorastream.registry.RegistryException;
import io.lorastream.registry.RegistryUnavailableException;
import io.lorastream.registry.SchemaNotFoundException;
import io.lorastream.serde.SchemaRef;
import io.lorastream.serde.UnsupportedSchemaIdFormException;
import io.lorastream.serde.WireFormat;
import java.io.EOFException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Decides whether one raw record of {@code examples.raw} is a usable training example, and if not,
 * exactly why. A record may name its schema in any form {@link SchemaRef} reads (id or GUID, in the
 * payload prefix or the {@code __value_schema_id} header); a header in another form is dead-lettered
 * as {@link DlqReason#UNSUPPORTED_SCHEMA_ID} with a detail naming what it holds. Checks run from cheapest to dearest (framing, size, then Avro decoding, then
 * content against the task's {@link TaskSpec}) and the first failure wins, so each hostile input
 * kind maps to one stable {@link DlqReason}. Registry outages are deliberately <em>not</em>
 * classified: they propagate, so the stream thread is replaced and the record retried instead of
 * a good example being dead-lettered because a dependency was briefly down.
 */
public final class ExampleValidator {

  /** Outcome of {@link #validate}. */
  public sealed interface Verdict permits Valid, Invalid {
  }

  /** A record that passed every check, with the spec of its task. */
  public record Valid(LabeledExample example, TaskSpec spec) implements Verdict {
  }

  /** A record to dead-letter; {@code cause} is the decoder's exception or an {@link InvalidExampleException}. */
  public record Invalid(DlqReason reason, String detail, Throwable cause) implements Verdict {
  }

  /** Confluent wire format: magic byte, 4-byte schema id, then the Avro body. */
  private static final int HEADER_BYTES = 5;

  private final StreamAppConfig.Ingest config;
  private final Deserializer<LabeledExample> deserializer;

  public ExampleValidator(StreamAppConfig.Ingest config, Deserializer<LabeledExample> deserializer) {
    this.config = config;
    this.deserializer = deserializer;
  }

  /**
   * Classifies one record. Never throws for bad data; throws {@link RegistryException} only when
   * the registry cannot answer, which is an outage rather than a property of the record.
   */
  public Verdict validate(String topic, Headers headers, byte[] key, byte[] value) {
    if (key == null) {
      return invalid(DlqReason.NULL_KEY, "record has no key; examples.raw must be keyed by example id");
    }
    if (value == null) {
      return invalid(DlqReason.NULL_VALUE, "record has no value (tombstone)");
    }
    if (value.length == 0) {
      return invalid(DlqReason.EMPTY_PAYLOAD, "record value has 0 bytes");
    }
    long size = (long) key.length + value.length;
    if (size > config.maxRecordBytes()) {
      return invalid(DlqReason.RECORD_TOO_LARGE, "record has " + size + " bytes of key and value, more than "
          + StreamAppConfig.MAX_RECORD_BYTES + " = " + config.maxRecordBytes());
    }
    boolean inHeader = headers != null && headers.lastHeader(SchemaRef.VALUE_HEADER) != null;
    if (!inHeader && value[0] == WireFormat.MAGIC_BYTE && value.length < HEADER_BYTES) {
      return invalid(DlqReason.TRUNCATED, "value has " + value.length + " bytes, shorter than the 5-byte wire-format header");
    }
    SchemaRef ref;
    try {
      ref = SchemaRef.of(headers, false, value);
    } catch (UnsupportedSchemaIdFormException e) {
      // a header in no known form names what it holds; a payload prefix in none is classified further
      return inHeader ? invalid(DlqReason.UNSUPPORTED_SCHEMA_ID, e.getMessage()) : classifyBadMagic(topic, headers, value);
    }
    LabeledExample example;
    try {
      example = deserializer.deserialize(topic, headers, value);
    } catch (RuntimeException e) {
      Verdict v = decodeFailure(e, ref);
      if (ref.form() == SchemaRef.Form.GUID_PREFIX && ((Invalid) v).reason() == DlqReason.UNKNOWN_SCHEMA) {
        // 0x01 is also the likeliest wrong magic byte: a classic record with it is not a GUID record
        Verdict patched = wrongMagic(topic, headers, value);
        return patched != null ? patched : v;
      }
      return v;
    }
    if (example == null) {
      return invalid(DlqReason.DESERIALIZATION, "deserializer returned no example");
    }
    return checkContent(key, example);
  }

  /**
   * The first byte is not 0. If fixing just that byte yields a readable record, the producer framed
   * a real example with the wrong magic byte; otherwise these are not wire-format bytes at all.
   */
  private Verdict classifyBadMagic(String topic, Headers headers, byte[] value) {
    Verdict v = wrongMagic(topic, headers, value);
    if (v != null) {
      return v;
    }
    return invalid(DlqReason.NOT_WIRE_FORMAT, String.format("not Confluent wire format: first byte 0x%02x is neither the"
        + " magic byte 0x00 (schema id) nor 0x01 (schema GUID), there is no %s header, and the bytes do not frame a"
        + " LabeledExample (%d bytes)", value[0] & 0xff, SchemaRef.VALUE_HEADER, value.length));
  }

  /** WRONG_MAGIC_BYTE when the record reads as a classic one once its first byte is 0, else null. */
  private Verdict wrongMagic(String topic, Headers headers, byte[] value) {
    if (value.length <= HEADER_BYTES) {
      return null;
    }
    byte[] patched = value.clone();
    patched[0] = 0;
    try {
      if (deserializer.deserialize(topic, headers, patched) != null) {
        return invalid(DlqReason.WRONG_MAGIC_BYTE, String.format("magic byte is 0x%02x, expected 0x00; the rest is a valid"
            + " LabeledExample with schema id %d", value[0] & 0xff, WireFormat.schemaId(patched)));
      }
    } catch (RuntimeException e) {
      rethrowOutage(e);
    }
    return null;
  }

  private static Verdict decodeFailure(RuntimeException e, SchemaRef ref) {
    String schemaId = ref.describe();
    rethrowOutage(e);
    Throwable notFound = find(e, SchemaNotFoundException.class);
    if (notFound == null) {
      RegistryException re = (RegistryException) find(e, RegistryException.class);
      if (re != null && re.httpStatus() == 404) {
        notFound = re;
      }
    }
    if (notFound != null) {
      return new Invalid(DlqReason.UNKNOWN_SCHEMA, schemaId + " is not registered: " + notFound.getMessage(), e);
    }
    if (find(e, EOFException.class) != null) {
      return new Invalid(DlqReason.TRUNCATED, "Avro body of " + schemaId + " ends early: " + message(e), e);
    }
    return new Invalid(DlqReason.DESERIALIZATION, "cannot decode " + schemaId + ": " + message(e), e);
  }

  /** A registry that cannot be reached, refuses us, or fails says nothing about the record. */
  private static void rethrowOutage(RuntimeException e) {
    if (isOutage(e)) {
      throw e;
    }
  }

  /**
   * True when {@code e} (or a cause) means the schema registry could not answer, not that the
   * record is bad. Only "no such schema" (404) and a rejected id (400, 422, e.g. a negative id
   * read from garbage) depend on the record; every other registry failure (unreachable, 5xx,
   * 401/403, 429, an unreadable response) is an outage.
   */
  public static boolean isOutage(Throwable e) {
    if (find(e, RegistryUnavailableException.class) != null) {
      return true;
    }
    RegistryException re = (RegistryException) find(e, RegistryException.class);
    if (re == null) {
      return false;
    }
    int s = re.httpStatus();
    return !(s == 404 || s == 400 || s == 422);
  }

  private Verdict checkContent(byte[] key, LabeledExample ex) {
    String id = ex.getId();
    if (id == null || id.isBlank()) {
      return invalid(DlqReason.MISSING_ID, "example id is empty");
    }
    if (config.keyMustMatchId()) {
      Optional<String> k = utf8(key);
      if (k.isEmpty() || !k.get().equals(id)) {
        return invalid(DlqReason.KEY_MISMATCH, "record key " + k.map(s -> "'" + abbreviate(s) + "'").orElse("(not UTF-8)")
            + " is not the example id '" + abbreviate(id) + "' (set " + StreamAppConfig.KEY_MUST_MATCH_ID + "=false to allow)");
      }
    }
    String task = ex.getTask();
    if (task == null || task.isBlank()) {
      return invalid(DlqReason.UNKNOWN_TASK, "task is empty");
    }
    Optional<TaskSpec> maybeSpec = config.taskSpec(task);
    if (maybeSpec.isEmpty()) {
      return invalid(DlqReason.UNKNOWN_TASK, "task '" + abbreviate(task) + "' is not listed in " + StreamAppConfig.INGEST_TASKS);
    }
    TaskSpec spec = maybeSpec.get();
    List<Float> features = ex.getFeatures();
    List<Integer> tokens = ex.getTokens();
    int nf = features == null ? 0 : features.size();
    int nt = tokens == null ? 0 : tokens.size();
    if (nf > config.maxFeatures()) {
      return invalid(DlqReason.TOO_LARGE, nf + " features exceed " + StreamAppConfig.MAX_FEATURES + " = " + config.maxFeatures());
    }
    if (nt > config.maxTokens()) {
      return invalid(DlqReason.TOO_LARGE, nt + " tokens exceed " + StreamAppConfig.MAX_TOKENS + " = " + config.maxTokens());
    }
    boolean text = ex.getText() != null && !ex.getText().isBlank();
    if (nf == 0 && nt == 0 && !text) {
      return invalid(DlqReason.EMPTY_FEATURES, "features, tokens and text are all empty");
    }
    Verdict v;
    if (spec.featureKind() == TaskSpec.FeatureKind.DENSE) {
      v = checkDense(task, spec, features, nt > 0 || text);
    } else if (nt == 0 && nf == 0) {
      v = null; // raw text: the trainer tokenizes it with its base's tokenizer
    } else {
      v = checkTokens(task, spec, tokens, nf);
    }
    if (v != null) {
      return v;
    }
    if (ex.getLabel() < 0 || ex.getLabel() >= spec.numClasses()) {
      return invalid(DlqReason.LABEL_OUT_OF_RANGE, "label " + ex.getLabel() + " is outside [0, " + spec.numClasses()
          + ") of task '" + abbreviate(task) + "'");
    }
    Float w = ex.getWeight();
    if (w != null && (!Float.isFinite(w) || w < 0)) {
      return invalid(DlqReason.INVALID_WEIGHT, "weight " + w + " is not a finite non-negative number");
    }
    return new Valid(ex, spec);
  }

  private static Verdict checkDense(String task, TaskSpec spec, List<Float> features, boolean tokensOrText) {
    if (tokensOrText || features.isEmpty()) {
      return invalid(DlqReason.WRONG_FEATURE_KIND, "task '" + abbreviate(task) + "' reads dense features, but the example has "
          + features.size() + " features and " + (tokensOrText ? "tokens or text" : "no tokens"));
    }
    if (features.size() != spec.inputSize()) {
      return invalid(DlqReason.FEATURE_SIZE, "task '" + abbreviate(task) + "' expects " + spec.inputSize()
          + " features, got " + features.size());
    }
    for (int i = 0; i < features.size(); i++) {
      Float f = features.get(i);
      if (f == null || !Float.isFinite(f)) {
        return invalid(DlqReason.NON_FINITE, "feature " + i + " is " + f);
      }
    }
    return null;
  }

  private static Verdict checkTokens(String task, TaskSpec spec, List<Integer> tokens, int nf) {
    if (nf > 0 || tokens.isEmpty()) {
      return invalid(DlqReason.WRONG_FEATURE_KIND, "task '" + abbreviate(task) + "' reads tokens, but the example has "
          + nf + " features and " + tokens.size() + " tokens");
    }
    int i = io.lorastream.lora.model.TokenRows.firstInvalid(tokens, spec.inputSize());
    if (i >= 0) {
      return invalid(DlqReason.TOKEN_OUT_OF_RANGE, "token " + i + " = " + tokens.get(i) + " is outside the vocabulary [0, "
          + spec.inputSize() + ")");
    }
    return null;
  }

  private static Invalid invalid(DlqReason reason, String detail) {
    return new Invalid(reason, detail, new InvalidExampleException(reason, detail));
  }

  private static Optional<String> utf8(byte[] bytes) {
    try {
      return Optional.of(StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes)).toString());
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }

  private static Throwable find(Throwable t, Class<? extends Throwable> type) {
    for (int depth = 0; t != null && depth < 16; depth++, t = t.getCause()) {
      if (type.isInstance(t)) {
        return t;
      }
    }
    return null;
  }

  private static String message(Throwable e) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = e; t != null && sb.length() < 400; t = t.getCause()) {
      if (sb.length() > 0) {
        sb.append(" <- ");
      }
      sb.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
    }
    return abbreviate(sb.toString(), 500);
  }

  static String abbreviate(String s) {
    return abbreviate(s, 80);
  }

  private static String abbreviate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "...";
  }
}
