package io.lorastream.registry;

/** The registry rejected the schema text as not a valid Avro schema (Confluent error 42201, HTTP 422). */
public final class InvalidSchemaException extends RegistryException {
  private static final long serialVersionUID = 1L;
  public static final int CODE = 42201;

  public InvalidSchemaException(int httpStatus, String message) {
    super(httpStatus, CODE, message);
  }
}
