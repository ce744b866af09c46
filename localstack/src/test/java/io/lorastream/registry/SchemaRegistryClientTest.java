package io.lorastream.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.Prediction;
import io.lorastream.localstack.registry.EmbeddedSchemaRegistry;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The REST client against the real embedded registry and against tiny scripted HTTP servers. */
class SchemaRegistryClientTest {
  private static final Schema V1 = SchemaBuilder.record("User").namespace("t").fields().requiredInt("a").endRecord();
  private static final Schema V2_DEFAULT = SchemaBuilder.record("User").namespace("t").fields()
      .requiredInt("a").name("b").type().stringType().stringDefault("x").endRecord();
  private static final Schema V2_REQUIRED = SchemaBuilder.record("User").namespace("t").fields()
      .requiredInt("a").requiredLong("c").endRecord();

  private EmbeddedSchemaRegistry registry;
  private HttpServer scripted;

  @BeforeEach
  void start() {
    registry = EmbeddedSchemaRegistry.inMemory();
  }

  @AfterEach
  void stop() {
    registry.close();
    if (scripted != null) {
      scripted.stop(0);
    }
  }

  @Test
  void coversTheRegistryApi() {
    SchemaRegistryClient c = new SchemaRegistryClient(registry.url());
    int id1 = c.register("users-value", V1);
    assertThat(c.register("users-value", V1)).isEqualTo(id1);
    int id2 = c.register("users-value", V2_DEFAULT);
    assertThat(id2).isNotEqualTo(id1);
    assertThat(c.register("other-value", V1)).isEqualTo(id1);

    assertThat(c.listSubjects()).containsExactly("other-value", "users-value");
    assertThat(c.listVersions("users-value")).containsExactly(1, 2);
    assertThat(c.getSchemaById(id1)).isEqualTo(V1);
    assertThat(c.getVersion("users-value", 1)).isEqualTo(new SchemaMetadata("users-value", id1, 1, V1.toString()));
    assertThat(c.getLatestVersion("users-value").id()).isEqualTo(id2);
    assertThat(c.lookup("users-value", V1).version()).isEqualTo(1);
    assertThat(c.getId("users-value", V2_DEFAULT)).isEqualTo(id2);

    assertThat(c.testCompatibility("users-value", "latest", V2_DEFAULT)).isTrue();
    assertThat(c.testCompatibility("users-value", V2_REQUIRED)).isFalse();

    assertThat(c.getGlobalCompatibility()).isEqualTo(CompatibilityLevel.BACKWARD);
    assertThat(c.getSubjectCompatibility("users-value")).isEmpty();
    assertThat(c.setSubjectCompatibility("users-value", CompatibilityLevel.NONE)).isEqualTo(CompatibilityLevel.NONE);
    assertThat(c.getSubjectCompatibility("users-value")).contains(CompatibilityLevel.NONE);
    assertThat(c.setGlobalCompatibility(CompatibilityLevel.FULL_TRANSITIVE)).isEqualTo(CompatibilityLevel.FULL_TRANSITIVE);
    assertThat(c.getGlobalCompatibility()).isEqualTo(CompatibilityLevel.FULL_TRANSITIVE);
    // NONE on the subject now lets the required field in.
    assertThat(c.register("users-value", V2_REQUIRED)).isPositive();

    assertThat(c.deleteVersion("users-value", "1")).isEqualTo(1);
    assertThat(c.listVersions("users-value")).containsExactly(2, 3);
    assertThat(c.deleteSubject("other-value")).containsExactly(1);
    assertThat(c.listSubjects()).containsExactly("users-value");
  }

