package io.lorastream.registry;

/**
 * The schema is incompatible with earlier versions of the subject under its compatibility level
 * (Confluent answers HTTP 409 with error code 409).
 */
public final class IncompatibleSchemaException extends RegistryException {
  private static final long serialVersionUID = 1L;
  public static final int CODE = 409;

  public IncompatibleSchemaException(int httpStatus, int errorCode, String message) {
    super(httpStatus, errorCode, message);
  }
}
