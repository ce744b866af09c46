package io.lorastream.stream.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.config.ConfigException;
import io.lorastream.config.LayeredConfig;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StreamAppConfigTest {

  @Test
  void defaultsDescribeTheDocumentedDeployment() {
    StreamAppConfig c = StreamAppConfig.of(Map.of());
    assertThat(c.ingest().stateDir()).isEqualTo(java.nio.file.Path.of("lorastream-data", "stream-app"));
    assertThat(c.eval().stateDir()).isEqualTo(c.ingest().stateDir());
    assertThat(StreamAppConfig.of(Map.of("data.dir", "/srv/ls")).ingest().stateDir())
        .isEqualTo(java.nio.file.Path.of("/srv/ls", "stream-app"));
    StreamAppConfig.Ingest in = c.ingest();
    assertThat(in.applicationId()).isEqualTo("lorastream-ingest");
    assertThat(in.guarantee()).isEqualTo(StreamAppConfig.Guarantee.EXACTLY_ONCE_V2);
    assertThat(in.guarantee().streamsValue()).isEqualTo("exactly_once_v2");
    assertThat(in.dedupeWindow()).isEqualTo(Duration.ofHours(1));
    assertThat(in.holdoutFraction()).isEqualTo(0.1);
    assertThat(in.taskSpec("anything")).contains(new TaskSpec(32, 6, TaskSpec.FeatureKind.DENSE));
    assertThat(c.eval().windowKind()).isEqualTo(StreamAppConfig.WindowKind.COUNT);
    assertThat(c.eval().guarantee()).isEqualTo(StreamAppConfig.Guarantee.EXACTLY_ONCE_V2);
  }

  @Test
  void perTaskOverridesInheritTheRestFromTheDefaultSpec() {
    StreamAppConfig c = StreamAppConfig.of(Map.of(
        "ingest.tasks", "mlp, text.v2",
        "ingest.task.default.classes", "3",
        "ingest.task.mlp.input.size", "16",
        "ingest.task.text.v2.feature.kind", "tokens",
        "ingest.task.text.v2.input.size", "1000"));
    StreamAppConfig.Ingest in = c.ingest();
    assertThat(in.taskSpec("mlp")).contains(new TaskSpec(16, 3, TaskSpec.FeatureKind.DENSE));
    assertThat(in.taskSpec("text.v2")).contains(new TaskSpec(1000, 3, TaskSpec.FeatureKind.TOKENS));
    assertThat(in.taskSpec("other")).isEmpty();
  }

  @Test
  void layersFromTheEnvironmentAreHonoured() {
    LayeredConfig layered = LayeredConfig.load(StreamAppConfig.DEFAULTS, null,
        Map.of("LORASTREAM_INGEST_HOLDOUT_FRACTION", "0.25"), Map.of("eval.window.kind", "time"));
    StreamAppConfig c = StreamAppConfig.from(layered);
    assertThat(c.ingest().holdoutFraction()).isEqualTo(0.25);
    assertThat(c.eval().windowKind()).isEqualTo(StreamAppConfig.WindowKind.TIME);
  }

  @Test
  void invalidValuesNameTheKeyAndTheFix() {
    assertThatThrownBy(() -> StreamAppConfig.of(Map.of("ingest.holdout.fraction", "0.9")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'ingest.holdout.fraction'").hasMessageContaining("Fix:");
    assertThatThrownBy(() -> StreamAppConfig.of(Map.of("ingest.processing.guarantee", "exactly_once")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'ingest.processing.guarantee'").hasMessageContaining("exactly_once_v2");
    assertThatThrownBy(() -> StreamAppConfig.of(Map.of("ingest.task.mlp.input.sise", "3")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("ingest.task.mlp.input.sise").hasMessageContaining("Fix:");
    assertThatThrownBy(() -> StreamAppConfig.of(Map.of("ingest.tasks", "a", "ingest.task.b.classes", "3")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("ingest.task.b.classes").hasMessageContaining("ingest.tasks");
    assertThatThrownBy(() -> StreamAppConfig.of(Map.of("ingest.task.default.input.size", "9000")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("ingest.max.features");
    assertThatThrownBy(() -> StreamAppConfig.of(Map.of("ingest.task.default.feature.kind", "image")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("ingest.task.default.feature.kind");
    assertThatThrownBy(() -> StreamAppConfig.of(Map.of("eval.window.examples", "0")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("eval.window.examples");
    assertThatThrownBy(() -> StreamAppConfig.of(Map.of("ingest.application.id", "bad id!")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("ingest.application.id");
    assertThatThrownBy(() -> StreamAppConfig.of(Map.of("ingest.tasks", "a,,b")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("ingest.tasks");
  }

  @Test
  void holdoutIsDeterministicAndNearTheConfiguredFraction() {
    int held = 0;
    int n = 20_000;
    for (int i = 0; i < n; i++) {
      String id = "ex-" + i;
      boolean h = IngestTopology.isHoldout(id, 0.1);
      assertThat(IngestTopology.isHoldout(id, 0.1)).isEqualTo(h);
      held += h ? 1 : 0;
    }
    // Binomial(20000, 0.1): sd ~ 42, so +-300 is a ~7 sigma band.
    assertThat(held).isBetween(1700, 2300);
    assertThat(IngestTopology.isHoldout("ex-1", 0.0)).isFalse();
  }
}
