package io.lorastream.stream.inference;

/**
 * Why the inference topology could not serve a request. Each is counted; a decoded request gets
 * an error answer naming it (the {@code error} field of {@code Prediction}), and a record that is
 * no request at all is also dead-lettered to {@code inference.dlq}. A hostile request never stops
 * serving.
 */
public enum SkipReason {
  /** The record value is null (a tombstone or a broken producer). */
  NULL_VALUE,
  /** The value is not a decodable InferenceRequest. */
  UNDECODABLE,
  /** The request's task is not served by this consumer. */
  UNKNOWN_TASK,
  /** No dense features (token-only requests need a text model, which this consumer does not serve). */
  NO_FEATURES,
  /** The feature vector length differs from the model's input size. */
  WRONG_FEATURE_SIZE,
  /** A feature is NaN or infinite. */
  NON_FINITE,
  /** The model failed on the input (should not happen; counted so it is visible). */
  MODEL_ERROR
}
