package io.lorastream.config;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The one reading of a signing-key setting ({@code trainer.hmac.key}, {@code inference.hmac.key}),
 * so that trainers, consumers and the command line derive the same key bytes from the same string:
 * {@code hex:<hex digits>}, {@code base64:<base64>}, or any other text taken as its UTF-8 bytes.
 * Surrounding whitespace is ignored; a blank setting means "no key". Keys shorter than
 * {@value #MIN_BYTES} bytes are refused, because they can be guessed.
 */
public final class SigningKey {
  public static final int MIN_BYTES = 16;

  private SigningKey() {
  }

  /**
   * The key bytes of {@code setting}, or empty for null or blank.
   *
   * @throws IllegalArgumentException naming the problem (never the key) if the encoding is invalid
   *     or the key is too short
   */
  public static Optional<byte[]> parse(String setting) {
    if (setting == null || setting.isBlank()) {
      return Optional.empty();
    }
    String s = setting.strip();
    byte[] key;
    try {
      if (s.startsWith("hex:")) {
        key = HexFormat.of().parseHex(s.substring(4).strip());
      } else if (s.startsWith("base64:")) {
        key = Base64.getDecoder().decode(s.substring(7).strip());
      } else {
        key = s.getBytes(StandardCharsets.UTF_8);
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("invalid " + s.substring(0, s.indexOf(':') + 1) + " encoding ("
          + e.getMessage() + ")");
    }
    if (key.length < MIN_BYTES) {
      throw new IllegalArgumentException("a " + key.length + "-byte key is too short; use at least " + MIN_BYTES
          + " bytes, e.g. hex: followed by 64 random hex digits");
    }
    return Optional.of(key);
  }

  /**
   * The key of setting {@code key} in {@code c}, or empty when unset.
   *
   * @throws ConfigException naming the key (its value redacted) and the fix; {@code sharedWith} says
   *     who else must hold the same key
   */
  public static Optional<byte[]> fromConfig(LayeredConfig c, String key, String sharedWith) {
    Optional<String> raw = c.find(key);
    try {
      return parse(raw.orElse(null));
    } catch (IllegalArgumentException e) {
      throw c.invalid(key, raw.orElse(""), e.getMessage() + "; " + sharedWith + " must use the same setting, or "
          + "leave it unset to turn signing off");
    }
  }
}
