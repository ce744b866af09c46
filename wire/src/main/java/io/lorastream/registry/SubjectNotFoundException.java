package io.lorastream.registry;

/** The subject does not exist in the registry (Confluent error 40401). */
public final class SubjectNotFoundException extends RegistryException {
  private static final long serialVersionUID = 1L;
  public static final int CODE = 40401;

  public SubjectNotFoundException(int httpStatus, String message) {
    super(httpStatus, CODE, message);
  }
}
