package io.lorastream.config;

/**
 * Thrown at startup when a configuration value is missing or invalid. The message always names
 * the key, where the bad value came from (default, file, environment or command line) and how to
 * fix it, because an operator reading a crash log should not have to open the source.
 */
public final class ConfigException extends RuntimeException {
  private final String key;

  public ConfigException(String key, String message) {
    super(message);
    this.key = key;
  }

  public String key() {
    return key;
  }
}
