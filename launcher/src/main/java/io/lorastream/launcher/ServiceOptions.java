package io.lorastream.launcher;

import io.lorastream.config.LayeredConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Command-line options every service subcommand shares: where Kafka and the registry are, an
 * optional properties file, and {@code --set key=value} for any other setting (including
 * {@code kafka.*} client pass-through such as SASL credentials). The flags form the top layer of
 * the {@link LayeredConfig}: defaults, then the file, then {@code LORASTREAM_*} variables, then these.
 */
final class ServiceOptions {
  @Option(names = "--config", paramLabel = "FILE", description = "Properties file with settings (layered under env and flags).")
  Path configFile;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka bootstrap servers (kafka.bootstrap.servers). Default: 127.0.0.1:9092.")
  String bootstrap;

  @Option(names = "--registry", paramLabel = "URL", description = "Schema registry URL (registry.url). Default: http://127.0.0.1:8081.")
  String registry;

  @Option(names = {"--set", "-D"}, paramLabel = "KEY=VALUE", description = "Any setting, e.g. --set kafka.security.protocol=SASL_PLAINTEXT. Repeatable. Every key, "
      + "its default and its LORASTREAM_* variable: README, section Settings.")
  Map<String, String> settings = new LinkedHashMap<>();

  /** Builds the layered configuration; {@code flags} are subcommand-specific CLI values (nulls ignored). */
  LayeredConfig load(Map<String, String> defaults, Map<String, String> flags) {
    Map<String, String> cli = new HashMap<>();
    flags.forEach((k, v) -> {
      if (v != null) {
        cli.put(k, v);
      }
    });
    if (bootstrap != null) {
      cli.put("kafka.bootstrap.servers", bootstrap);
    }
    if (registry != null) {
      cli.put("registry.url", registry);
    }
    cli.putAll(settings);
    return KnownSettings.check(LayeredConfig.load(defaults, configFile, System.getenv(), cli));
  }
}
