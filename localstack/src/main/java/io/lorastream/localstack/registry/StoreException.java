package io.lorastream.localstack.registry;

/** The schema store could not persist or read entries; the registry answers 500 / 50001. */
public final class StoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
