package io.lorastream.localstack.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.avro.LabeledExample;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The registry's REST contract, checked over real HTTP with a plain HTTP client (not ours), status
 * code and JSON body of each endpoint, including Confluent's error codes.
 */
class RegistryContractTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String V1 = "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"t\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}";
  private static final String V1_REFORMATTED = "{ \"namespace\" : \"t\", \"type\": \"record\", \"name\":\"User\",\n"
      + " \"fields\": [ {\"type\":\"int\", \"name\":\"a\"} ] }";
  private static final String V2_WITH_DEFAULT = "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"t\",\"fields\":["
      + "{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\",\"default\":\"x\"}]}";
  private static final String V2_REQUIRED = "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"t\",\"fields\":["
      + "{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"c\",\"type\":\"long\"}]}";
  private static final String V2_REMOVED_A = "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"t\",\"fields\":[]}";
  private static final String V3_A_AS_STRING = "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"t\",\"fields\":["
      + "{\"name\":\"a\",\"type\":\"string\",\"default\":\"x\"}]}";

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private InMemorySchemaStore store;
  private EmbeddedSchemaRegistry registry;

  record Resp(int status, JsonNode body, String contentType) {
  }

  @BeforeEach
  void start() {
    store = new InMemorySchemaStore();
    registry = EmbeddedSchemaRegistry.builder().store(store).build().start();
  }

  @AfterEach
  void stop() {
    registry.close();
  }

  private Resp call(String method, String path, String body) throws IOException, InterruptedException {
    return call(method, path, body, "application/vnd.schemaregistry.v1+json");
  }

  private Resp call(String method, String path, String body, String contentType) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(registry.url() + path));
    if (body != null) {
      b.header("Content-Type", contentType).method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Resp(r.statusCode(), r.body().isEmpty() ? null : JSON.readTree(r.body()),
        r.headers().firstValue("Content-Type").orElse(""));
  }

  private static String schemaBody(String schema) throws IOException {
    return JSON.writeValueAsString(JSON.createObjectNode().put("schema", schema));
  }

  private static String canonical(String schema) {
    return new Schema.Parser().parse(schema).toString();
  }

  private static void assertError(Resp r, int status, int code) {
    assertThat(r.status()).as("status of %s", r.body()).isEqualTo(status);
    assertThat(r.body().path("error_code").asInt()).as("error_code of %s", r.body()).isEqualTo(code);
    assertThat(r.body().path("message").asText()).isNotBlank();
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  @Test
  void registerIsIdempotentAndIdsAreGlobal() throws Exception {
    Resp r1 = call("POST", "/subjects/users-value/versions", schemaBody(V1));
    assertThat(r1.status()).isEqualTo(200);
    assertThat(r1.contentType()).isEqualTo("application/vnd.schemaregistry.v1+json");
    int id = r1.body().path("id").asInt();
    assertThat(id).isPositive();

    // Same schema with other whitespace and key order: same id, no new version.
    Resp again = call("POST", "/subjects/users-value/versions", schemaBody(V1_REFORMATTED));
    assertThat(again.body().path("id").asInt()).isEqualTo(id);
    assertThat(texts(call("GET", "/subjects/users-value/versions", null).body())).containsExactly("1");

    // Same schema under another subject: same global id, version 1 there.
    Resp other = call("POST", "/subjects/admins-value/versions", schemaBody(V1), "application/json");
    assertThat(other.status()).isEqualTo(200);
    assertThat(other.body().path("id").asInt()).isEqualTo(id);
    assertThat(texts(call("GET", "/subjects", null).body())).containsExactly("admins-value", "users-value");

    // A different schema gets a new id.
    int id2 = call("POST", "/subjects/users-value/versions", schemaBody(V2_WITH_DEFAULT)).body().path("id").asInt();
    assertThat(id2).isNotEqualTo(id);
    assertThat(texts(call("GET", "/subjects/users-value/versions", null).body())).containsExactly("1", "2");

    Resp byId = call("GET", "/schemas/ids/" + id, null);
    assertThat(byId.status()).isEqualTo(200);
    assertThat(byId.body().path("schema").asText()).isEqualTo(canonical(V1));

    Resp raw = call("GET", "/schemas/ids/" + id + "/schema", null);
    assertThat(raw.body()).isEqualTo(JSON.readTree(canonical(V1)));

    Resp usages = call("GET", "/schemas/ids/" + id + "/versions", null);
    assertThat(usages.body().toString()).isEqualTo(
        "[{\"subject\":\"admins-value\",\"version\":1},{\"subject\":\"users-value\",\"version\":1}]");
  }

  @Test
  void versionsAndLookup() throws Exception {
    int id1 = call("POST", "/subjects/s/versions", schemaBody(V1)).body().path("id").asInt();
    int id2 = call("POST", "/subjects/s/versions", schemaBody(V2_WITH_DEFAULT)).body().path("id").asInt();

    Resp v1 = call("GET", "/subjects/s/versions/1", null);
    assertThat(v1.status()).isEqualTo(200);
    assertThat(v1.body().path("subject").asText()).isEqualTo("s");
    assertThat(v1.body().path("version").asInt()).isEqualTo(1);
    assertThat(v1.body().path("id").asInt()).isEqualTo(id1);
    assertThat(v1.body().path("schema").asText()).isEqualTo(canonical(V1));

    Resp latest = call("GET", "/subjects/s/versions/latest", null);
    assertThat(latest.body().path("version").asInt()).isEqualTo(2);
    assertThat(latest.body().path("id").asInt()).isEqualTo(id2);
    assertThat(call("GET", "/subjects/s/versions/-1", null).body().path("version").asInt()).isEqualTo(2);
    assertThat(call("GET", "/subjects/s/versions/2/schema", null).body()).isEqualTo(JSON.readTree(canonical(V2_WITH_DEFAULT)));

    Resp lookup = call("POST", "/subjects/s", schemaBody(V1_REFORMATTED));
    assertThat(lookup.status()).isEqualTo(200);
    assertThat(lookup.body().path("id").asInt()).isEqualTo(id1);
    assertThat(lookup.body().path("version").asInt()).isEqualTo(1);
    assertThat(lookup.body().path("subject").asText()).isEqualTo("s");
    assertThat(lookup.body().path("schema").asText()).isEqualTo(canonical(V1));

    assertError(call("POST", "/subjects/s", schemaBody(V2_REQUIRED)), 404, 40403);
    assertError(call("POST", "/subjects/nope", schemaBody(V1)), 404, 40401);
    assertError(call("GET", "/subjects/nope/versions", null), 404, 40401);
    assertError(call("GET", "/subjects/nope/versions/latest", null), 404, 40401);
    assertError(call("GET", "/subjects/s/versions/9", null), 404, 40402);
    assertError(call("GET", "/subjects/s/versions/abc", null), 422, 42202);
    assertError(call("GET", "/subjects/s/versions/0", null), 422, 42202);
    assertError(call("GET", "/schemas/ids/999", null), 404, 40403);
    assertError(call("GET", "/schemas/ids/x", null), 404, 40403);
  }

  @Test
  void backwardAcceptsFieldWithDefaultAndRejectsRequiredField() throws Exception {
    call("POST", "/subjects/s/versions", schemaBody(V1));
    assertThat(call("POST", "/subjects/s/versions", schemaBody(V2_WITH_DEFAULT)).status()).isEqualTo(200);
    Resp rejected = call("POST", "/subjects/s/versions", schemaBody(V2_REQUIRED));
    assertError(rejected, 409, 409);
    assertThat(rejected.body().path("message").asText()).contains("incompatible").contains("READER_FIELD_MISSING_DEFAULT_VALUE");
    assertThat(texts(call("GET", "/subjects/s/versions", null).body())).containsExactly("1", "2");
  }

  @ParameterizedTest(name = "{0}: add required field -> {1}, remove required field -> {2}")
  @CsvSource({
      "BACKWARD, 409, 200",
      "BACKWARD_TRANSITIVE, 409, 200",
      "FORWARD, 200, 409",
      "FORWARD_TRANSITIVE, 200, 409",
      "FULL, 409, 409",
      "FULL_TRANSITIVE, 409, 409",
      "NONE, 200, 200"})
  void eachLevelChecksTheRightDirection(String level, int addRequired, int removeRequired) throws Exception {
    for (String subject : List.of("a", "b", "c")) {
      assertThat(call("PUT", "/config/" + subject, "{\"compatibility\":\"" + level + "\"}").status()).isEqualTo(200);
      assertThat(call("POST", "/subjects/" + subject + "/versions", schemaBody(V1)).status()).isEqualTo(200);
    }
    assertThat(call("POST", "/subjects/a/versions", schemaBody(V2_REQUIRED)).status()).isEqualTo(addRequired);
    assertThat(call("POST", "/subjects/b/versions", schemaBody(V2_REMOVED_A)).status()).isEqualTo(removeRequired);
    // A field with a default is compatible in both directions, so every level accepts it.
    assertThat(call("POST", "/subjects/c/versions", schemaBody(V2_WITH_DEFAULT)).status()).isEqualTo(200);
  }

  @Test
  void transitiveLevelsCheckEveryEarlierVersion() throws Exception {
    // v3 reads v2 data (no field a -> default) but not v1 data (int a cannot become a string).
    for (String subject : List.of("plain", "transitive")) {
      call("PUT", "/config/" + subject, "{\"compatibility\":\"" + (subject.equals("plain") ? "BACKWARD" : "BACKWARD_TRANSITIVE") + "\"}");
      call("POST", "/subjects/" + subject + "/versions", schemaBody(V1));
      assertThat(call("POST", "/subjects/" + subject + "/versions", schemaBody(V2_REMOVED_A)).status()).isEqualTo(200);
    }
    assertThat(call("POST", "/subjects/plain/versions", schemaBody(V3_A_AS_STRING)).status()).isEqualTo(200);
    assertError(call("POST", "/subjects/transitive/versions", schemaBody(V3_A_AS_STRING)), 409, 409);
  }

  @Test
  void compatibilityEndpoint() throws Exception {
    call("POST", "/subjects/s/versions", schemaBody(V1));
    Resp ok = call("POST", "/compatibility/subjects/s/versions/latest", schemaBody(V2_WITH_DEFAULT));
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.body().path("is_compatible").asBoolean()).isTrue();

    Resp bad = call("POST", "/compatibility/subjects/s/versions/1?verbose=true", schemaBody(V2_REQUIRED));
    assertThat(bad.status()).isEqualTo(200);
    assertThat(bad.body().path("is_compatible").asBoolean()).isFalse();
    assertThat(bad.body().path("messages").toString()).contains("READER_FIELD_MISSING_DEFAULT_VALUE");

    assertThat(call("POST", "/compatibility/subjects/s/versions", schemaBody(V2_REQUIRED)).body()
        .path("is_compatible").asBoolean()).isFalse();
    // No versions yet: anything is compatible.
    assertThat(call("POST", "/compatibility/subjects/new/versions", schemaBody(V2_REQUIRED)).body()
        .path("is_compatible").asBoolean()).isTrue();
    assertError(call("POST", "/compatibility/subjects/nope/versions/latest", schemaBody(V1)), 404, 40401);
    assertError(call("POST", "/compatibility/subjects/s/versions/7", schemaBody(V1)), 404, 40402);
    assertError(call("POST", "/compatibility/subjects/s/versions/latest", schemaBody("{not avro")), 422, 42201);
  }

  @Test
  void globalAndSubjectConfig() throws Exception {
    Resp global = call("GET", "/config", null);
    assertThat(global.status()).isEqualTo(200);
    assertThat(global.body().path("compatibilityLevel").asText()).isEqualTo("BACKWARD");

    Resp put = call("PUT", "/config", "{\"compatibility\":\"full\"}");
    assertThat(put.status()).isEqualTo(200);
    assertThat(put.body().path("compatibility").asText()).isEqualTo("FULL");
    assertThat(call("GET", "/config", null).body().path("compatibilityLevel").asText()).isEqualTo("FULL");

    assertError(call("GET", "/config/s", null), 404, 40408);
    assertThat(call("GET", "/config/s?defaultToGlobal=true", null).body().path("compatibilityLevel").asText())
        .isEqualTo("FULL");
    assertThat(call("PUT", "/config/s", "{\"compatibility\":\"NONE\"}").body().path("compatibility").asText())
        .isEqualTo("NONE");
    assertThat(call("GET", "/config/s", null).body().path("compatibilityLevel").asText()).isEqualTo("NONE");
    assertThat(call("DELETE", "/config/s", null).body().path("compatibilityLevel").asText()).isEqualTo("NONE");
    assertError(call("GET", "/config/s", null), 404, 40408);

    assertError(call("PUT", "/config", "{\"compatibility\":\"SIDEWAYS\"}"), 422, 42203);
    assertError(call("PUT", "/config/s", "{}"), 422, 42203);
  }

  @Test
  void invalidInputGetsAnErrorBody() throws Exception {
    assertError(call("POST", "/subjects/s/versions", schemaBody("{\"type\":\"record\",\"name\":\"X\"}")), 422, 42201);
    assertError(call("POST", "/subjects/s/versions", schemaBody("not a schema at all")), 422, 42201);
    assertError(call("POST", "/subjects/s/versions", schemaBody(
        "{\"type\":\"record\",\"name\":\"X\",\"fields\":[{\"name\":\"n\",\"type\":\"int\",\"default\":\"text\"}]}")),
        422, 42201);
    assertError(call("POST", "/subjects/s/versions", "{}"), 422, 42201);
    assertError(call("POST", "/subjects/s/versions", "{\"schema\": 42}"), 422, 42201);
    assertError(call("POST", "/subjects/s/versions", "{\"schema\": \"\\\"int\\\"\", \"schemaType\": \"PROTOBUF\"}"), 422, 42201);

    Resp malformed = call("POST", "/subjects/s/versions", "{\"schema\": ");
    assertError(malformed, 400, 400);
    assertThat(malformed.contentType()).isEqualTo("application/vnd.schemaregistry.v1+json");
    assertError(call("PUT", "/config", "{{{"), 400, 400);
    assertError(call("POST", "/subjects/s/versions", "[1,2]"), 422, 422);
    assertError(call("POST", "/subjects/s/versions", ""), 422, 422);

    assertError(call("GET", "/no/such/path", null), 404, 404);
    assertError(call("DELETE", "/config", null), 405, 405);
    // Nothing was registered by any of that.
    assertThat(texts(call("GET", "/subjects", null).body())).isEmpty();
  }

  @Test
  void unknownQueryParametersAreIgnored() throws Exception {
    Resp r = call("POST", "/subjects/s/versions?normalize=false&foo=bar", schemaBody(V1));
    assertThat(r.status()).isEqualTo(200);
    assertThat(call("GET", "/subjects?deleted=false&subjectPrefix=&x=1", null).body().toString()).isEqualTo("[\"s\"]");
    assertThat(call("GET", "/schemas/ids/" + r.body().path("id").asInt() + "?fetchMaxId=false&subject=s", null).status())
        .isEqualTo(200);
    assertThat(call("GET", "/subjects/s/versions/latest?lookupDeletedSchema=true", null).status()).isEqualTo(200);
    assertThat(call("GET", "/", null).body().toString()).isEqualTo("{}");
    assertThat(call("GET", "/schemas/types", null).body().toString()).isEqualTo("[\"AVRO\"]");
    assertThat(call("GET", "/mode", null).body().path("mode").asText()).isEqualTo("READWRITE");
  }

  @Test
  void softAndPermanentDelete() throws Exception {
    int id = call("POST", "/subjects/s/versions", schemaBody(V1)).body().path("id").asInt();
    call("POST", "/subjects/s/versions", schemaBody(V2_WITH_DEFAULT));

    assertThat(call("DELETE", "/subjects/s/versions/2", null).body().asInt()).isEqualTo(2);
    assertThat(texts(call("GET", "/subjects/s/versions", null).body())).containsExactly("1");
    assertThat(texts(call("GET", "/subjects/s/versions?deleted=true", null).body())).containsExactly("1", "2");

    assertThat(texts(call("DELETE", "/subjects/s", null).body())).containsExactly("1");
    assertThat(texts(call("GET", "/subjects", null).body())).isEmpty();
    assertThat(texts(call("GET", "/subjects?deleted=true", null).body())).containsExactly("s");
    assertError(call("GET", "/subjects/s/versions", null), 404, 40401);
    // Ids stay resolvable: old records must still deserialize.
    assertThat(call("GET", "/schemas/ids/" + id, null).status()).isEqualTo(200);

    // Registering again after a soft delete reuses the id and continues the version numbers.
    Resp re = call("POST", "/subjects/s/versions", schemaBody(V1));
    assertThat(re.body().path("id").asInt()).isEqualTo(id);
    assertThat(call("GET", "/subjects/s/versions/latest", null).body().path("version").asInt()).isEqualTo(3);

    assertError(call("DELETE", "/subjects/s?permanent=true", null), 404, 40405);
    call("DELETE", "/subjects/s", null);
    assertThat(texts(call("DELETE", "/subjects/s?permanent=true", null).body())).containsExactly("1", "2", "3");
    assertThat(texts(call("GET", "/subjects?deleted=true", null).body())).isEmpty();
  }

  @Test
  void newRegistryOverTheSameStoreServesTheSameIds() throws Exception {
    int id1 = call("POST", "/subjects/s/versions", schemaBody(V1)).body().path("id").asInt();
    int id2 = call("POST", "/subjects/t/versions", schemaBody(V2_REQUIRED)).body().path("id").asInt();
    call("PUT", "/config/s", "{\"compatibility\":\"NONE\"}");
    registry.close();

    registry = EmbeddedSchemaRegistry.builder().store(store).build().start();
    assertThat(call("POST", "/subjects/s/versions", schemaBody(V1)).body().path("id").asInt()).isEqualTo(id1);
    assertThat(call("POST", "/subjects/t", schemaBody(V2_REQUIRED)).body().path("id").asInt()).isEqualTo(id2);
    assertThat(call("GET", "/config/s", null).body().path("compatibilityLevel").asText()).isEqualTo("NONE");
    // New schemas continue after the highest replayed id instead of reusing one.
    int id3 = call("POST", "/subjects/u/versions", schemaBody(LabeledExample.getClassSchema().toString())).body()
        .path("id").asInt();
    assertThat(id3).isGreaterThan(Math.max(id1, id2));
  }

  @Test
  void subjectNamesAreUrlDecoded() throws Exception {
    assertThat(call("POST", "/subjects/a%2Fb%20c-value/versions", schemaBody(V1)).status()).isEqualTo(200);
    assertThat(texts(call("GET", "/subjects", null).body())).containsExactly("a/b c-value");
    assertThat(call("GET", "/subjects/a%2Fb%20c-value/versions/1", null).body().path("subject").asText())
        .isEqualTo("a/b c-value");
  }
}
