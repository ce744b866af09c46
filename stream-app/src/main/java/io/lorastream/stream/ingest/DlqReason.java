package io.lorastream.stream.ingest;

/**
 * Why a record was dead-lettered. The enum name is the stable, machine-readable code written to
 * the {@code lorastream.dlq.reason} header and used as the {@code reason} tag of the
 * {@code ingest.dlq.reason} metric; consumers may branch on it, so codes are only ever added,
 * never renamed. Every hostile input kind of the reliability suite maps to its own code; the
 * order of checks in {@link ExampleValidator} decides which code wins when a record is wrong in
 * several ways.
 */
public enum DlqReason {
  /** The record has no key (examples.raw is keyed by example id). */
  NULL_KEY,
  /** The record has no value (a tombstone). */
  NULL_VALUE,
  /** The value has zero bytes. */
  EMPTY_PAYLOAD,
  /** Key plus value exceed {@code ingest.max.record.bytes}. */
  RECORD_TOO_LARGE,
  /** The bytes are not Confluent wire format at all (e.g. random bytes). */
  NOT_WIRE_FORMAT,
  /** A Confluent-framed Avro record whose first byte is not the magic byte 0. */
  WRONG_MAGIC_BYTE,
  /**
   * The record names its schema in a form ingest does not read: a {@code __value_schema_id} header
   * that is neither magic byte 0x01 + 16-byte GUID nor 0x00 + 4-byte id. The detail names the form.
   */
  UNSUPPORTED_SCHEMA_ID,
  /** The 4-byte schema id is not known to the schema registry. */
  UNKNOWN_SCHEMA,
  /** The payload ends before the record does (truncated header or Avro body). */
  TRUNCATED,
  /**
   * Any other decoding failure: corrupt lengths, bad union index, trailing bytes, or a registered
   * schema that cannot be read as a LabeledExample (another record type on the wrong topic).
   */
  DESERIALIZATION,
  /** The example id is empty. */
  MISSING_ID,
  /** The record key is not the example id (dedupe relies on id-keyed partitioning). */
  KEY_MISMATCH,
  /** The task is empty or not accepted by {@code ingest.tasks}. */
  UNKNOWN_TASK,
  /** Both feature arrays are empty. */
  EMPTY_FEATURES,
  /** A feature or token array exceeds {@code ingest.max.features} / {@code ingest.max.tokens}. */
  TOO_LARGE,
  /** The example fills the array the task's model does not read (dense vs tokens). */
  WRONG_FEATURE_KIND,
  /** The dense feature vector length differs from the task's input size. */
  FEATURE_SIZE,
  /** A feature value is NaN or infinite. */
  NON_FINITE,
  /** A token id lies outside the task's vocabulary. */
  TOKEN_OUT_OF_RANGE,
  /** The label is outside {@code [0, classes)}. */
  LABEL_OUT_OF_RANGE,
  /** The optional weight is negative or not finite. */
  INVALID_WEIGHT,
  /** Validation itself failed unexpectedly; the record is kept rather than lost. */
  INTERNAL_ERROR
}
