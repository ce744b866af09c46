package io.lorastream.trainer;

/** Asked to stop while a Kafka operation was being retried: stop at once, publish nothing. */
final class AbandonedException extends RuntimeException {
  AbandonedException(String message, Throwable cause) {
    super(message, cause);
  }
}
