package io.lorastream.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * Client for the Confluent Schema Registry REST API (v1), used by the serdes and by operators'
 * tools. It speaks {@code application/vnd.schemaregistry.v1+json}, turns error bodies into typed
 * {@link RegistryException}s, retries 5xx answers and connection failures with bounded exponential
 * back-off (rotating over the configured URLs), and passes basic-auth and TLS settings through.
 * Schemas by id and ids by (subject, schema) never change once assigned, so both are cached for the
 * life of the client; everything else is fetched on each call. Thread-safe; share one instance.
 */
public final class SchemaRegistryClient {
  public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final RegistryClientConfig config;
  private final HttpClient http;
  private final List<URI> urls;
  private final AtomicInteger currentUrl = new AtomicInteger();
  private final Map<Integer, Schema> schemaById = new ConcurrentHashMap<>();
  private final Map<SubjectSchema, Integer> idBySubjectSchema = new ConcurrentHashMap<>();
  private final Map<java.util.UUID, Schema> schemaByGuid = new ConcurrentHashMap<>();
  private final Map<Integer, java.util.UUID> guidById = new ConcurrentHashMap<>();

  private record SubjectSchema(String subject, String canonical) {
  }

  /** A client for the registry at {@code url} (comma-separated for fail-over) with default settings. */
  public SchemaRegistryClient(String url) {
    this(RegistryClientConfig.forUrl(url));
  }

  public SchemaRegistryClient(RegistryClientConfig config) {
    this.config = config;
    this.urls = config.urls();
    HttpClient.Builder b = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(config.connectTimeout());
    if (config.sslContext() != null) {
      b.sslContext(config.sslContext());
    }
    this.http = b.build();
  }

  /** Builds a client from Confluent-style settings; see {@link RegistryClientConfig} for the keys. */
  public static SchemaRegistryClient fromConfig(Map<String, ?> configs) {
    return new SchemaRegistryClient(RegistryClientConfig.from(configs));
  }

  public RegistryClientConfig config() {
    return config;
  }

  /** The first configured base URL. */
  public String url() {
    return urls.get(0).toString();
  }

  // ---------------------------------------------------------------- subjects and versions

  /** Registers {@code schema} under {@code subject} (idempotent) and returns its global id. */
  public int register(String subject, Schema schema) {
    String canonical = schema.toString();
    SubjectSchema key = new SubjectSchema(subject, canonical);
    Integer cached = idBySubjectSchema.get(key);
    if (cached != null) {
      return cached;
    }
    int id = registerText(subject, canonical);
    idBySubjectSchema.put(key, id);
    schemaById.putIfAbsent(id, schema);
    return id;
  }

  /** Registers raw schema text (not parsed locally, so the registry validates it); returns the id. */
  public int registerText(String subject, String schemaText) {
    JsonNode r = call("POST", "/subjects/" + seg(subject) + "/versions", schemaBody(schemaText));
    return r.path("id").asInt();
  }

  /**
   * Looks up the version of {@code subject} whose schema equals {@code schema}. Throws
   * {@link SubjectNotFoundException} or {@link SchemaNotFoundException} when there is none.
   */
  public SchemaMetadata lookup(String subject, Schema schema) {
    SchemaMetadata m = metadata(call("POST", "/subjects/" + seg(subject), schemaBody(schema.toString())));
    idBySubjectSchema.put(new SubjectSchema(subject, schema.toString()), m.id());
    return m;
  }

  /** The id of {@code schema} under {@code subject}, without registering it; cached. */
  public int getId(String subject, Schema schema) {
    String canonical = schema.toString();
    Integer cached = idBySubjectSchema.get(new SubjectSchema(subject, canonical));
    return cached != null ? cached : lookup(subject, schema).id();
  }

  /** The schema with global id {@code id}; cached. Throws {@link SchemaNotFoundException}. */
  public Schema getSchemaById(int id) {
    return cachedSchema(schemaById, id, "/schemas/ids/" + id, "schema id " + id);
  }

  /**
   * The schema with GUID {@code guid} ({@code GET /schemas/guids/{guid}}, Confluent Schema Registry
   * 8.0 and later); cached. Throws {@link SchemaNotFoundException}.
   */
  public Schema getSchemaByGuid(java.util.UUID guid) {
    return cachedSchema(schemaByGuid, guid, "/schemas/guids/" + guid, "schema GUID " + guid);
  }

