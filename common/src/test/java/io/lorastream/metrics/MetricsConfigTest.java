package io.lorastream.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.config.ConfigException;
import io.lorastream.config.LayeredConfig;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MetricsConfigTest {

  @Test
  void unsetKeysTakeTheDocumentedDefaults() {
    MetricsConfig c = new MetricsConfig(LayeredConfig.of(Map.of()));
    assertThat(c.enabled()).isFalse();
    assertThat(c.port()).isEqualTo(9400);
    assertThat(c.host()).isEqualTo("0.0.0.0");
    MetricsConfig viaDefaults = new MetricsConfig(LayeredConfig.load(MetricsConfig.DEFAULTS, null, Map.of(), Map.of()));
    assertThat(viaDefaults.enabled()).isFalse();
    assertThat(viaDefaults.port()).isEqualTo(9400);
  }

  @Test
  void readsEveryLayerIncludingTheEnvironment() {
    MetricsConfig c = new MetricsConfig(LayeredConfig.load(MetricsConfig.DEFAULTS, null,
        Map.of("LORASTREAM_METRICS_ENABLED", "true", "LORASTREAM_METRICS_PORT", "9411"), Map.of("metrics.host", "127.0.0.1")));
    assertThat(c.enabled()).isTrue();
    assertThat(c.port()).isEqualTo(9411);
    assertThat(c.host()).isEqualTo("127.0.0.1");
  }

  @Test
  void invalidValuesNameTheKey() {
    assertThatThrownBy(() -> new MetricsConfig(LayeredConfig.of(Map.of("metrics.port", "70000"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("metrics.port").hasMessageContaining("between 0 and 65535")
        .extracting(e -> ((ConfigException) e).key()).isEqualTo("metrics.port");
    assertThatThrownBy(() -> new MetricsConfig(LayeredConfig.of(Map.of("metrics.port", "ninety"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("metrics.port");
    assertThatThrownBy(() -> new MetricsConfig(LayeredConfig.of(Map.of("metrics.enabled", "maybe"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("metrics.enabled").hasMessageContaining("LORASTREAM_METRICS_ENABLED");
    assertThatThrownBy(() -> new MetricsConfig(LayeredConfig.of(Map.of("metrics.host", "http://x"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("metrics.host");
    assertThatThrownBy(() -> MetricsConfig.of(true, "127.0.0.1", -2))
        .isInstanceOf(ConfigException.class).hasMessageContaining("metrics.port");
  }

  @Test
  void startIfEnabledStartsOnlyWhenEnabled() throws Exception {
    assertThat(MetricsServer.startIfEnabled(MetricsConfig.of(false, "127.0.0.1", 0))).isEmpty();
    Optional<MetricsServer> s = MetricsServer.startIfEnabled(MetricsConfig.of(true, "127.0.0.1", 0), "service", "trainer");
    assertThat(s).isPresent();
    try (MetricsServer m = s.get()) {
      assertThat(m.port()).isPositive();
      assertThat(m.url()).isEqualTo("http://127.0.0.1:" + m.port());
      m.registry().counter("c").increment();
      assertThat(m.prometheusRegistry().scrape()).contains("c_total{service=\"trainer\"} 1.0");
    }
  }

  @Test
  void aTakenPortIsAConfigErrorNamingTheKey() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      MetricsConfig c = new MetricsConfig(LayeredConfig.of(Map.of("metrics.enabled", "true",
          "metrics.host", "127.0.0.1", "metrics.port", String.valueOf(taken.getLocalPort()))));
      assertThatThrownBy(() -> MetricsServer.startIfEnabled(c))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("metrics.port")
          .hasMessageContaining("command line")
          .hasMessageContaining(String.valueOf(taken.getLocalPort()));
    }
  }
}
