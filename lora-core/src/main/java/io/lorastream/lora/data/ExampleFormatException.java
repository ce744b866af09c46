package io.lorastream.lora.data;

/** A data file row that cannot be turned into an example; the message names file, line and problem. */
public final class ExampleFormatException extends IllegalArgumentException {
  public ExampleFormatException(String message) {
    super(message);
  }

  public ExampleFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
