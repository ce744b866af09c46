package io.lorastream.registry;

/** The subject exists but the requested version does not (Confluent error 40402). */
public final class VersionNotFoundException extends RegistryException {
  private static final long serialVersionUID = 1L;
  public static final int CODE = 40402;

  public VersionNotFoundException(int httpStatus, String message) {
    super(httpStatus, CODE, message);
  }
}