  @Test
  void errorsBecomeTypedExceptions() {
    SchemaRegistryClient c = new SchemaRegistryClient(registry.url());
    c.register("s", V1);
    assertThatThrownBy(() -> c.listVersions("nope"))
        .isInstanceOfSatisfying(SubjectNotFoundException.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(404);
          assertThat(e.errorCode()).isEqualTo(40401);
          assertThat(e.getMessage()).contains("nope");
        });
    assertThatThrownBy(() -> c.getVersion("s", 5)).isInstanceOfSatisfying(VersionNotFoundException.class,
        e -> assertThat(e.errorCode()).isEqualTo(40402));
    assertThatThrownBy(() -> c.getSchemaById(4242)).isInstanceOfSatisfying(SchemaNotFoundException.class,
        e -> assertThat(e.errorCode()).isEqualTo(40403));
    assertThatThrownBy(() -> c.lookup("s", V2_DEFAULT)).isInstanceOf(SchemaNotFoundException.class);
    assertThatThrownBy(() -> c.getId("nope", V1)).isInstanceOf(SubjectNotFoundException.class);
    assertThatThrownBy(() -> c.register("s", V2_REQUIRED)).isInstanceOfSatisfying(IncompatibleSchemaException.class, e -> {
      assertThat(e.httpStatus()).isEqualTo(409);
      assertThat(e.errorCode()).isEqualTo(409);
    });
    assertThatThrownBy(() -> c.registerText("s", "{\"type\":\"nonsense\"}"))
        .isInstanceOfSatisfying(InvalidSchemaException.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(422);
          assertThat(e.errorCode()).isEqualTo(42201);
        });
    // Not typed by a subclass, but still carries the codes.
    assertThatThrownBy(() -> c.getVersion("s", 0)).isExactlyInstanceOf(RegistryException.class)
        .satisfies(e -> assertThat(((RegistryException) e).errorCode()).isEqualTo(42202));
  }

  @Test
  void cachesSchemasByIdAndIdsBySubjectAndSchema() throws IOException {
    AtomicInteger calls = new AtomicInteger();
    scripted = scriptedServer(ex -> {
      calls.incrementAndGet();
      if (ex.getRequestURI().getPath().startsWith("/schemas/ids/")) {
        reply(ex, 200, "{\"schema\":" + quote(V1.toString()) + "}");
      } else {
        reply(ex, 200, "{\"id\":12}");
      }
    });
    SchemaRegistryClient c = new SchemaRegistryClient(url(scripted));
    assertThat(c.getSchemaById(12)).isEqualTo(V1);
    assertThat(c.getSchemaById(12)).isEqualTo(V1);
    assertThat(c.register("s", V2_DEFAULT)).isEqualTo(12);
    assertThat(c.register("s", V2_DEFAULT)).isEqualTo(12);
    assertThat(c.getId("s", V2_DEFAULT)).isEqualTo(12);
    assertThat(calls).hasValue(2);
  }

  @Test
  void retriesServerErrorsWithBackoffThenSucceeds() throws IOException {
    AtomicInteger calls = new AtomicInteger();
    scripted = scriptedServer(ex -> {
      if (calls.incrementAndGet() <= 2) {
        reply(ex, 503, "{\"error_code\":50003,\"message\":\"busy\"}");
      } else {
        reply(ex, 200, "{\"id\":7}");
      }
    });
    SchemaRegistryClient c = SchemaRegistryClient.fromConfig(Map.of(
        RegistryClientConfig.URL, url(scripted), RegistryClientConfig.RETRY_WAIT_MS, "10",
        RegistryClientConfig.MAX_RETRIES, "3"));
    assertThat(c.register("s", V1)).isEqualTo(7);
    assertThat(calls).hasValue(3);
  }

  @Test
  void givesUpAfterBoundedRetries() throws IOException {
    AtomicInteger calls = new AtomicInteger();
    scripted = scriptedServer(ex -> {
      calls.incrementAndGet();
      reply(ex, 500, "{\"error_code\":50001,\"message\":\"store down\"}");
    });
    SchemaRegistryClient c = SchemaRegistryClient.fromConfig(Map.of(
        RegistryClientConfig.URL, url(scripted), RegistryClientConfig.RETRY_WAIT_MS, "1",
        RegistryClientConfig.MAX_RETRIES, "2"));
    assertThatThrownBy(() -> c.getSchemaById(1)).isInstanceOfSatisfying(RegistryUnavailableException.class, e -> {
      assertThat(e.httpStatus()).isEqualTo(500);
      assertThat(e.errorCode()).isEqualTo(50001);
      assertThat(e.getMessage()).contains("3 attempt(s)").contains("store down");
    });
    assertThat(calls).hasValue(3);
  }

  @Test
  void clientErrorsAreNotRetried() throws IOException {
    AtomicInteger calls = new AtomicInteger();
    scripted = scriptedServer(ex -> {
      calls.incrementAndGet();
      reply(ex, 404, "{\"error_code\":40403,\"message\":\"Schema 1 not found\"}");
    });
    SchemaRegistryClient c = SchemaRegistryClient.fromConfig(Map.of(RegistryClientConfig.URL, url(scripted)));
    assertThatThrownBy(() -> c.getSchemaById(1)).isInstanceOf(SchemaNotFoundException.class);
    assertThat(calls).hasValue(1);
  }

  @Test
  void connectionFailuresAreRetriedOnTheNextUrlThenReported() throws IOException {
    int deadPort = freePort();
    SchemaRegistryClient dead = SchemaRegistryClient.fromConfig(Map.of(
        RegistryClientConfig.URL, "http://127.0.0.1:" + deadPort, RegistryClientConfig.RETRY_WAIT_MS, "1",
        RegistryClientConfig.MAX_RETRIES, "1"));
    assertThatThrownBy(() -> dead.getSchemaById(1)).isInstanceOf(RegistryUnavailableException.class)
        .hasMessageContaining("2 attempt(s)").hasMessageContaining("127.0.0.1:" + deadPort);

    // Fail-over: the first URL refuses connections, the second is the real registry.
    SchemaRegistryClient failover = SchemaRegistryClient.fromConfig(Map.of(
        RegistryClientConfig.URL, "http://127.0.0.1:" + deadPort + "," + registry.url(),
        RegistryClientConfig.RETRY_WAIT_MS, "1"));
    assertThat(failover.register("s", V1)).isPositive();
  }

  @Test
  void sendsBasicAuthAndTheRegistryContentType() throws IOException {
    List<String> auth = new CopyOnWriteArrayList<>();
    List<String> contentTypes = new CopyOnWriteArrayList<>();
    scripted = scriptedServer(ex -> {
      auth.add(ex.getRequestHeaders().getFirst("Authorization"));
      contentTypes.add(ex.getRequestHeaders().getFirst("Content-Type"));
      reply(ex, 200, "{\"id\":3}");
    });
    SchemaRegistryClient userInfo = SchemaRegistryClient.fromConfig(Map.of(
        RegistryClientConfig.URL, url(scripted),
        RegistryClientConfig.CREDENTIALS_SOURCE, "USER_INFO",
        RegistryClientConfig.USER_INFO, "alice:s3cret"));
    userInfo.register("s", V1);
    SchemaRegistryClient inUrl = SchemaRegistryClient.fromConfig(Map.of(
        RegistryClientConfig.URL, url(scripted).replace("http://", "http://bob:pw@"),
        RegistryClientConfig.CREDENTIALS_SOURCE, "URL"));
    inUrl.register("s", V2_DEFAULT);
    SchemaRegistryClient anonymous = new SchemaRegistryClient(url(scripted));
    anonymous.register("s", V2_REQUIRED);

    assertThat(auth).containsExactly(basic("alice:s3cret"), basic("bob:pw"), null);
    assertThat(contentTypes).containsOnly(SchemaRegistryClient.CONTENT_TYPE);
  }

  @Test
  void talksTlsWithTheConfiguredTrustStore(@TempDir Path dir) throws Exception {
    Path serverStore = dir.resolve("server.p12");
    Path cert = dir.resolve("server.crt");
    Path trustStore = dir.resolve("trust.p12");
    keytool("-genkeypair", "-alias", "registry", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
        "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
        "-keystore", serverStore.toString(), "-storetype", "PKCS12", "-storepass", "changeit");
    keytool("-exportcert", "-alias", "registry", "-keystore", serverStore.toString(), "-storepass", "changeit",
        "-file", cert.toString());
    keytool("-importcert", "-noprompt", "-alias", "registry", "-file", cert.toString(),
        "-keystore", trustStore.toString(), "-storetype", "PKCS12", "-storepass", "trustpw");

    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(serverStore.toFile())) {
      ks.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "changeit".toCharArray());
    SSLContext serverCtx = SSLContext.getInstance("TLS");
    serverCtx.init(kmf.getKeyManagers(), null, null);
    HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    https.setHttpsConfigurator(new HttpsConfigurator(serverCtx));
    https.createContext("/", ex -> reply(ex, 200, "{\"id\":99}"));
    https.start();
    scripted = https;
    String url = "https://127.0.0.1:" + https.getAddress().getPort();

    Map<String, Object> cfg = new HashMap<>();
    cfg.put(RegistryClientConfig.URL, url);
    cfg.put(RegistryClientConfig.TRUSTSTORE_LOCATION, trustStore.toString());
    cfg.put(RegistryClientConfig.TRUSTSTORE_PASSWORD, "trustpw");
    cfg.put(RegistryClientConfig.MAX_RETRIES, "0");
    assertThat(SchemaRegistryClient.fromConfig(cfg).register("s", V1)).isEqualTo(99);

    // Without the trust store the server's self-signed certificate is rejected.
    SchemaRegistryClient untrusting = SchemaRegistryClient.fromConfig(Map.of(
        RegistryClientConfig.URL, url, RegistryClientConfig.MAX_RETRIES, "0"));
    assertThatThrownBy(() -> untrusting.register("s", V1)).isInstanceOf(RegistryUnavailableException.class);

    cfg.put(RegistryClientConfig.TRUSTSTORE_PASSWORD, "wrong");
    assertThatThrownBy(() -> SchemaRegistryClient.fromConfig(cfg)).isInstanceOf(ConfigException.class)
        .hasMessageContaining(RegistryClientConfig.TRUSTSTORE_LOCATION);
  }

  @Test
  void invalidConfigurationFailsNamingTheKey() {
    assertThatThrownBy(() -> SchemaRegistryClient.fromConfig(Map.of())).isInstanceOf(ConfigException.class)
        .hasMessageContaining("schema.registry.url");
    assertThatThrownBy(() -> SchemaRegistryClient.fromConfig(Map.of(RegistryClientConfig.URL, "localhost:8081")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("schema.registry.url");
    assertThatThrownBy(() -> SchemaRegistryClient.fromConfig(Map.of(RegistryClientConfig.URL, "http://h:1",
        RegistryClientConfig.CREDENTIALS_SOURCE, "USER_INFO"))).isInstanceOf(ConfigException.class)
        .hasMessageContaining("basic.auth.user.info");
    assertThatThrownBy(() -> SchemaRegistryClient.fromConfig(Map.of(RegistryClientConfig.URL, "http://h:1",
        RegistryClientConfig.CREDENTIALS_SOURCE, "SASL_INHERIT"))).isInstanceOf(ConfigException.class)
        .hasMessageContaining("basic.auth.credentials.source");
    assertThatThrownBy(() -> SchemaRegistryClient.fromConfig(Map.of(RegistryClientConfig.URL, "http://h:1",
        RegistryClientConfig.TRUSTSTORE_LOCATION, "/no/such/file.p12"))).isInstanceOf(ConfigException.class)
        .hasMessageContaining("schema.registry.ssl.truststore.location");
    assertThatThrownBy(() -> SchemaRegistryClient.fromConfig(Map.of(RegistryClientConfig.URL, "http://h:1",
        RegistryClientConfig.MAX_RETRIES, "many"))).isInstanceOf(ConfigException.class)
        .hasMessageContaining("max.retries");
  }

  @Test
  void specificRecordSchemasRegisterAsIs() {
    SchemaRegistryClient c = new SchemaRegistryClient(registry.url());
    int a = c.register("examples.raw-value", LabeledExample.getClassSchema());
    int b = c.register("inference.predictions-value", Prediction.getClassSchema());
    assertThat(a).isNotEqualTo(b);
    SchemaRegistryClient fresh = new SchemaRegistryClient(registry.url());
    assertThat(fresh.getSchemaById(a)).isEqualTo(LabeledExample.getClassSchema());
    assertThat(Optional.of(fresh.getSchemaById(b).getFullName())).contains("io.lorastream.avro.Prediction");
  }

  // ------------------------------------------------------------------ helpers

  private interface Handler {
    void handle(HttpExchange ex) throws IOException;
  }

  private static HttpServer scriptedServer(Handler h) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext("/", ex -> {
      try (InputStream in = ex.getRequestBody()) {
        in.readAllBytes();
      }
      h.handle(ex);
    });
    s.start();
    return s;
  }

  private static String url(HttpServer s) {
    return "http://127.0.0.1:" + s.getAddress().getPort();
  }

  private static void reply(HttpExchange ex, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", SchemaRegistryClient.CONTENT_TYPE);
    ex.sendResponseHeaders(status, b.length);
    ex.getResponseBody().write(b);
    ex.close();
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static String basic(String userInfo) {
    return "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void keytool(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("keytool finished").isTrue();
    assertThat(p.exitValue()).as("keytool %s: %s", args[0], out).isZero();
  }
}
