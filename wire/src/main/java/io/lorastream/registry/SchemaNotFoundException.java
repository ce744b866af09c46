package io.lorastream.registry;

/** No schema matches the request: unknown id, or a lookup of a schema not registered under the subject (Confluent error 40403). */
public final class SchemaNotFoundException extends RegistryException {
  private static final long serialVersionUID = 1L;
  public static final int CODE = 40403;

  public SchemaNotFoundException(int httpStatus, String message) {
    super(httpStatus, CODE, message);
  }
}
