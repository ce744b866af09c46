package io.lorastream.registry;

/**
 * The registry could not be reached or kept failing with 5xx after every retry. The message names
 * the URL and the number of attempts; the cause is the last failure.
 */
public final class RegistryUnavailableException extends RegistryException {
  private static final long serialVersionUID = 1L;

  public RegistryUnavailableException(int lastHttpStatus, int lastErrorCode, String message, Throwable cause) {
    super(lastHttpStatus, lastErrorCode, message, cause);
  }
}
