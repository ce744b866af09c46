package io.lorastream.localstack.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.lorastream.registry.CompatibilityLevel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps the Confluent Schema Registry REST API onto {@link RegistryState}: routing, JSON bodies,
 * status codes and error bodies ({@code {"error_code":..,"message":..}}). Query parameters the
 * server does not use are ignored, because real clients send some ({@code normalize},
 * {@code fetchMaxId}, ...). Responses carry {@code application/vnd.schemaregistry.v1+json}; any
 * request content type is accepted, since clients send application/json as often as the vendor type.
 */
final class RegistryHttpHandler implements HttpHandler {
  private static final Logger log = LoggerFactory.getLogger(RegistryHttpHandler.class);
  static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final int MAX_BODY_BYTES = 16 << 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final RegistryState state;

  RegistryHttpHandler(RegistryState state) {
    this.state = state;
  }

  /** A 2xx answer: status and JSON body. */
  private record Reply(int status, Object body) {
    static Reply ok(Object body) {
      return new Reply(200, body);
    }
  }

  @Override
  public void handle(HttpExchange ex) throws IOException {
    Reply reply;
    try (InputStream in = ex.getRequestBody()) {
      // Read the whole (bounded) body first so that every answer leaves the connection reusable.
      byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
      reply = body.length > MAX_BODY_BYTES
          ? error(413, 413, "Request body larger than " + MAX_BODY_BYTES + " bytes")
          : route(ex, body);
    } catch (RegistryError e) {
      reply = error(e.status, e.code, e.getMessage());
    } catch (StoreException e) {
      log.warn("schema store failure: {}", e.getMessage());
      reply = error(500, RegistryError.STORE_ERROR, "Error in the backend data store: " + e.getMessage());
    } catch (RuntimeException e) {
      log.warn("internal error serving {} {}", ex.getRequestMethod(), ex.getRequestURI(), e);
      reply = error(500, RegistryError.STORE_ERROR, "Internal error: " + e);
    }
    send(ex, reply);
  }