  /** A schema that never changes once assigned: from {@code cache}, else fetched from {@code path} and kept. */
  private <K> Schema cachedSchema(Map<K, Schema> cache, K key, String path, String what) {
    Schema s = cache.get(key);
    if (s != null) {
      return s;
    }
    Schema parsed = parse(call("GET", path, null).path("schema").asText(), what);
    Schema prev = cache.putIfAbsent(key, parsed);
    return prev != null ? prev : parsed;
  }

  /**
   * The GUID of schema id {@code id}, from {@code GET /schemas/ids/{id}}; cached. Throws
   * {@link RegistryException} when the registry answers without one (older than Confluent 8.0).
   */
  public java.util.UUID getGuid(int id) {
    java.util.UUID g = guidById.get(id);
    if (g != null) {
      return g;
    }
    JsonNode r = call("GET", "/schemas/ids/" + id, null);
    String text = r.path("guid").asText("");
    if (text.isEmpty()) {
      throw new RegistryException(200, -1, "the registry at " + url() + " reports no GUID for schema id " + id
          + " (schema GUIDs need Confluent Schema Registry 8.0 or later); write schema ids in the payload prefix instead");
    }
    try {
      g = java.util.UUID.fromString(text);
    } catch (IllegalArgumentException e) {
      throw new RegistryException(200, -1, "the registry at " + url() + " reports GUID '" + text + "' for schema id "
          + id + ", which is not a UUID");
    }
    schemaById.putIfAbsent(id, parse(r.path("schema").asText(), "schema id " + id));
    guidById.put(id, g);
    return g;
  }

  /** One version of a subject. */
  public SchemaMetadata getVersion(String subject, int version) {
    return metadata(call("GET", "/subjects/" + seg(subject) + "/versions/" + version, null));
  }

  /** The latest live version of a subject (never cached here; callers decide how stale they may be). */
  public SchemaMetadata getLatestVersion(String subject) {
    return metadata(call("GET", "/subjects/" + seg(subject) + "/versions/latest", null));
  }

  public List<String> listSubjects() {
    List<String> out = new ArrayList<>();
    call("GET", "/subjects", null).forEach(n -> out.add(n.asText()));
    return out;
  }

  public List<Integer> listVersions(String subject) {
    List<Integer> out = new ArrayList<>();
    call("GET", "/subjects/" + seg(subject) + "/versions", null).forEach(n -> out.add(n.asInt()));
    return out;
  }

  /** Soft-deletes a subject; returns the versions that were deleted. */
  public List<Integer> deleteSubject(String subject) {
    List<Integer> out = new ArrayList<>();
    call("DELETE", "/subjects/" + seg(subject), null).forEach(n -> out.add(n.asInt()));
    return out;
  }

  /** Soft-deletes one version ("latest" or a number); returns the deleted version number. */
  public int deleteVersion(String subject, String version) {
    return call("DELETE", "/subjects/" + seg(subject) + "/versions/" + seg(version), null).asInt();
  }

  // ---------------------------------------------------------------- compatibility and config

  /** Whether {@code schema} is compatible with one version ("latest" or a number) of the subject. */
  public boolean testCompatibility(String subject, String version, Schema schema) {
    JsonNode r = call("POST", "/compatibility/subjects/" + seg(subject) + "/versions/" + seg(version),
        schemaBody(schema.toString()));
    return r.path("is_compatible").asBoolean();
  }

  /** Whether {@code schema} may be registered under the subject's compatibility level. */
  public boolean testCompatibility(String subject, Schema schema) {
    JsonNode r = call("POST", "/compatibility/subjects/" + seg(subject) + "/versions", schemaBody(schema.toString()));
    return r.path("is_compatible").asBoolean();
  }

  public CompatibilityLevel getGlobalCompatibility() {
    return level(call("GET", "/config", null).path("compatibilityLevel").asText());
  }

  /** The subject's own level; empty when the subject follows the global level. */
  public Optional<CompatibilityLevel> getSubjectCompatibility(String subject) {
    try {
      return Optional.of(level(call("GET", "/config/" + seg(subject), null).path("compatibilityLevel").asText()));
    } catch (RegistryException e) {
      if (e.errorCode() == 40408 || e instanceof SubjectNotFoundException) {
        return Optional.empty();
      }
      throw e;
    }
  }

  public CompatibilityLevel setGlobalCompatibility(CompatibilityLevel level) {
    return level(call("PUT", "/config", configBody(level)).path("compatibility").asText());
  }

  public CompatibilityLevel setSubjectCompatibility(String subject, CompatibilityLevel level) {
    return level(call("PUT", "/config/" + seg(subject), configBody(level)).path("compatibility").asText());
  }

  // ---------------------------------------------------------------- HTTP

