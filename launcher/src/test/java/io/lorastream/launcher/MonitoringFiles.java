package io.lorastream.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The monitoring files shipped in {@code docker/monitoring}: every PromQL expression of the Grafana
 * dashboard and of the Prometheus alert rules, and the metric names each one reads. Names are what
 * remains of an expression after strings, label matchers, range selectors and grouping clauses are
 * removed, minus functions, operators and keywords; {@code up} (written by Prometheus itself) is
 * the only name no service has to export.
 */
final class MonitoringFiles {
  static final Set<String> PROMETHEUS_OWN = Set.of("up");
  private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "by", "without", "on",
      "ignoring", "group_left", "group_right", "inf", "nan");
  private static final Pattern NAME = Pattern.compile("(?<![0-9A-Za-z_.$])[A-Za-z_:][A-Za-z0-9_:]*");

  /** One query and where it comes from (panel or alert name). */
  record Query(String where, String expr) {}

  private MonitoringFiles() {
  }

  static Path dir() {
    return ComposeFile.locate().getParent().resolve("docker").resolve("monitoring");
  }

  static List<Query> dashboardQueries(Path dashboardJson) throws IOException {
    JsonNode root = new ObjectMapper().readTree(dashboardJson.toFile());
    List<Query> out = new ArrayList<>();
    collect(root.path("panels"), out);
    return out;
  }

  private static void collect(JsonNode panels, List<Query> out) {
    for (JsonNode p : panels) {
      for (JsonNode t : p.path("targets")) {
        out.add(new Query("panel '" + p.path("title").asText() + "'", t.path("expr").asText()));
      }
      collect(p.path("panels"), out); // panels inside collapsed rows
    }
  }

  @SuppressWarnings("unchecked")
  static List<Query> alertQueries(Path rulesYaml) throws IOException {
    Map<String, Object> root;
    try (Reader r = Files.newBufferedReader(rulesYaml)) {
      root = new Yaml(new SafeConstructor(new LoaderOptions())).load(r);
    }
    List<Query> out = new ArrayList<>();
    for (Map<String, Object> g : (List<Map<String, Object>>) root.get("groups")) {
      for (Map<String, Object> rule : (List<Map<String, Object>>) g.get("rules")) {
        out.add(new Query("alert " + rule.get("alert"), String.valueOf(rule.get("expr"))));
      }
    }
    return out;
  }

  /** Every query of the dashboard and the alert rules. */
  static List<Query> allQueries() throws IOException {
    List<Query> all = new ArrayList<>(dashboardQueries(dir().resolve("grafana").resolve("lorastream.json")));
    all.addAll(alertQueries(dir().resolve("alerts.yml")));
    return all;
  }

  /** The metric names a PromQL expression reads. */
  static Set<String> metricNames(String expr) {
    String s = expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"");
    s = s.replaceAll("\\{[^}]*}", " ");
    s = s.replaceAll("\\[[^\\]]*]", " ");
    s = s.replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
    Set<String> names = new TreeSet<>();
    Matcher m = NAME.matcher(s);
    while (m.find()) {
      String n = m.group();
      boolean call = s.substring(m.end()).stripLeading().startsWith("(");
      if (!call && !KEYWORDS.contains(n.toLowerCase(java.util.Locale.ROOT))) {
        names.add(n);
      }
    }
    return names;
  }

  /** Metric names in a Prometheus text scrape (sample lines, with their suffixes). */
  static Set<String> exported(String scrape) {
    Set<String> names = new TreeSet<>();
    for (String line : scrape.split("\n")) {
      if (!line.isBlank() && !line.startsWith("#")) {
        names.add(line.split("[{ ]", 2)[0]);
      }
    }
    return names;
  }
}