  private Reply route(HttpExchange ex, byte[] bytes) {
    String method = ex.getRequestMethod();
    List<String> p = segments(ex.getRequestURI().getRawPath());
    Map<String, String> q = query(ex.getRequestURI().getRawQuery());
    boolean deleted = "true".equalsIgnoreCase(q.get("deleted"));
    int n = p.size();
    String head = n > 0 ? p.get(0) : "";

    if (n == 0) {
      return only(method, "GET", () -> JSON.createObjectNode());
    }
    switch (head) {
      case "subjects" -> {
        if (n == 1) {
          return only(method, "GET", () -> state.subjects(deleted));
        }
        String subject = p.get(1);
        if (n == 2) {
          if (method.equals("POST")) {
            return Reply.ok(view(state.lookup(subject, schemaText(bytes), deleted)));
          }
          return only(method, "DELETE", () -> state.deleteSubject(subject, permanent(q)));
        }
        if (!p.get(2).equals("versions")) {
          break;
        }
        if (n == 3) {
          if (method.equals("POST")) {
            ObjectNode o = JSON.createObjectNode();
            o.put("id", state.register(subject, schemaText(bytes)));
            return Reply.ok(o);
          }
          return only(method, "GET", () -> state.versions(subject, deleted));
        }
        String version = p.get(3);
        if (n == 4) {
          if (method.equals("DELETE")) {
            return Reply.ok(state.deleteVersion(subject, version, permanent(q)));
          }
          return only(method, "GET", () -> view(state.version(subject, version, deleted)));
        }
        if (n == 5 && p.get(4).equals("schema")) {
          return only(method, "GET", () -> rawSchema(state.version(subject, version, deleted).schema()));
        }
        if (n == 5 && p.get(4).equals("referencedby")) {
          return only(method, "GET", () -> {
            state.version(subject, version, deleted);
            return List.of(); // no schema references in this registry
          });
        }
      }
      case "schemas" -> {
        if (n == 2 && p.get(1).equals("types")) {
          return only(method, "GET", () -> List.of("AVRO"));
        }
        if (n == 3 && p.get(1).equals("guids")) {
          return only(method, "GET", () -> {
            ObjectNode o = JSON.createObjectNode();
            String schema = state.schemaByGuid(p.get(2));
            o.put("schema", schema);
            o.put("guid", RegistryState.guidOf(schema).toString());
            return o;
          });
        }
        if (n >= 3 && p.get(1).equals("ids")) {
          int id = schemaId(p.get(2));
          if (n == 3) {
            return only(method, "GET", () -> {
              ObjectNode o = JSON.createObjectNode();
              String schema = state.schemaById(id);
              o.put("schema", schema);
              o.put("guid", RegistryState.guidOf(schema).toString());
              return o;
            });
          }
          if (n == 4 && p.get(3).equals("schema")) {
            return only(method, "GET", () -> rawSchema(state.schemaById(id)));
          }
          if (n == 4 && p.get(3).equals("versions")) {
            return only(method, "GET", () -> {
              ArrayNode a = JSON.createArrayNode();
              state.usagesOf(id, deleted).forEach(v -> a.addObject().put("subject", v.subject()).put("version", v.version()));
              return a;
            });
          }
          if (n == 4 && p.get(3).equals("subjects")) {
            return only(method, "GET", () -> state.usagesOf(id, deleted).stream().map(RegistryState.Version::subject)
                .distinct().toList());
          }
        }
      }
      case "config" -> {
        if (n == 1) {
          if (method.equals("PUT")) {
            return Reply.ok(levelReply("compatibility", state.setGlobalLevel(level(bytes))));
          }
          return only(method, "GET", () -> levelReply("compatibilityLevel", state.globalLevel()));
        }
        if (n == 2) {
          String subject = p.get(1);
          switch (method) {
            case "PUT" -> {
              return Reply.ok(levelReply("compatibility", state.setSubjectLevel(subject, level(bytes))));
            }
            case "DELETE" -> {
              return Reply.ok(levelReply("compatibilityLevel", state.clearSubjectLevel(subject)));
            }
            default -> {
              return only(method, "GET", () -> {
                CompatibilityLevel l = state.subjectLevel(subject).orElse(null);
                if (l == null && "true".equalsIgnoreCase(q.get("defaultToGlobal"))) {
                  l = state.globalLevel();
                }
                if (l == null) {
                  throw new RegistryError(404, RegistryError.SUBJECT_LEVEL_CONFIG_NOT_FOUND,
                      "Subject '" + subject + "' does not have subject-level compatibility configured");
                }
                return levelReply("compatibilityLevel", l);
              });
            }
          }
        }
      }
      case "compatibility" -> {
        if ((n == 4 || n == 5) && p.get(1).equals("subjects") && p.get(3).equals("versions")) {
          String subject = p.get(2);
          String version = n == 5 ? p.get(4) : null;
          if (!method.equals("POST")) {
            return methodNotAllowed(method);
          }
          List<String> problems = state.testCompatibility(subject, version, schemaText(bytes));
          ObjectNode o = JSON.createObjectNode();
          o.put("is_compatible", problems.isEmpty());
          if ("true".equalsIgnoreCase(q.get("verbose"))) {
            ArrayNode msgs = o.putArray("messages");
            problems.forEach(msgs::add);
          }
          return Reply.ok(o);
        }
      }
      case "mode" -> {
        if (n <= 2) {
          return only(method, "GET", () -> {
            ObjectNode o = JSON.createObjectNode();
            o.put("mode", "READWRITE");
            return o;
          });
        }
      }
      default -> {
        // falls through to 404
      }
    }
    return error(404, 404, "HTTP 404 Not Found: " + ex.getRequestURI().getPath());
  }

  private interface Body {
    Object get();
  }

  private static Reply only(String method, String allowed, Body body) {
    if (!method.equals(allowed)) {
      return methodNotAllowed(method);
    }
    Object b = body.get();
    return b instanceof Reply r ? r : Reply.ok(b);
  }

