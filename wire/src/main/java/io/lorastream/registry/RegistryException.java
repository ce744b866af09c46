package io.lorastream.registry;

/**
 * A Schema Registry request failed. Carries the HTTP status and the Confluent {@code error_code}
 * from the response body (for example 40401), so callers can branch on the kind of failure
 * without parsing messages. Subclasses name the failures clients commonly handle; anything else
 * arrives as this class. Unchecked because serdes must surface it through Kafka's unchecked
 * serializer interfaces anyway.
 */
public class RegistryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int httpStatus;
  private final int errorCode;

  public RegistryException(int httpStatus, int errorCode, String message) {
    this(httpStatus, errorCode, message, null);
  }

  public RegistryException(int httpStatus, int errorCode, String message, Throwable cause) {
    super(message, cause);
    this.httpStatus = httpStatus;
    this.errorCode = errorCode;
  }

  /** HTTP status of the response, or -1 when no response was received. */
  public int httpStatus() {
    return httpStatus;
  }

  /** Confluent error code from the body (e.g. 40401), or the HTTP status when the body had none. */
  public int errorCode() {
    return errorCode;
  }

  /**
   * Whether {@code e} (or a cause) is a registry failure that says nothing about the record: the
   * registry is down, slow or erroring. A schema id the registry does not know
   * ({@link SchemaNotFoundException}) is the record's fault, not an outage. Consumers use this to
   * retry a record later instead of discarding it as bad.
   */
  public static boolean isOutage(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SchemaNotFoundException) {
        return false;
      }
      if (t instanceof RegistryException) {
        return true;
      }
    }
    return false;
  }

  /** Builds the most specific exception for a Confluent error code. */
  public static RegistryException of(int httpStatus, int errorCode, String message) {
    return switch (errorCode) {
      case SubjectNotFoundException.CODE -> new SubjectNotFoundException(httpStatus, message);
      case VersionNotFoundException.CODE -> new VersionNotFoundException(httpStatus, message);
      case SchemaNotFoundException.CODE -> new SchemaNotFoundException(httpStatus, message);
      case InvalidSchemaException.CODE -> new InvalidSchemaException(httpStatus, message);
      default -> httpStatus == IncompatibleSchemaException.CODE || errorCode == IncompatibleSchemaException.CODE
          ? new IncompatibleSchemaException(httpStatus, errorCode, message)
          : new RegistryException(httpStatus, errorCode, message);
    };
  }
}
