package io.lorastream.registry;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.kafka.common.config.ConfigException;

/**
 * Typed, validated settings of a {@link SchemaRegistryClient}, read from the same keys Confluent's
 * clients use so one properties file configures both. Every problem fails here, at startup, with
 * a {@link ConfigException} naming the key and the fix, instead of surfacing later as a vague
 * connection error.
 *
 * <p>Keys: {@code schema.registry.url} (comma-separated for fail-over), {@code
 * basic.auth.credentials.source} ({@code USER_INFO} or {@code URL}), {@code basic.auth.user.info}
 * (also accepted with a {@code schema.registry.} prefix), {@code
 * schema.registry.ssl.truststore.location/.password/.type}, {@code
 * schema.registry.ssl.keystore.location/.password/.type}, {@code schema.registry.ssl.key.password},
 * {@code max.retries} (3), {@code retries.wait.ms} (100), {@code retries.max.wait.ms} (2000),
 * {@code http.connect.timeout.ms} (5000) and {@code http.read.timeout.ms} (10000).
 */
public final class RegistryClientConfig {
  public static final String URL = "schema.registry.url";
  public static final String CREDENTIALS_SOURCE = "basic.auth.credentials.source";
  public static final String USER_INFO = "basic.auth.user.info";
  public static final String PREFIXED_USER_INFO = "schema.registry.basic.auth.user.info";
  public static final String TRUSTSTORE_LOCATION = "schema.registry.ssl.truststore.location";
  public static final String TRUSTSTORE_PASSWORD = "schema.registry.ssl.truststore.password";
  public static final String TRUSTSTORE_TYPE = "schema.registry.ssl.truststore.type";
  public static final String KEYSTORE_LOCATION = "schema.registry.ssl.keystore.location";
  public static final String KEYSTORE_PASSWORD = "schema.registry.ssl.keystore.password";
  public static final String KEYSTORE_TYPE = "schema.registry.ssl.keystore.type";
  public static final String KEY_PASSWORD = "schema.registry.ssl.key.password";
  public static final String MAX_RETRIES = "max.retries";
  public static final String RETRY_WAIT_MS = "retries.wait.ms";
  public static final String RETRY_MAX_WAIT_MS = "retries.max.wait.ms";
  public static final String CONNECT_TIMEOUT_MS = "http.connect.timeout.ms";
  public static final String READ_TIMEOUT_MS = "http.read.timeout.ms";

  private final List<URI> urls;
  private final String authorization;
  private final SSLContext sslContext;
  private final int maxRetries;
  private final Duration retryWait;
  private final Duration retryMaxWait;
  private final Duration connectTimeout;
  private final Duration readTimeout;

  private RegistryClientConfig(Map<String, ?> c) {
    String urlText = string(c, URL).orElseThrow(() -> new ConfigException(URL, null,
        "is not set: set it to the Schema Registry base URL, e.g. http://localhost:8081"));
    List<URI> parsed = new ArrayList<>();
    String urlUserInfo = null;
    for (String part : urlText.split(",")) {
      String u = part.trim();
      if (u.isEmpty()) {
        continue;
      }
      URI uri;
      try {
        uri = URI.create(u);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(URL, urlText, "contains an invalid URL '" + u + "': " + e.getMessage());
      }
      if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
          || uri.getHost() == null) {
        throw new ConfigException(URL, urlText, "must list http:// or https:// URLs with a host, e.g. http://localhost:8081");
      }
      if (uri.getUserInfo() != null) {
        urlUserInfo = uri.getUserInfo();
      }
      // Credentials never travel in the request line; they become an Authorization header.
      URI clean = URI.create(uri.getScheme() + "://" + uri.getHost() + (uri.getPort() >= 0 ? ":" + uri.getPort() : "")
          + (uri.getRawPath() == null ? "" : uri.getRawPath().replaceAll("/+$", "")));
      parsed.add(clean);
    }
    if (parsed.isEmpty()) {
      throw new ConfigException(URL, urlText, "lists no URL; set it to e.g. http://localhost:8081");
    }
    this.urls = List.copyOf(parsed);

    Optional<String> userInfo = string(c, USER_INFO).or(() -> string(c, PREFIXED_USER_INFO));
    String source = string(c, CREDENTIALS_SOURCE).map(s -> s.toUpperCase(Locale.ROOT))
        .orElse(userInfo.isPresent() ? "USER_INFO" : "URL");
    String credentials;
    switch (source) {
      case "USER_INFO" -> {
        credentials = userInfo.orElseThrow(() -> new ConfigException(USER_INFO, null,
            "is required when " + CREDENTIALS_SOURCE + "=USER_INFO: set it to user:password"));
        if (!credentials.contains(":")) {
          throw new ConfigException(USER_INFO, "<hidden>", "must have the form user:password");
        }
      }
      case "URL" -> credentials = urlUserInfo;
      default -> throw new ConfigException(CREDENTIALS_SOURCE, source,
          "is not supported; use USER_INFO (with " + USER_INFO + ") or URL (user:password@ in " + URL + ")");
    }
    this.authorization = credentials == null ? null
        : "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));

