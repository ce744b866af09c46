package io.lorastream.launcher;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * A parsed {@code docker-compose.yml} (SnakeYAML, anchors and {@code <<} merge keys resolved),
 * with the few accessors the compose guard and the Testcontainers ITs need: services, their
 * image, command, environment (list or map form), ports, volumes, depends_on and healthcheck.
 */
final class ComposeFile {
  final Path path;
  /** Where relative paths (build context, Dockerfile) resolve, like compose's --project-directory. */
  final Path projectDir;
  final Map<String, Object> root;

  private ComposeFile(Path path, Path projectDir, Map<String, Object> root) {
    this.path = path;
    this.projectDir = projectDir;
    this.root = root;
  }

  static ComposeFile load(Path path) throws IOException {
    return load(path, path.toAbsolutePath().getParent());
  }

  static ComposeFile load(Path path, Path projectDir) throws IOException {
    try (Reader r = Files.newBufferedReader(path)) {
      Object doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(r);
      if (!(doc instanceof Map<?, ?> m)) {
        throw new IOException(path + " is not a YAML mapping");
      }
      return new ComposeFile(path, projectDir, cast(m));
    }
  }

  /** The repository's docker-compose.yml, found from the working directory (module dir under Maven) upwards. */
  static Path locate() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      Path f = dir.resolve("docker-compose.yml");
      if (Files.isRegularFile(f)) {
        return f;
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException("docker-compose.yml not found above " + Path.of("").toAbsolutePath());
  }

  static ComposeFile repository() throws IOException {
    return load(locate());
  }

  Map<String, Map<String, Object>> services() {
    Map<String, Map<String, Object>> out = new LinkedHashMap<>();
    Object s = root.get("services");
    if (s instanceof Map<?, ?> m) {
      m.forEach((k, v) -> out.put(String.valueOf(k), v instanceof Map<?, ?> vm ? cast(vm) : new LinkedHashMap<>()));
    }
    return out;
  }

  Map<String, Object> service(String name) {
    return services().getOrDefault(name, Map.of());
  }

  Optional<String> image(String service) {
    return Optional.ofNullable(service(service).get("image")).map(String::valueOf);
  }

  /** The image of the first service whose image starts with {@code prefix}, e.g. {@code apache/kafka:}. */
  String imageStartingWith(String prefix) {
    return services().keySet().stream().map(this::image).flatMap(Optional::stream).filter(i -> i.startsWith(prefix))
        .findFirst().orElseThrow(() -> new IllegalStateException("no service with an image " + prefix + "* in " + path));
  }

  List<String> command(String service) {
    return tokens(service(service).get("command"));
  }

  List<String> entrypoint(String service) {
    return tokens(service(service).get("entrypoint"));
  }

  /** Environment as a map; the list form {@code - KEY=VALUE} is converted, values become strings. */
  Map<String, String> environment(String service) {
    Map<String, String> out = new LinkedHashMap<>();
    Object e = service(service).get("environment");
    if (e instanceof Map<?, ?> m) {
      m.forEach((k, v) -> out.put(String.valueOf(k), v == null ? "" : String.valueOf(v)));
    } else if (e instanceof List<?> l) {
      for (Object o : l) {
        String s = String.valueOf(o);
        int eq = s.indexOf('=');
        out.put(eq < 0 ? s : s.substring(0, eq), eq < 0 ? "" : s.substring(eq + 1));
      }
    }
    return out;
  }

  List<String> list(String service, String key) {
    Object v = service(service).get(key);
    List<String> out = new ArrayList<>();
    if (v instanceof List<?> l) {
      l.forEach(o -> out.add(String.valueOf(o)));
    }
    return out;
  }

  /** depends_on as service → condition (the short list form means service_started). */
  Map<String, String> dependsOn(String service) {
    Map<String, String> out = new LinkedHashMap<>();
    Object d = service(service).get("depends_on");
    if (d instanceof List<?> l) {
      l.forEach(o -> out.put(String.valueOf(o), "service_started"));
    } else if (d instanceof Map<?, ?> m) {
      m.forEach((k, v) -> out.put(String.valueOf(k), v instanceof Map<?, ?> vm && vm.get("condition") != null
          ? String.valueOf(vm.get("condition")) : "service_started"));
    }
    return out;
  }

  /** The healthcheck test as one string, empty when the service has none. */
  String healthcheck(String service) {
    Object h = service(service).get("healthcheck");
    if (h instanceof Map<?, ?> m && m.get("test") != null) {
      return String.join(" ", tokens(m.get("test")));
    }
    return "";
  }

  private static List<String> tokens(Object v) {
    List<String> out = new ArrayList<>();
    if (v instanceof List<?> l) {
      l.forEach(o -> out.add(String.valueOf(o)));
    } else if (v != null) {
      for (String t : String.valueOf(v).trim().split("\\s+")) {
        if (!t.isEmpty()) {
          out.add(t);
        }
      }
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> cast(Map<?, ?> m) {
    return (Map<String, Object>) m;
  }
}
