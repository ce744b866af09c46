package io.lorastream.launcher;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.kafka.TopicCatalog;
import io.lorastream.metrics.MetricsConfig;
import io.lorastream.registry.RegistryClientConfig;
import io.lorastream.serde.AvroSerdeConfig;
import io.lorastream.stream.inference.InferenceConfig;
import io.lorastream.stream.rollout.RolloutConfig;
import io.lorastream.stream.ingest.StreamAppConfig;
import io.lorastream.trainer.TrainerConfig;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Checks {@code docker-compose.yml} against the code, so the file cannot drift silently. Every
 * rule derives what is allowed from the code itself: the config keys each role reads (the
 * {@code DEFAULTS} maps and key constants of CommonConfig, TrainerConfig, StreamAppConfig,
 * InferenceConfig, MetricsConfig, the registry client's and Kafka's own config names for the
 * {@code registry.*}/{@code kafka.*} pass-through, the {@link TopicCatalog}'s logical names for
 * {@code topic.*}), the subcommands of {@link Main}, and the typed config classes that validate
 * values. {@link #check} returns one readable problem per violation; empty means the file is sound.
 */
final class ComposeGuard {
  /** Subcommands that run as long-lived services and must expose /health. */
  static final Set<String> SERVICE_ROLES = Set.of("stream-app", "trainer", "inference");
  /** Environment variables the image itself reads besides LORASTREAM_* (docker/lorastream.sh). */
  static final Set<String> IMAGE_ENV = Set.of("JAVA_OPTS");
  static final String KAFKA_IMAGE = "apache/kafka:";
  static final String REGISTRY_IMAGE = "confluentinc/cp-schema-registry:";

  private static final Pattern TASK_KEY = Pattern.compile(
      Pattern.quote(StreamAppConfig.TASK_PREFIX) + "[^.]+(" + Pattern.quote(StreamAppConfig.INPUT_SIZE_SUFFIX) + "|"
          + Pattern.quote(StreamAppConfig.CLASSES_SUFFIX) + "|" + Pattern.quote(StreamAppConfig.FEATURE_KIND_SUFFIX) + ")");
  private static final Pattern HOST_PORT = Pattern.compile("(?:[A-Za-z0-9_]+://)?([^:/,]*):(\\d+)");

  private final ComposeFile f;
  private final List<String> problems = new ArrayList<>();
  private final Map<String, String> roles = new LinkedHashMap<>(); // lorastream service → role
  private final Map<String, LayeredConfig> configs = new HashMap<>();

  private ComposeGuard(ComposeFile f) {
    this.f = f;
  }

  static List<String> check(ComposeFile f) {
    ComposeGuard g = new ComposeGuard(f);
    g.run();
    return List.copyOf(g.problems);
  }

  private void run() {
    Map<String, Map<String, Object>> services = f.services();
    if (services.isEmpty()) {
      problems.add("no services in " + f.path);
      return;
    }
    Set<String> subcommands = Main.commandLine().getSubcommands().keySet();
    for (String name : services.keySet()) {
      roleOf(name, subcommands).ifPresent(r -> roles.put(name, r));
    }
    String kafka = single("Kafka broker", KAFKA_IMAGE);
    String registry = single("schema registry", REGISTRY_IMAGE);
    requireRoles();
    images();
    for (String s : roles.keySet()) {
      environment(s);
    }
    if (kafka != null) {
      broker(kafka);
    }
    if (kafka != null && registry != null) {
      registry(registry, kafka);
    }
    topics();
    serviceEndpoints();
    inferenceReplicas();
    dependencies(kafka, registry);
    modelVolume();
    dockerfile();
    healthTools();
    monitoring();
  }

  // ---- health-check tools and monitoring ---------------------------------------------------------

  /**
   * The programs each image is known to have for a health check (first word of the test). Facts
   * about the images, not guesses: Prometheus and Grafana are busybox/alpine based (wget, no curl),
   * the Kafka image carries its own scripts, Confluent's images and lorastream's (docker/Dockerfile
   * installs it) have curl. An image not listed here must be looked at and added.
   */
  static final Map<String, Set<String>> IMAGE_TOOLS = Map.of(
      KAFKA_IMAGE, Set.of("/opt/kafka/bin/kafka-broker-api-versions.sh", "/opt/kafka/bin/kafka-topics.sh"),
      REGISTRY_IMAGE, Set.of("curl"),
      "prom/prometheus:", Set.of("wget", "promtool"),
      "grafana/grafana:", Set.of("wget"),
      "lorastream:", Set.of("curl"));

  private void healthTools() {
    for (String s : f.services().keySet()) {
      String hc = f.healthcheck(s);
      if (hc.isEmpty()) {
        continue;
      }
      String[] words = hc.split("\\s+");
      int first = words.length > 0 && (words[0].equals("CMD") || words[0].equals("CMD-SHELL")) ? 1 : 0;
      if (first >= words.length) {
        continue;
      }
      String tool = words[first];
      String image = f.image(s).orElse("");
      Optional<Set<String>> known = IMAGE_TOOLS.entrySet().stream().filter(e -> image.startsWith(e.getKey()))
          .map(Map.Entry::getValue).findFirst();
      if (known.isEmpty()) {
        problems.add("service " + s + ": no known health-check tools for image " + image + "; check what the image has"
            + " and add it to ComposeGuard.IMAGE_TOOLS");
      } else if (!known.get().contains(tool)) {
        problems.add("service " + s + ": healthcheck runs " + tool + ", which image " + image + " does not have (it has "
            + new TreeSet<>(known.get()) + ")");
      }
    }
  }

  /**
   * Prometheus scrapes every long-running lorastream service on its metrics port and loads the
   * alert rules it mounts; Grafana mounts the data source pointing at that Prometheus, the
   * dashboard provider and the dashboard at the provider's path.
   */
  private void monitoring() {
    String prom = single("Prometheus", "prom/prometheus:");
    String grafana = single("Grafana", "grafana/grafana:");
    if (prom == null || grafana == null) {
      return;
    }
    Map<String, String> promMounts = mounts(prom);
    java.nio.file.Path dir = f.projectDir;
    String configIn = "/etc/prometheus/prometheus.yml";
    if (!f.command(prom).contains("--config.file=" + configIn) || !promMounts.containsKey(configIn)) {
      problems.add("service " + prom + ": must mount docker/monitoring/prometheus.yml at " + configIn + " and use it");
      return;
    }
    Map<String, Object> config = yaml(dir.resolve(promMounts.get(configIn)));
    for (Object rules : (List<?>) config.getOrDefault("rule_files", List.of())) {
      if (!promMounts.containsKey(String.valueOf(rules))) {
        problems.add("service " + prom + ": rule file " + rules + " named in prometheus.yml is not mounted");
      }
    }
    Set<String> targets = new TreeSet<>();
    for (Object job : (List<?>) config.getOrDefault("scrape_configs", List.of())) {
      for (Object sc : (List<?>) ((Map<?, ?>) job).get("static_configs")) {
        for (Object t : (List<?>) ((Map<?, ?>) sc).get("targets")) {
          targets.add(String.valueOf(t));
        }
      }
    }
    Set<String> expected = new TreeSet<>();
    for (Map.Entry<String, String> e : roles.entrySet()) {
      if (SERVICE_ROLES.contains(e.getValue()) && configs.containsKey(e.getKey())) {
        try {
          expected.add(e.getKey() + ":" + new MetricsConfig(configs.get(e.getKey())).port());
        } catch (RuntimeException ex) {
          // reported by environment()
        }
      }
    }
    if (!targets.equals(expected)) {
      problems.add("service " + prom + ": prometheus.yml scrapes " + targets + " but the lorastream services serve /metrics"
          + " at " + expected);
    }
    Map<String, String> gMounts = mounts(grafana);
    String ds = gMounts.entrySet().stream().filter(m -> m.getKey().startsWith("/etc/grafana/provisioning/datasources/"))
        .map(Map.Entry::getValue).findFirst().orElse(null);
    String provider = gMounts.entrySet().stream().filter(m -> m.getKey().startsWith("/etc/grafana/provisioning/dashboards/"))
        .map(Map.Entry::getValue).findFirst().orElse(null);
    if (ds == null || provider == null) {
      problems.add("service " + grafana + ": must mount a data source and a dashboard provider under /etc/grafana/provisioning");
      return;
    }
    String promUrl = "http://" + prom + ":9090";
    boolean pointsAtProm = ((List<?>) yaml(dir.resolve(ds)).get("datasources")).stream()
        .anyMatch(d -> promUrl.equals(String.valueOf(((Map<?, ?>) d).get("url"))));
    if (!pointsAtProm) {
      problems.add("service " + grafana + ": no provisioned data source has url " + promUrl);
    }
    for (Object p : (List<?>) yaml(dir.resolve(provider)).get("providers")) {
      String path = String.valueOf(((Map<?, ?>) ((Map<?, ?>) p).get("options")).get("path"));
      if (gMounts.keySet().stream().noneMatch(k -> k.startsWith(path + "/") && k.endsWith(".json"))) {
        problems.add("service " + grafana + ": dashboard provider reads " + path + " but no dashboard JSON is mounted there");
      }
    }
  }

  /** Bind mounts of a service: container path → host path (relative to the compose file). */
  private Map<String, String> mounts(String service) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String v : f.list(service, "volumes")) {
      String[] parts = v.split(":");
      if (parts.length >= 2 && (parts[0].startsWith("./") || parts[0].startsWith("/"))) {
        out.put(parts[1], parts[0]);
      }
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> yaml(java.nio.file.Path p) {
    try (java.io.Reader r = java.nio.file.Files.newBufferedReader(p)) {
      Object o = new org.yaml.snakeyaml.Yaml(new org.yaml.snakeyaml.constructor.SafeConstructor(
          new org.yaml.snakeyaml.LoaderOptions())).load(r);
      return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    } catch (java.io.IOException e) {
      problems.add("cannot read " + p + ": " + e.getMessage());
      return Map.of();
    }
  }

  // ---- the image --------------------------------------------------------------------------------

  /** The lorastream image is built from what Maven packages, with the entry script and port compose relies on. */
  private void dockerfile() {
    Set<String> files = new TreeSet<>();
    for (String s : roles.keySet()) {
      Object build = f.service(s).get("build");
      if (build instanceof Map<?, ?> b && b.get("dockerfile") != null) {
        files.add(String.valueOf(b.get("context") == null ? "." : b.get("context")) + "/" + b.get("dockerfile"));
      }
    }
    if (files.size() != 1) {
      problems.add("lorastream services must build one Dockerfile, found " + files);
      return;
    }
    java.nio.file.Path dir = f.projectDir;
    java.nio.file.Path dockerfile = dir.resolve(files.iterator().next()).normalize();
    String text;
    String pom;
    try {
      text = java.nio.file.Files.readString(dockerfile);
      pom = java.nio.file.Files.readString(dir.resolve("launcher/pom.xml"));
    } catch (java.io.IOException e) {
      problems.add("cannot read " + dockerfile + " or launcher/pom.xml: " + e.getMessage());
      return;
    }
    Matcher finalName = Pattern.compile("<finalName>([^<]+)</finalName>").matcher(pom);
    String jar = "launcher/target/" + (finalName.find() ? finalName.group(1) : "?") + ".jar";
    for (String needed : List.of("COPY launcher/target/lib/", "COPY " + jar)) {
      if (!text.contains(needed)) {
        problems.add(dockerfile + " does not `" + needed + "` (what `mvn package` builds for the launcher)");
      }
    }
    Matcher script = Pattern.compile("COPY (?:--chmod=\\S+ )?(\\S+) /usr/local/bin/lorastream").matcher(text);
    if (!script.find() || !java.nio.file.Files.isRegularFile(dir.resolve(script.group(1)))) {
      problems.add(dockerfile + " must install an existing entry script as /usr/local/bin/lorastream");
    } else {
      try {
        String sh = java.nio.file.Files.readString(dir.resolve(script.group(1)));
        for (String v : IMAGE_ENV) {
          if (!sh.contains(v)) {
            problems.add(script.group(1) + " does not read " + v + ", which compose sets");
          }
        }
      } catch (java.io.IOException e) {
        problems.add("cannot read " + script.group(1));
      }
    }
    if (!text.contains("ENTRYPOINT [\"lorastream\"]")) {
      problems.add(dockerfile + ": the entry point must be the lorastream script, so that the compose command is the role");
    }
    if (!text.contains("EXPOSE " + MetricsConfig.DEFAULT_PORT)) {
      problems.add(dockerfile + ": EXPOSE " + MetricsConfig.DEFAULT_PORT + " (metrics.port default) is missing");
    }
    Matcher cache = Pattern.compile("DJL_CACHE_DIR=(\\S+)").matcher(text);
    if (!cache.find()) {
      problems.add(dockerfile + ": no DJL_CACHE_DIR, so the services cannot share one libtorch cache");
    } else {
      djlCache(cache.group(1));
    }
  }

  /** Roles that load libtorch through DJL, and so unpack it into DJL_CACHE_DIR. */
  static final Set<String> DJL_ROLES = Set.of("pretrain", "stream-app", "trainer", "inference");

  /**
   * Every JVM service has a memory limit; the lorastream image runs as linux/amd64 (its libtorch
   * natives are x86-64); and every role that loads libtorch mounts one shared named volume at the
   * image's DJL_CACHE_DIR, so libtorch is unpacked once, not once per container.
   */
  private void djlCache(String cacheDir) {
    for (String s : f.services().keySet()) {
      String image = f.image(s).orElse("");
      boolean jvm = roles.containsKey(s) || image.startsWith(KAFKA_IMAGE) || image.startsWith(REGISTRY_IMAGE);
      if (jvm && f.service(s).get("mem_limit") == null) {
        problems.add("service " + s + " runs a JVM but sets no mem_limit");
      }
      if (roles.containsKey(s) && !"linux/amd64".equals(String.valueOf(f.service(s).get("platform")))) {
        problems.add("service " + s + ": platform must be linux/amd64 (the image's libtorch natives are x86-64)");
      }
    }
    Set<String> volumes = new TreeSet<>();
    for (Map.Entry<String, String> e : roles.entrySet()) {
      if (!DJL_ROLES.contains(e.getValue())) {
        continue;
      }
      Optional<String> v = f.list(e.getKey(), "volumes").stream().map(x -> x.split(":"))
          .filter(parts -> parts.length >= 2 && parts[1].equals(cacheDir)).map(parts -> parts[0]).findFirst();
      if (v.isEmpty()) {
        problems.add("service " + e.getKey() + " loads libtorch but mounts no volume at DJL_CACHE_DIR " + cacheDir);
      } else {
        volumes.add(v.get());
      }
    }
    if (volumes.size() > 1) {
      problems.add("services mount different volumes " + volumes + " at DJL_CACHE_DIR " + cacheDir + "; share one");
    }
  }

  // ---- services ---------------------------------------------------------------------------------

  private Optional<String> roleOf(String service, Set<String> subcommands) {
    String image = f.image(service).orElse("");
    Object build = f.service(service).get("build");
    boolean ours = image.startsWith("lorastream") || (build != null && String.valueOf(build).contains("docker/Dockerfile"));
    if (!ours) {
      return Optional.empty();
    }
    List<String> cmd = f.command(service);
    List<String> tokens = new ArrayList<>();
    if (f.entrypoint(service).isEmpty()) {
      tokens.addAll(cmd);
    } else {
      // a shell entrypoint: the role follows the word "lorastream" in the script
      for (int i = 0; i < cmd.size(); i++) {
        for (String w : cmd.get(i).split("\\s+")) {
          tokens.add(w);
        }
      }
      int at = tokens.indexOf("lorastream");
      tokens = at < 0 ? List.of() : tokens.subList(at + 1, tokens.size());
    }
    if (tokens.isEmpty() || !subcommands.contains(tokens.get(0))) {
      problems.add("service " + service + " runs the lorastream image with command " + cmd
          + ", which does not start with a lorastream subcommand (" + new TreeSet<>(subcommands) + ")");
      return Optional.empty();
    }
    return Optional.of(tokens.get(0));
  }

  private String single(String what, String imagePrefix) {
    List<String> found = f.services().keySet().stream()
        .filter(s -> f.image(s).orElse("").startsWith(imagePrefix)).toList();
    if (found.size() != 1) {
      problems.add("expected exactly one " + what + " service (image " + imagePrefix + "*), found " + found);
      return null;
    }
    return found.get(0);
  }

  private void requireRoles() {
    for (String role : List.of("topics", "pretrain", "stream-app", "trainer")) {
      if (!roles.containsValue(role)) {
        problems.add("missing service: no service runs `lorastream " + role + "`");
      }
    }
    long inference = roles.values().stream().filter("inference"::equals).count();
    if (inference < 2) {
      problems.add("missing service: expected at least two inference replicas, found " + inference);
    }
  }

  private void images() {
    for (String s : f.services().keySet()) {
      String image = f.image(s).orElse("");
      if (image.isEmpty()) {
        problems.add("service " + s + " names no image");
      } else if (!image.contains(":") || image.endsWith(":latest")) {
        problems.add("service " + s + " uses unpinned image " + image + "; pin a tag so compose and the Testcontainers ITs run the same version");
      }
    }
    Set<String> ours = roles.keySet().stream().map(s -> f.image(s).orElse("")).collect(Collectors.toSet());
    if (ours.size() > 1) {
      problems.add("lorastream services use different images " + ours + "; every role runs the one launcher image");
    }
  }

  // ---- environment ------------------------------------------------------------------------------

  private void environment(String service) {
    String role = roles.get(service);
    Map<String, String> env = f.environment(service);
    Map<String, String> lorastream = new LinkedHashMap<>();
    env.forEach((name, value) -> {
      if (name.startsWith(LayeredConfig.ENV_PREFIX)) {
        lorastream.put(name, value);
        String key = keyOf(name);
        Optional<String> why = unknown(key, role);
        why.ifPresent(w -> problems.add("service " + service + ": " + name + " (" + key + ") " + w));
      } else if (!IMAGE_ENV.contains(name)) {
        problems.add("service " + service + ": environment variable " + name
            + " is neither a LORASTREAM_* setting nor one the image reads " + IMAGE_ENV);
      }
    });
    LayeredConfig cfg = LayeredConfig.load(defaults(role), null, lorastream, flags(service, role));
    configs.put(service, cfg);
    try {
      validate(role, lorastream, flags(service, role));
    } catch (RuntimeException e) {
      problems.add("service " + service + " (" + role + ") would not start: " + e.getMessage());
    }
  }

  static String keyOf(String envName) {
    // the code's own mapping (LORASTREAM_TRAINER_LR -> trainer.lr)
    return LayeredConfig.load(Map.of(), null, Map.of(envName, "x"), Map.of()).redactedView().keySet().iterator().next();
  }

  /** Why {@code key} is not read by {@code role}, or empty when it is. */
  static Optional<String> unknown(String key, String role) {
    Set<String> known = knownKeys(role);
    if (known.contains(key)) {
      return Optional.empty();
    }
    boolean common = readsCommon(role);
    if (common && key.startsWith("kafka.")) {
      return kafkaClientKeys().contains(stripStreamsPrefix(key.substring("kafka.".length()))) ? Optional.empty()
          : Optional.of("is not a Kafka client setting (kafka.* is passed to the Kafka clients, so it must be a producer, consumer, admin or Streams config name)");
    }
    if (common && key.startsWith("registry.")) {
      return registryKeys().contains(key.substring("registry.".length())) ? Optional.empty()
          : Optional.of("is not a schema registry client or serde setting");
    }
    if (common && key.startsWith("topic.")) {
      return logicalTopics().contains(key.substring("topic.".length())) ? Optional.empty()
          : Optional.of("names no catalog topic; topic.<name> takes one of " + logicalTopics());
    }
    if (role.equals("stream-app") && TASK_KEY.matcher(key).matches()) {
      return Optional.empty();
    }
    return Optional.of("is not a setting that `lorastream " + role + "` reads");
  }

  static boolean readsCommon(String role) {
    return Set.of("topics", "replay", "stream-app", "trainer", "inference").contains(role);
  }

  static Set<String> knownKeys(String role) {
    Set<String> keys = new TreeSet<>();
    if (readsCommon(role)) {
      keys.addAll(CommonConfig.DEFAULTS.keySet());
    }
    switch (role) {
      case "trainer" -> {
        keys.addAll(MetricsConfig.DEFAULTS.keySet());
        keys.addAll(keys(TrainerConfig.DEFAULTS, TrainerConfig.class, "trainer."));
      }
      case "stream-app" -> {
        keys.addAll(MetricsConfig.DEFAULTS.keySet());
        keys.addAll(keys(StreamAppConfig.DEFAULTS, StreamAppConfig.class, "ingest.", "eval."));
        // the evaluator follows adapters with an inference subscriber configured from inference.*
        keys.addAll(keys(InferenceConfig.DEFAULTS, InferenceConfig.class, "inference."));
        keys.addAll(keys(RolloutConfig.DEFAULTS, RolloutConfig.class, "rollout."));
      }
      case "inference" -> {
        keys.addAll(MetricsConfig.DEFAULTS.keySet());
        keys.addAll(keys(InferenceConfig.DEFAULTS, InferenceConfig.class, "inference."));
        keys.add(RolloutConfig.MODE);
      }
      default -> {
        // topics and replay read the common settings only; pretrain, demo and local read none
      }
    }
    return keys;
  }

  /** DEFAULTS keys plus the class's public String constants that are keys under {@code prefixes}. */
  private static Set<String> keys(Map<String, String> defaults, Class<?> type, String... prefixes) {
    Set<String> out = new TreeSet<>(defaults.keySet());
    for (String c : constants(type)) {
      for (String p : prefixes) {
        if (c.startsWith(p) && c.matches("[a-z0-9]+(\\.[a-z0-9]+)+")) {
          out.add(c);
        }
      }
    }
    return out;
  }

  private static List<String> constants(Class<?> type) {
    List<String> out = new ArrayList<>();
    for (Field fld : type.getFields()) {
      int m = fld.getModifiers();
      if (Modifier.isStatic(m) && Modifier.isFinal(m) && fld.getType() == String.class) {
        try {
          out.add((String) fld.get(null));
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return out;
  }

  static Set<String> kafkaClientKeys() {
    Set<String> k = new TreeSet<>();
    k.addAll(ProducerConfig.configNames());
    k.addAll(ConsumerConfig.configNames());
    k.addAll(AdminClientConfig.configNames());
    k.addAll(StreamsConfig.configDef().names());
    return k;
  }

  private static String stripStreamsPrefix(String name) {
    for (String p : List.of(StreamsConfig.MAIN_CONSUMER_PREFIX, StreamsConfig.RESTORE_CONSUMER_PREFIX,
        StreamsConfig.GLOBAL_CONSUMER_PREFIX, StreamsConfig.CONSUMER_PREFIX, StreamsConfig.PRODUCER_PREFIX,
        StreamsConfig.ADMIN_CLIENT_PREFIX, StreamsConfig.TOPIC_PREFIX)) {
      if (name.startsWith(p)) {
        return name.substring(p.length());
      }
    }
    return name;
  }

  static Set<String> registryKeys() {
    Set<String> k = new TreeSet<>(constants(RegistryClientConfig.class));
    k.addAll(constants(AvroSerdeConfig.class));
    k.add("url"); // registry.url
    return k;
  }

  /** Logical topic names = the catalog's default names. */
  static Set<String> logicalTopics() {
    return TopicCatalog.defaults(1).all().stream().map(TopicCatalog.TopicSpec::name)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  /** The defaults layer the role's subcommand itself loads. */
  private static Map<String, String> defaults(String role) {
    return switch (role) {
      case "trainer" -> TrainerCommand.defaults();
      case "stream-app" -> StreamAppCommand.defaults();
      case "inference" -> InferenceCommand.defaults();
      case "topics", "replay" -> CommonConfig.DEFAULTS;
      default -> Map.of();
    };
  }

  /** Settings a role's command line sets (flags), as the subcommand maps them to keys. */
  private Map<String, String> flags(String service, String role) {
    Map<String, String> out = new HashMap<>();
    List<String> cmd = f.command(service);
    if (role.equals("stream-app")) {
      flag(cmd, "--base").ifPresent(v -> out.put(InferenceConfig.BASE_PATH, v));
      flag(cmd, "--adapter").ifPresent(v -> out.put(InferenceConfig.ADAPTER_ID, v));
    }
    return out;
  }

  /** The value of {@code --name V} or {@code --name=V} in a command (list form, or words of a shell script). */
  static Optional<String> flag(List<String> cmd, String name) {
    List<String> words = new ArrayList<>();
    for (String c : cmd) {
      words.addAll(List.of(c.trim().split("\\s+")));
    }
    for (int i = 0; i < words.size(); i++) {
      String w = words.get(i);
      if (w.equals(name) && i + 1 < words.size()) {
        return Optional.of(words.get(i + 1));
      }
      if (w.startsWith(name + "=")) {
        return Optional.of(w.substring(name.length() + 1));
      }
    }
    return Optional.empty();
  }

  /**
   * Builds the role's typed configuration as its subcommand does; throws on invalid values. The
   * base-model file lives in a container volume, so a stand-in file takes its place here (that
   * every base path lies on the pretrain volume is checked by {@link #modelVolume()}).
   */
  private static void validate(String role, Map<String, String> env, Map<String, String> flags) {
    Map<String, String> cli = new HashMap<>(flags);
    if (env.containsKey(LayeredConfig.keyToEnv(InferenceConfig.BASE_PATH)) || cli.containsKey(InferenceConfig.BASE_PATH)) {
      cli.put(InferenceConfig.BASE_PATH, standInBase());
    }
    LayeredConfig cfg = LayeredConfig.load(defaults(role), null, env, cli);
    if (readsCommon(role)) {
      new CommonConfig(cfg);
    }
    switch (role) {
      case "trainer" -> {
        TrainerConfig.from(cfg);
        new MetricsConfig(cfg);
      }
      case "stream-app" -> {
        StreamAppConfig.from(cfg);
        cli.put(InferenceConfig.CONSUMER_ID, "stream-app-eval");
        InferenceConfig.from(LayeredConfig.load(defaults(role), null, env, cli));
        new MetricsConfig(cfg);
      }
      case "inference" -> {
        InferenceConfig.from(cfg);
        new MetricsConfig(cfg);
      }
      default -> {
      }
    }
  }

  private static String standInBase() {
    try {
      java.nio.file.Path p = java.nio.file.Files.createTempFile("compose-guard-", ".lsbase");
      p.toFile().deleteOnExit();
      return p.toString();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  // ---- broker and registry ----------------------------------------------------------------------

  private Set<String> networkNames(String service) {
    Set<String> names = new LinkedHashSet<>();
    names.add(service);
    Object h = f.service(service).get("hostname");
    if (h != null) {
      names.add(String.valueOf(h));
    }
    return names;
  }

  /** host:port pairs in a listener list such as {@code PLAINTEXT://kafka:9092,HOST://localhost:29092}. */
  private static List<String[]> hostPorts(String list) {
    List<String[]> out = new ArrayList<>();
    for (String part : list.split(",")) {
      Matcher m = HOST_PORT.matcher(part.trim());
      if (m.matches()) {
        out.add(new String[] {m.group(1), m.group(2)});
      }
    }
    return out;
  }

  private Set<String> brokerAddresses(String kafka) {
    Set<String> names = networkNames(kafka);
    Set<String> out = new LinkedHashSet<>();
    for (String[] hp : hostPorts(f.environment(kafka).getOrDefault("KAFKA_ADVERTISED_LISTENERS", ""))) {
      if (names.contains(hp[0])) {
        out.add(hp[0] + ":" + hp[1]);
      }
    }
    return out;
  }

  private void broker(String kafka) {
    Map<String, String> env = f.environment(kafka);
    Set<String> addresses = brokerAddresses(kafka);
    if (addresses.isEmpty()) {
      problems.add("service " + kafka + ": KAFKA_ADVERTISED_LISTENERS advertises no listener under its service name "
          + networkNames(kafka) + ", so no container can reach it");
    }
    Set<String> listenerPorts = hostPorts(env.getOrDefault("KAFKA_LISTENERS", "")).stream().map(hp -> hp[1])
        .collect(Collectors.toSet());
    for (String a : addresses) {
      if (!listenerPorts.contains(a.substring(a.lastIndexOf(':') + 1))) {
        problems.add("service " + kafka + ": advertised " + a + " has no matching port in KAFKA_LISTENERS " + listenerPorts);
      }
    }
    publishedPorts(kafka, listenerPorts);
    // one broker: the internal topics of transactions and offsets must fit on it, or exactly-once fails
    for (String k : List.of("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR")) {
      String v = env.get(k);
      if (v == null || !v.trim().equals("1")) {
        problems.add("service " + kafka + ": " + k + " must be 1 on a single broker (is " + v
            + "); the defaults (3, 2) make every transactional trainer and exactly-once stream fail");
      }
    }
    if (!"false".equalsIgnoreCase(env.getOrDefault("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "true").trim())) {
      problems.add("service " + kafka + ": set KAFKA_AUTO_CREATE_TOPICS_ENABLE=false so that only the topics job"
          + " (from the TopicCatalog) creates topics and a misspelt name fails instead of creating a stray topic");
    }
    for (String s : roles.keySet()) {
      if (!readsCommon(roles.get(s)) || !configs.containsKey(s)) {
        continue;
      }
      String bootstrap = configs.get(s).get(CommonConfig.BOOTSTRAP, "");
      for (String a : bootstrap.split(",")) {
        if (!addresses.contains(a.trim())) {
          problems.add("service " + s + ": kafka.bootstrap.servers " + a + " is not a listener the broker advertises " + addresses);
        }
      }
      String rf = configs.get(s).get(CommonConfig.REPLICATION, "1");
      if (!rf.trim().equals("1")) {
        problems.add("service " + s + ": topics.replication.factor " + rf + " exceeds the single broker");
      }
    }
  }

  private void registry(String registry, String kafka) {
    Map<String, String> env = f.environment(registry);
    Set<String> addresses = brokerAddresses(kafka);
    String store = env.getOrDefault("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "");
    for (String[] hp : hostPorts(store)) {
      if (!addresses.contains(hp[0] + ":" + hp[1])) {
        problems.add("service " + registry + ": SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS " + hp[0] + ":" + hp[1]
            + " is not a listener the broker advertises " + addresses);
      }
    }
    if (hostPorts(store).isEmpty()) {
      problems.add("service " + registry + ": SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS is missing");
    }
    String topic = env.getOrDefault("SCHEMA_REGISTRY_KAFKASTORE_TOPIC", TopicCatalog.SCHEMAS_TOPIC_DEFAULT);
    if (!topic.equals(TopicCatalog.SCHEMAS_TOPIC_DEFAULT)) {
      problems.add("service " + registry + ": SCHEMA_REGISTRY_KAFKASTORE_TOPIC is '" + topic + "' but the project's"
          + " registry topic is '" + TopicCatalog.SCHEMAS_TOPIC_DEFAULT + "' (TopicCatalog.SCHEMAS_TOPIC_DEFAULT)");
    }
    if (logicalTopics().contains(topic)) {
      problems.add("service " + registry + ": the registry topic '" + topic + "' collides with a catalog topic");
    }
    String rf = env.get("SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR");
    if (rf == null || !rf.trim().equals("1")) {
      problems.add("service " + registry + ": SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR must be 1 on a single broker (is " + rf + ")");
    }
    List<String[]> listeners = hostPorts(env.getOrDefault("SCHEMA_REGISTRY_LISTENERS", ""));
    if (listeners.isEmpty()) {
      problems.add("service " + registry + ": SCHEMA_REGISTRY_LISTENERS is missing");
      return;
    }
    Set<String> ports = listeners.stream().map(hp -> hp[1]).collect(Collectors.toSet());
    publishedPorts(registry, ports);
    Set<String> names = networkNames(registry);
    for (String s : roles.keySet()) {
      if (!readsCommon(roles.get(s)) || !configs.containsKey(s)) {
        continue;
      }
      String url = configs.get(s).get(CommonConfig.REGISTRY_URL, "");
      Matcher m = Pattern.compile("https?://([^:/]+):(\\d+)/?").matcher(url);
      if (!m.matches() || !names.contains(m.group(1)) || !ports.contains(m.group(2))) {
        problems.add("service " + s + ": registry.url " + url + " is not the registry service " + names + " on its listener port " + ports);
      }
    }
    if (!f.healthcheck(registry).contains(":" + ports.iterator().next())) {
      problems.add("service " + registry + ": healthcheck does not probe the listener port " + ports);
    }
  }

  private void publishedPorts(String service, Set<String> containerPorts) {
    for (String p : f.list(service, "ports")) {
      String container = p.contains(":") ? p.substring(p.lastIndexOf(':') + 1) : p;
      container = container.replace("/tcp", "");
      if (!containerPorts.contains(container)) {
        problems.add("service " + service + ": publishes container port " + container + " where nothing listens " + containerPorts);
      }
    }
  }

  // ---- topics -----------------------------------------------------------------------------------

  private void topics() {
    String job = roles.entrySet().stream().filter(e -> e.getValue().equals("topics")).map(Map.Entry::getKey)
        .findFirst().orElse(null);
    if (job == null || !configs.containsKey(job)) {
      return;
    }
    Map<String, String> reference = catalogOf(job);
    if (reference == null) {
      return;
    }
    for (String s : roles.keySet()) {
      if (s.equals(job) || !readsCommon(roles.get(s))) {
        continue;
      }
      Map<String, String> mine = catalogOf(s);
      if (mine == null) {
        continue;
      }
      reference.forEach((logical, spec) -> {
        if (!Objects.equals(mine.get(logical), spec)) {
          problems.add("service " + s + " uses topic " + logical + " = " + mine.get(logical) + " but the topics job ("
              + job + ") creates " + spec + "; set topic.* and topics.partitions identically on every service");
        }
      });
    }
  }

  /** logical name → "name/partitions" as the service would resolve it; null if its config is invalid. */
  private Map<String, String> catalogOf(String service) {
    try {
      TopicCatalog c = new CommonConfig(configs.get(service)).catalog();
      Map<String, String> out = new LinkedHashMap<>();
      List<TopicCatalog.TopicSpec> defaults = TopicCatalog.defaults(1).all();
      List<TopicCatalog.TopicSpec> mine = c.all();
      for (int i = 0; i < defaults.size(); i++) {
        out.put(defaults.get(i).name(), mine.get(i).name() + "/" + mine.get(i).partitions() + " partitions");
      }
      return out;
    } catch (RuntimeException e) {
      return null; // reported by environment()
    }
  }

  // ---- health, ports, replicas ------------------------------------------------------------------

  private void serviceEndpoints() {
    Set<String> hostPorts = new TreeSet<>();
    for (String s : f.services().keySet()) {
      for (String p : f.list(s, "ports")) {
        String[] parts = p.split(":");
        if (parts.length >= 2 && !hostPorts.add(parts[parts.length - 2])) {
          problems.add("service " + s + ": host port " + parts[parts.length - 2] + " is published twice");
        }
      }
    }
    for (Map.Entry<String, String> e : roles.entrySet()) {
      String s = e.getKey();
      if (!SERVICE_ROLES.contains(e.getValue()) || !configs.containsKey(s)) {
        continue;
      }
      MetricsConfig mc;
      try {
        mc = new MetricsConfig(configs.get(s));
      } catch (RuntimeException ex) {
        continue; // reported by environment()
      }
      if (!mc.enabled()) {
        problems.add("service " + s + ": metrics.enabled must be true (LORASTREAM_METRICS_ENABLED) so /metrics and /health exist");
      }
      String hc = f.healthcheck(s);
      Matcher m = Pattern.compile(":(\\d+)/health").matcher(hc);
      if (!m.find()) {
        problems.add("service " + s + ": no healthcheck on /health");
      } else if (Integer.parseInt(m.group(1)) != mc.port()) {
        problems.add("service " + s + ": healthcheck probes port " + m.group(1) + " but metrics.port is " + mc.port());
      }
      publishedPorts(s, Set.of(String.valueOf(mc.port())));
    }
  }

  private void inferenceReplicas() {
    List<String> replicas = roles.entrySet().stream().filter(e -> e.getValue().equals("inference"))
        .map(Map.Entry::getKey).filter(configs::containsKey).toList();
    Map<String, String> ids = new LinkedHashMap<>();
    Set<String> apps = new TreeSet<>();
    Set<String> adapters = new TreeSet<>();
    for (String s : replicas) {
      try {
        InferenceConfig ic = InferenceConfig.from(configs.get(s));
        String prev = ids.put(ic.consumerId(), s);
        if (prev != null) {
          problems.add("services " + prev + " and " + s + " share inference.consumer.id " + ic.consumerId());
        }
        if (!configs.get(s).has(InferenceConfig.CONSUMER_ID)) {
          problems.add("service " + s + ": set inference.consumer.id, every prediction names it");
        }
        apps.add(ic.applicationId());
        adapters.add(ic.adapterId());
      } catch (RuntimeException e) {
        // reported by environment()
      }
    }
    if (apps.size() > 1) {
      problems.add("inference replicas use different inference.application.id " + apps + "; replicas share one");
    }
    if (adapters.size() > 1) {
      problems.add("inference replicas serve different adapters " + adapters);
    }
  }

  // ---- startup order ----------------------------------------------------------------------------

  private void dependencies(String kafka, String registry) {
    for (String s : f.services().keySet()) {
      f.dependsOn(s).forEach((dep, condition) -> {
        if (!f.services().containsKey(dep)) {
          problems.add("service " + s + " depends on unknown service " + dep);
        } else if (condition.equals("service_healthy") && f.healthcheck(dep).isEmpty()) {
          problems.add("service " + s + " waits for " + dep + " to be healthy, but " + dep + " has no healthcheck");
        }
      });
    }
    if (kafka != null && f.healthcheck(kafka).isEmpty()) {
      problems.add("service " + kafka + ": no healthcheck");
    }
    if (registry != null) {
      require(registry, kafka, "service_healthy");
    }
    String topicsJob = serviceOfRole("topics");
    String pretrain = serviceOfRole("pretrain");
    if (topicsJob != null) {
      require(topicsJob, kafka, "service_healthy");
    }
    for (Map.Entry<String, String> e : roles.entrySet()) {
      if (!SERVICE_ROLES.contains(e.getValue())) {
        continue;
      }
      require(e.getKey(), kafka, "service_healthy");
      require(e.getKey(), registry, "service_healthy");
      require(e.getKey(), topicsJob, "service_completed_successfully");
      require(e.getKey(), pretrain, "service_completed_successfully");
    }
  }

  private void require(String service, String dep, String condition) {
    if (dep == null) {
      return;
    }
    String actual = f.dependsOn(service).get(dep);
    if (!condition.equals(actual)) {
      problems.add("service " + service + " must depend on " + dep + " with condition: " + condition
          + (actual == null ? " (it does not depend on it)" : " (it has " + actual + ")"));
    }
  }

  private String serviceOfRole(String role) {
    return roles.entrySet().stream().filter(e -> e.getValue().equals(role)).map(Map.Entry::getKey).findFirst().orElse(null);
  }

  // ---- the base model volume --------------------------------------------------------------------

  /** Every service that loads the base reads it from the volume (and path) the pretrain job writes. */
  private void modelVolume() {
    String pretrain = serviceOfRole("pretrain");
    if (pretrain == null) {
      return;
    }
    Optional<String> out = flag(f.command(pretrain), "--out");
    if (out.isEmpty()) {
      problems.add("service " + pretrain + ": no --out for the base-model file");
      return;
    }
    Optional<String> written = inVolume(pretrain, out.get());
    if (written.isEmpty()) {
      problems.add("service " + pretrain + ": --out " + out.get() + " is not on a named volume, so no other service sees it");
      return;
    }
    for (Map.Entry<String, String> e : roles.entrySet()) {
      String s = e.getKey();
      if (!configs.containsKey(s)) {
        continue;
      }
      String base = switch (e.getValue()) {
        case "trainer" -> configs.get(s).get(TrainerConfig.BASE, null);
        case "inference" -> configs.get(s).get(InferenceConfig.BASE_PATH, null);
        case "stream-app" -> flag(f.command(s), "--base").orElse(null);
        default -> "";
      };
      if (base == null) {
        problems.add("service " + s + " has no base-model path");
      } else if (!base.isEmpty() && !inVolume(s, base).equals(written)) {
        problems.add("service " + s + " loads the base from " + base + " (" + inVolume(s, base).orElse("not on a named volume")
            + ") but " + pretrain + " writes " + written.get());
      }
    }
  }

  /** "volume:relative/path" of {@code path} inside the service's container, if it lies on a named volume. */
  private Optional<String> inVolume(String service, String path) {
    Object top = f.root.get("volumes");
    Set<String> named = top instanceof Map<?, ?> m ? m.keySet().stream().map(String::valueOf).collect(Collectors.toSet()) : Set.of();
    for (String v : f.list(service, "volumes")) {
      String[] parts = v.split(":");
      if (parts.length < 2 || !named.contains(parts[0])) {
        continue;
      }
      String target = parts[1].endsWith("/") ? parts[1] : parts[1] + "/";
      if (path.startsWith(target)) {
        return Optional.of(parts[0] + ":" + path.substring(target.length()));
      }
    }
    return Optional.empty();
  }
}