  private JsonNode call(String method, String path, JsonNode body) {
    byte[] payload;
    try {
      payload = body == null ? null : JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode request body", e);
    }
    int attempts = config.maxRetries() + 1;
    Exception last = null;
    int lastStatus = -1;
    int lastCode = -1;
    for (int attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        backoff(attempt, method, path);
      }
      int urlIndex = Math.floorMod(currentUrl.get(), urls.size());
      URI uri = URI.create(urls.get(urlIndex) + path);
      HttpRequest.Builder rb = HttpRequest.newBuilder(uri)
          .timeout(config.readTimeout())
          .header("Accept", CONTENT_TYPE + ", application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5");
      if (config.authorizationHeader() != null) {
        rb.header("Authorization", config.authorizationHeader());
      }
      if (payload != null) {
        rb.header("Content-Type", CONTENT_TYPE).method(method, HttpRequest.BodyPublishers.ofByteArray(payload));
      } else {
        rb.method(method, HttpRequest.BodyPublishers.noBody());
      }
      HttpResponse<byte[]> resp;
      try {
        resp = http.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
      } catch (IOException e) {
        // Connection refused, reset or timed out: another URL (or the same one later) may answer.
        last = e;
        currentUrl.compareAndSet(urlIndex, urlIndex + 1);
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RegistryException(-1, -1, "interrupted while calling " + method + " " + uri, e);
      }
      int status = resp.statusCode();
      if (status >= 200 && status < 300) {
        return parseBody(resp.body(), uri);
      }
      RegistryException error = toException(status, resp.body(), method, uri);
      if (status >= 500 || status == 429) {
        last = error;
        lastStatus = status;
        lastCode = error.errorCode();
        continue;
      }
      throw error;
    }
    throw new RegistryUnavailableException(lastStatus, lastCode,
        "Schema Registry " + urls + " failed " + method + " " + path + " after " + attempts + " attempt(s): "
            + (last == null ? "unknown error" : last.getClass().getSimpleName() + ": " + last.getMessage()), last);
  }

  private void backoff(int attempt, String method, String path) {
    long base = config.retryWait().toMillis();
    long cap = config.retryMaxWait().toMillis();
    long wait = Math.min(cap, base << Math.min(attempt - 1, 20));
    try {
      Thread.sleep(wait);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException(-1, -1, "interrupted while retrying " + method + " " + path, e);
    }
  }

  private static JsonNode parseBody(byte[] body, URI uri) {
    if (body == null || body.length == 0) {
      return NullNode.getInstance();
    }
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new RegistryException(200, -1, "Schema Registry at " + uri + " returned a body that is not JSON: "
          + snippet(body), e);
    }
  }

  private static RegistryException toException(int status, byte[] body, String method, URI uri) {
    int code = status;
    String message = null;
    try {
      JsonNode n = body == null || body.length == 0 ? null : JSON.readTree(body);
      if (n != null && n.isObject()) {
        code = n.path("error_code").asInt(status);
        message = n.path("message").asText(null);
      }
    } catch (IOException ignored) {
      // not JSON: fall back to the raw text below
    }
    if (message == null) {
      message = "HTTP " + status + (body == null || body.length == 0 ? "" : ": " + snippet(body));
    }
    return RegistryException.of(status, code, message + " (" + method + " " + uri + ", error_code " + code + ")");
  }

  private static String snippet(byte[] body) {
    String s = new String(body, StandardCharsets.UTF_8);
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }

  private static SchemaMetadata metadata(JsonNode n) {
    return new SchemaMetadata(n.path("subject").asText(), n.path("id").asInt(), n.path("version").asInt(),
        n.path("schema").asText());
  }

  private static ObjectNode schemaBody(String schemaText) {
    ObjectNode o = JSON.createObjectNode();
    o.put("schema", schemaText);
    return o;
  }

  private static ObjectNode configBody(CompatibilityLevel level) {
    ObjectNode o = JSON.createObjectNode();
    o.put("compatibility", level.name());
    return o;
  }

  private static CompatibilityLevel level(String text) {
    return CompatibilityLevel.parse(text).orElseThrow(() ->
        new RegistryException(200, -1, "registry returned an unknown compatibility level '" + text + "'"));
  }

  private static Schema parse(String text, String what) {
    try {
      return new Schema.Parser().parse(text);
    } catch (SchemaParseException e) {
      throw new RegistryException(200, -1, "registry returned an unparseable schema for " + what + ": " + e.getMessage(), e);
    }
  }

  private static String seg(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  @Override
  public String toString() {
    return "SchemaRegistryClient" + urls;
  }
}