    this.sslContext = buildSsl(c);
    this.maxRetries = intValue(c, MAX_RETRIES, 3, 0);
    this.retryWait = Duration.ofMillis(intValue(c, RETRY_WAIT_MS, 100, 0));
    this.retryMaxWait = Duration.ofMillis(intValue(c, RETRY_MAX_WAIT_MS, 2000, 0));
    this.connectTimeout = Duration.ofMillis(intValue(c, CONNECT_TIMEOUT_MS, 5000, 1));
    this.readTimeout = Duration.ofMillis(intValue(c, READ_TIMEOUT_MS, 10000, 1));
  }

  /** Reads and validates the settings; throws {@link ConfigException} naming the bad key. */
  public static RegistryClientConfig from(Map<String, ?> configs) {
    return new RegistryClientConfig(configs);
  }

  /** Settings for a plain registry at {@code url} with every other setting at its default. */
  public static RegistryClientConfig forUrl(String url) {
    return new RegistryClientConfig(Map.of(URL, url));
  }

  public List<URI> urls() {
    return urls;
  }

  /** The {@code Authorization} header value, or null when no credentials are configured. */
  String authorizationHeader() {
    return authorization;
  }

  /** The TLS context built from the key/trust stores, or null for the JVM default. */
  public SSLContext sslContext() {
    return sslContext;
  }

  public int maxRetries() {
    return maxRetries;
  }

  public Duration retryWait() {
    return retryWait;
  }

  public Duration retryMaxWait() {
    return retryMaxWait;
  }

  public Duration connectTimeout() {
    return connectTimeout;
  }

  public Duration readTimeout() {
    return readTimeout;
  }

  private static SSLContext buildSsl(Map<String, ?> c) {
    Optional<String> trust = string(c, TRUSTSTORE_LOCATION);
    Optional<String> keys = string(c, KEYSTORE_LOCATION);
    if (trust.isEmpty() && keys.isEmpty()) {
      return null;
    }
    try {
      KeyManagerFactory kmf = null;
      if (keys.isPresent()) {
        char[] storePw = string(c, KEYSTORE_PASSWORD).map(String::toCharArray).orElse(null);
        KeyStore ks = load(keys.get(), string(c, KEYSTORE_TYPE).orElse("PKCS12"), storePw,
            KEYSTORE_LOCATION, KEYSTORE_PASSWORD);
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, string(c, KEY_PASSWORD).map(String::toCharArray).orElse(storePw));
      }
      TrustManagerFactory tmf = null;
      if (trust.isPresent()) {
        KeyStore ts = load(trust.get(), string(c, TRUSTSTORE_TYPE).orElse("PKCS12"),
            string(c, TRUSTSTORE_PASSWORD).map(String::toCharArray).orElse(null),
            TRUSTSTORE_LOCATION, TRUSTSTORE_PASSWORD);
        tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new ConfigException(trust.isPresent() ? TRUSTSTORE_LOCATION : KEYSTORE_LOCATION, "<store>",
          "cannot build a TLS context: " + e.getMessage());
    }
  }

  private static KeyStore load(String location, String type, char[] password, String locationKey, String passwordKey) {
    Path p = Path.of(location);
    if (!Files.isReadable(p)) {
      throw new ConfigException(locationKey, location, "is not a readable file; point it at a " + type + " key store");
    }
    try (InputStream in = Files.newInputStream(p)) {
      KeyStore ks = KeyStore.getInstance(type);
      ks.load(in, password);
      return ks;
    } catch (IOException | GeneralSecurityException e) {
      throw new ConfigException(locationKey, location,
          "cannot be loaded as " + type + " (check " + passwordKey + " and the store type): " + e.getMessage());
    }
  }

  static Optional<String> string(Map<String, ?> c, String key) {
    Object v = c.get(key);
    if (v == null) {
      return Optional.empty();
    }
    String s = v instanceof org.apache.kafka.common.config.types.Password pw ? pw.value() : v.toString();
    return s.isBlank() ? Optional.empty() : Optional.of(s.trim());
  }

  private static int intValue(Map<String, ?> c, String key, int def, int min) {
    Optional<String> s = string(c, key);
    if (s.isEmpty()) {
      return def;
    }
    try {
      int v = Integer.parseInt(s.get());
      if (v < min) {
        throw new ConfigException(key, s.get(), "must be at least " + min);
      }
      return v;
    } catch (NumberFormatException e) {
      throw new ConfigException(key, s.get(), "must be an integer");
    }
  }
}
