package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.config.ConfigException;
import io.lorastream.config.LayeredConfig;
import io.lorastream.lora.adapter.Scaling;
import io.lorastream.lora.train.RankSchedule;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TrainerConfigTest {

  @Test
  void theTopicPrefixGoesInFrontOfTheGroupAndTheTransactionalId() {
    TrainerConfig plain = TrainerConfig.of(Map.of(TrainerConfig.ADAPTER_ID, "spam"));
    TrainerConfig team = TrainerConfig.of(Map.of(TrainerConfig.ADAPTER_ID, "spam", "topic.prefix", "team."));
    assertThat(team.groupId()).isEqualTo("team." + plain.groupId());
    assertThat(team.transactionalId()).isEqualTo("team." + plain.transactionalId());
    TrainerConfig explicit = TrainerConfig.of(Map.of("topic.prefix", "team.", TrainerConfig.GROUP_ID, "g1"));
    assertThat(explicit.groupId()).isEqualTo("team.g1");
  }

  @Test
  void defaultsAreValidAndDescribeAProgressiveSchedule() {
    TrainerConfig c = TrainerConfig.of(Map.of());
    assertThat(c.adapterId()).isEqualTo(io.lorastream.config.CommonConfig.DEFAULT_ADAPTER_ID);
    assertThat(c.trainerId()).startsWith("trainer-" + io.lorastream.config.CommonConfig.DEFAULT_ADAPTER_ID + "-");
    assertThat(c.device()).isEqualTo("auto");
    assertThat(c.microBatchSize()).isEqualTo(16);
    assertThat(c.accumulationSteps()).isEqualTo(2);
    assertThat(c.lr()).isEqualTo(0.005);
    assertThat(c.alpha()).isEqualTo(16f);
    assertThat(c.scaling()).isEqualTo(Scaling.STANDARD);
    assertThat(c.rankMax()).isEqualTo(16);
    assertThat(c.targets()).isEmpty();
    assertThat(c.clipNorm()).isEqualTo(1.0);
    assertThat(c.l2Lambda()).isEqualTo(0.01);
    assertThat(c.publishSteps()).isEqualTo(50);
    assertThat(c.publishIntervalMs()).isEqualTo(5000);
    assertThat(c.hmacKey()).isEmpty();
    assertThat(c.transactionalId()).isEqualTo("lorastream-trainer-" + io.lorastream.config.CommonConfig.DEFAULT_ADAPTER_ID);
    assertThat(c.groupId()).isEqualTo("lorastream-trainer-" + io.lorastream.config.CommonConfig.DEFAULT_ADAPTER_ID);
    RankSchedule.Steps s = (RankSchedule.Steps) c.rankSchedule();
    assertThat(s.initialRank()).isEqualTo(2);
    assertThat(s.milestones()).containsExactly(java.util.Map.entry(0L, 2), java.util.Map.entry(100L, 4),
        java.util.Map.entry(250L, 8), java.util.Map.entry(400L, 16));
    assertThat(c.learnerConfig().accumulationSteps()).isEqualTo(2);
    assertThat(c.adapterConfig().maxRank()).isEqualTo(16);
  }

  @Test
  void stepsAheadIsAutoByDefaultDoubleBufferedOnAGpuOrForLargeMicroBatchesAndInlineForSmallOnesOnACpu() {
    TrainerConfig auto = TrainerConfig.of(Map.of());
    assertThat(auto.stepsAhead(true, 64)).isEqualTo(2);
    assertThat(auto.stepsAhead(false, 64)).isZero();
    assertThat(auto.stepsAhead(false, (int) (TrainerConfig.CPU_QUEUE_FLOATS / auto.microBatchSize()) - 1)).isZero();
    assertThat(auto.stepsAhead(false, (int) (TrainerConfig.CPU_QUEUE_FLOATS / auto.microBatchSize()))).isEqualTo(2);
    TrainerConfig wide = TrainerConfig.of(Map.of(TrainerConfig.MICROBATCH_SIZE, "4096"));
    assertThat(wide.stepsAhead(false, 1024)).isEqualTo(2);
    assertThat(wide.stepsAhead(false, 2)).isZero();
    assertThat(TrainerConfig.of(Map.of(TrainerConfig.MICROBATCH_SIZE, "512")).stepsAhead(false, 64)).isEqualTo(2);
    assertThat(TrainerConfig.of(Map.of(TrainerConfig.MICROBATCH_SIZE, "128")).stepsAhead(false, 64)).isZero();
    TrainerConfig three = TrainerConfig.of(Map.of(TrainerConfig.STEPS_AHEAD, "3"));
    assertThat(three.stepsAhead(false, 64)).isEqualTo(3);
    assertThat(three.stepsAhead(true, 1 << 20)).isEqualTo(3);
    for (String bad : new String[] {"-1", "65", "two", "1.5"}) {
      assertThatThrownBy(() -> TrainerConfig.of(Map.of(TrainerConfig.STEPS_AHEAD, bad)))
          .isInstanceOf(io.lorastream.config.ConfigException.class)
          .hasMessageContaining(TrainerConfig.STEPS_AHEAD).hasMessageContaining("auto or a whole number from 0 to 64");
    }
  }

  @Test
  void fetchThreadsDefaultToNoneAndOutOfRangeValuesNameTheKey() {
    assertThat(TrainerConfig.of(Map.of()).fetchThreads()).isZero();
    assertThat(TrainerConfig.of(Map.of(TrainerConfig.FETCH_THREADS, "2")).fetchThreads()).isEqualTo(2);
    for (String bad : new String[] {"-1", "65", "two"}) {
      assertThatThrownBy(() -> TrainerConfig.of(Map.of(TrainerConfig.FETCH_THREADS, bad)))
          .isInstanceOf(io.lorastream.config.ConfigException.class).hasMessageContaining(TrainerConfig.FETCH_THREADS);
    }
  }

  @Test
  void keysMissingFromTheLayeredConfigFallBackToDefaults() {
    TrainerConfig c = TrainerConfig.from(LayeredConfig.of(Map.of("trainer.adapter.id", "fraud")));
    assertThat(c.microBatchSize()).isEqualTo(16);
    assertThat(c.transactionalId()).isEqualTo("lorastream-trainer-fraud");
  }

  @Test
  void everyKeyCanBeOverriddenAndLaterLayersWin() {
    Map<String, String> cli = new HashMap<>();
    cli.put("trainer.adapter.id", "task-b");
    cli.put("trainer.id", "t-7");
    cli.put("trainer.base", "/models/b.lsbase");
    cli.put("trainer.device", "CPU");
    cli.put("trainer.microbatch.size", "8");
    cli.put("trainer.accumulation.steps", "4");
    cli.put("trainer.lr", "1e-3");
    cli.put("trainer.alpha", "8");
    cli.put("trainer.scaling", "rslora");
    cli.put("trainer.rank.schedule", "fixed:4");
    cli.put("trainer.rank.max", "8");
    cli.put("trainer.targets", "fc0, head");
    cli.put("trainer.clip.norm", "5");
    cli.put("trainer.l2.lambda", "0");
    cli.put("trainer.publish.steps", "7");
    cli.put("trainer.publish.interval.ms", "250");
    cli.put("trainer.poll.timeout.ms", "20");
    cli.put("trainer.hmac.key", "0123456789abcdef0123");
    cli.put("trainer.metrics.interval.ms", "1000");
    cli.put("trainer.seed", "-3");
    cli.put("trainer.transactional.id", "tx-b");
    cli.put("trainer.group.id", "g-b");
    TrainerConfig c = TrainerConfig.from(LayeredConfig.load(TrainerConfig.DEFAULTS, null,
        Map.of("LORASTREAM_TRAINER_LR", "0.5", "LORASTREAM_TRAINER_PUBLISH_STEPS", "99"), cli));
    assertThat(c.adapterId()).isEqualTo("task-b");
    assertThat(c.trainerId()).isEqualTo("t-7");
    assertThat(c.base()).isEqualTo(Path.of("/models/b.lsbase"));
    assertThat(c.device()).isEqualTo("cpu");
    assertThat(c.microBatchSize()).isEqualTo(8);
    assertThat(c.accumulationSteps()).isEqualTo(4);
    assertThat(c.lr()).isEqualTo(1e-3);
    assertThat(c.alpha()).isEqualTo(8f);
    assertThat(c.scaling()).isEqualTo(Scaling.RSLORA);
    assertThat(c.rankSchedule()).isEqualTo(RankSchedule.fixed(4));
    assertThat(c.rankMax()).isEqualTo(8);
    assertThat(c.targets()).containsExactly("fc0", "head");
    assertThat(c.clipNorm()).isEqualTo(5.0);
    assertThat(c.l2Lambda()).isZero();
    assertThat(c.publishSteps()).isEqualTo(7);
    assertThat(c.publishIntervalMs()).isEqualTo(250);
    assertThat(c.pollTimeoutMs()).isEqualTo(20);
    assertThat(c.hmacKey()).contains("0123456789abcdef0123".getBytes(StandardCharsets.UTF_8));
    assertThat(c.metricsIntervalMs()).isEqualTo(1000);
    assertThat(c.seed()).isEqualTo(-3);
    assertThat(c.transactionalId()).isEqualTo("tx-b");
    assertThat(c.groupId()).isEqualTo("g-b");
    assertThat(c.adapterConfig().targets()).isEqualTo(List.of("fc0", "head"));
    assertThat(c.adapterConfig().scaling()).isEqualTo(Scaling.RSLORA);
    assertThat(c.learnerConfig().lr()).isEqualTo(1e-3);
  }

  @Test
  void environmentOverridesDefaults() {
    TrainerConfig c = TrainerConfig.from(LayeredConfig.load(TrainerConfig.DEFAULTS, null,
        Map.of("LORASTREAM_TRAINER_MICROBATCH_SIZE", "64"), Map.of()));
    assertThat(c.microBatchSize()).isEqualTo(64);
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(delimiter = '|', value = {
      "trainer.adapter.id|has space|letters, digits",
      "trainer.id|a/b|letters, digits",
      "trainer.device|tpu|auto, cpu, gpu",
      "trainer.microbatch.size|0|between 1 and 65536",
      "trainer.microbatch.size|ten|not a whole number",
      "trainer.accumulation.steps|0|between 1 and 1024",
      "trainer.lr|0|finite number",
      "trainer.lr|NaN|finite number",
      "trainer.lr|2|finite number",
      "trainer.alpha|-1|finite number",
      "trainer.scaling|linear|must be one of",
      "trainer.rank.schedule|grow:fast|unknown kind",
      "trainer.rank.schedule|steps:4@0,2@10|ranks must increase",
      "trainer.rank.schedule|steps:2@0,32@10|reaches rank 32",
      "trainer.rank.max|0|between 1 and 4096",
      "trainer.rank.growth.keeps.scale|maybe|must be true or false",
      "trainer.targets|fc0,fc0|names a layer twice",
      "trainer.targets|fc0;head|not a layer name or glob",
      "trainer.clip.norm|-1|finite number",
      "trainer.l2.lambda|-0.1|finite number",
      "trainer.publish.steps|0|between 1 and",
      "trainer.publish.interval.ms|5|between 100 and",
      "trainer.poll.timeout.ms|0|between 1 and 60000",
      "trainer.metrics.interval.ms|x|not a whole number",
      "trainer.seed|1.5|not a whole number",
      "trainer.transactional.id|tx id|letters, digits",
      "trainer.group.id|g*|letters, digits",
  })
  void invalidValuesNameTheKeyAndTheFix(String key, String value, String problem) {
    assertThatThrownBy(() -> TrainerConfig.of(Map.of(key, value)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'" + key + "'")
        .hasMessageContaining(problem)
        .hasMessageContaining("Fix:")
        .hasMessageContaining(LayeredConfig.keyToEnv(key))
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo(key));
  }

  @Test
  void aShortHmacKeyIsRejectedWithoutEchoingIt() {
    assertThatThrownBy(() -> TrainerConfig.of(Map.of("trainer.hmac.key", "hunter2")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'trainer.hmac.key'")
        .hasMessageContaining("at least 16 bytes")
        .hasMessageContaining("inference.hmac.key")
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void toStringNeverShowsTheHmacKey() {
    TrainerConfig c = TrainerConfig.of(Map.of("trainer.hmac.key", "a-very-secret-shared-key"));
    assertThat(c.toString()).doesNotContain("a-very-secret-shared-key").contains("signed=true");
  }
}