  private static Reply methodNotAllowed(String method) {
    return error(405, 405, "HTTP 405 Method Not Allowed: " + method);
  }

  private static Reply error(int status, int code, String message) {
    ObjectNode o = JSON.createObjectNode();
    o.put("error_code", code);
    o.put("message", message);
    return new Reply(status, o);
  }

  private static ObjectNode view(RegistryState.VersionView v) {
    ObjectNode o = JSON.createObjectNode();
    o.put("subject", v.subject()).put("version", v.version()).put("id", v.id())
        .put("guid", RegistryState.guidOf(v.schema()).toString()).put("schema", v.schema());
    return o;
  }

  private static Object rawSchema(String canonical) {
    try {
      return JSON.readTree(canonical);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stored schema is not JSON", e);
    }
  }

  private static ObjectNode levelReply(String field, CompatibilityLevel level) {
    ObjectNode o = JSON.createObjectNode();
    o.put(field, level.name());
    return o;
  }

  private static boolean permanent(Map<String, String> q) {
    return "true".equalsIgnoreCase(q.get("permanent"));
  }

  private static int schemaId(String text) {
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw RegistryError.schemaNotFound(text);
    }
  }

  /** The "schema" string of a request body; 42201 when missing, 400 when the JSON is malformed. */
  private static String schemaText(byte[] bytes) {
    JsonNode body = body(bytes);
    String type = body.path("schemaType").asText("AVRO");
    if (!type.equalsIgnoreCase("AVRO")) {
      throw RegistryError.invalidSchema("schemaType " + type + " is not supported; this registry serves AVRO only");
    }
    JsonNode refs = body.get("references");
    if (refs != null && refs.isArray() && !refs.isEmpty()) {
      throw RegistryError.invalidSchema("schema references are not supported by this registry");
    }
    JsonNode s = body.get("schema");
    if (s == null || s.isNull()) {
      throw RegistryError.invalidSchema("empty schema: the body must be {\"schema\": \"<schema JSON as a string>\"}");
    }
    if (!s.isTextual()) {
      throw RegistryError.invalidSchema("\"schema\" must be a string holding the schema JSON");
    }
    return s.asText();
  }

  private static CompatibilityLevel level(byte[] bytes) {
    JsonNode body = body(bytes);
    String text = body.path("compatibility").asText(null);
    if (text == null) {
      text = body.path("compatibilityLevel").asText(null);
    }
    String t = text;
    return CompatibilityLevel.parse(t).orElseThrow(() -> RegistryError.invalidLevel(t));
  }

  private static JsonNode body(byte[] bytes) {
    JsonNode n;
    try {
      n = bytes.length == 0 ? null : JSON.readTree(bytes);
    } catch (IOException e) {
      throw new RegistryError(400, 400, "Malformed JSON request body: "
          + (e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
    if (n == null || !n.isObject()) {
      throw new RegistryError(422, 422, "Unprocessable entity: the request body must be a JSON object");
    }
    return n;
  }

  private static void send(HttpExchange ex, Reply reply) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(reply.body());
    ex.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
    ex.sendResponseHeaders(reply.status(), bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static List<String> segments(String rawPath) {
    List<String> out = new ArrayList<>();
    if (rawPath == null) {
      return out;
    }
    for (String s : rawPath.split("/")) {
      if (!s.isEmpty()) {
        // '+' is literal in a path; only %XX escapes are decoded.
        out.add(decode(s.replace("+", "%2B")));
      }
    }
    return out;
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> out = new HashMap<>();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String kv : raw.split("&")) {
      int i = kv.indexOf('=');
      String k = decode(i < 0 ? kv : kv.substring(0, i));
      String v = i < 0 ? "" : decode(kv.substring(i + 1));
      out.put(k, v);
    }
    return out;
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new RegistryError(400, 400, "Malformed URL escape in '" + s + "'");
    }
  }
}
