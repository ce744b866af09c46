package io.lorastream.localstack.registry;

/**
 * A request the registry refuses, with the HTTP status and Confluent error code it answers with.
 * The constants document the codes this server uses.
 */
final class RegistryError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  static final int SUBJECT_NOT_FOUND = 40401;
  static final int VERSION_NOT_FOUND = 40402;
  static final int SCHEMA_NOT_FOUND = 40403;
  static final int SUBJECT_SOFT_DELETED = 40404;
  static final int SUBJECT_NOT_SOFT_DELETED = 40405;
  static final int VERSION_SOFT_DELETED = 40406;
  static final int VERSION_NOT_SOFT_DELETED = 40407;
  static final int SUBJECT_LEVEL_CONFIG_NOT_FOUND = 40408;
  static final int INCOMPATIBLE = 409;
  static final int INVALID_SCHEMA = 42201;
  static final int INVALID_VERSION = 42202;
  static final int INVALID_COMPATIBILITY_LEVEL = 42203;
  static final int STORE_ERROR = 50001;

  final int status;
  final int code;

  RegistryError(int status, int code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  static RegistryError subjectNotFound(String subject) {
    return new RegistryError(404, SUBJECT_NOT_FOUND, "Subject '" + subject + "' not found.");
  }

  static RegistryError versionNotFound(String subject, String version) {
    return new RegistryError(404, VERSION_NOT_FOUND, "Version " + version + " not found for subject '" + subject + "'.");
  }

  static RegistryError schemaNotFound(String what) {
    return new RegistryError(404, SCHEMA_NOT_FOUND, "Schema " + what + " not found.");
  }

  static RegistryError invalidSchema(String detail) {
    return new RegistryError(422, INVALID_SCHEMA, "Invalid schema: " + detail);
  }

  static RegistryError invalidVersion(String version) {
    return new RegistryError(422, INVALID_VERSION, "The specified version '" + version + "' is not a valid version id. "
        + "Allowed values are between [1, 2^31-1] and the string \"latest\"");
  }

  static RegistryError invalidLevel(String level) {
    return new RegistryError(422, INVALID_COMPATIBILITY_LEVEL, "Invalid compatibility level '" + level + "'. Valid values are "
        + "NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE");
  }
}
