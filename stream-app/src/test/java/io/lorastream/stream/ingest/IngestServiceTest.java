package io.lorastream.stream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

/** Wiring of the ingest service: pass-through client settings, and the settings correctness depends on win. */
class IngestServiceTest {

  @Test
  void kafkaPassThroughReachesStreamsButOurGuaranteesWin() {
    CommonConfig common = new CommonConfig(LayeredConfig.load(CommonConfig.DEFAULTS, null, Map.of(), Map.of(
        "kafka.bootstrap.servers", "127.0.0.1:1",
        "kafka.reconnect.backoff.ms", "123",
        "kafka.processing.guarantee", "at_least_once",
        "topic.examples.raw", "custom.raw")));
    StreamAppConfig config = StreamAppConfig.of(Map.of("ingest.application.id", "my-ingest", "ingest.num.stream.threads", "2"));
    try (IngestService service = new IngestService(common, config)) {
      Properties p = service.properties();
      assertThat(p.getProperty("reconnect.backoff.ms")).isEqualTo("123");
      assertThat(p.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG)).isEqualTo(StreamsConfig.EXACTLY_ONCE_V2);
      assertThat(p.get(StreamsConfig.APPLICATION_ID_CONFIG)).isEqualTo("my-ingest");
      assertThat(p.get(StreamsConfig.NUM_STREAM_THREADS_CONFIG)).isEqualTo(2);
      assertThat(p.get(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG))
          .isEqualTo(ContinueOnBadRecordHandler.class.getName());
      assertThat(p.get(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG))
          .isEqualTo(ContinueOnOversizeHandler.class.getName());
      assertThat(service.topology().describe().toString()).contains("custom.raw");
      assertThat(service.state()).isEqualTo(KafkaStreams.State.CREATED);
    }
  }
}
