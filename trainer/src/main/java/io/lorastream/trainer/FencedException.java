package io.lorastream.trainer;

/** A newer trainer with the same transactional.id took over: this one stops without publishing. */
final class FencedException extends RuntimeException {
  FencedException(String message, Throwable cause) {
    super(message, cause);
  }
}
