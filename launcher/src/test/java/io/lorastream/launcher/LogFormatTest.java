package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The shipped logback.xml in both formats: dated, threaded text lines, or one JSON object per
 * event, each configured without a warning (which would make logback print its status list).
 */
class LogFormatTest {

  private static String logWith(String format) throws Exception {
    URL config = Main.class.getClassLoader().getResource("logback.xml");
    assertThat(config).as("the launcher's logback.xml").isNotNull();
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    LoggerContext ctx = new LoggerContext();
    ctx.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter()); // a context of our own needs one
    try {
      System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
      if (format != null) {
        ctx.putProperty(Main.LOG_FORMAT, format);
      }
      JoranConfigurator jc = new JoranConfigurator();
      jc.setContext(ctx);
      jc.doConfigure(config);
      // Logback prints its whole status list on every start once any status is a WARN or worse.
      assertThat(ctx.getStatusManager().getCopyOfStatusList())
          .as("configuration statuses of level WARN or worse")
          .noneMatch(st -> st.getEffectiveLevel() >= ch.qos.logback.core.status.Status.WARN);
      ctx.getLogger("io.lorastream.launcher.LogFormatTest").info("hello {}", "world");
    } finally {
      ctx.stop();
      System.setErr(original);
    }
    return captured.toString(StandardCharsets.UTF_8).trim();
  }

  @Test
  void textLinesCarryTheDateTheThreadAndTheLogger() throws Exception {
    String line = logWith(null);
    assertThat(line).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}(Z|[+-]\\d{2}:\\d{2}) INFO  \\["
        + java.util.regex.Pattern.quote(Thread.currentThread().getName()) + "\\] i\\.l\\.l\\.LogFormatTest - hello world");
  }

  @Test
  void jsonIsOneObjectPerEvent() throws Exception {
    String line = logWith("json");
    JsonNode n = new ObjectMapper().readTree(line);
    assertThat(n.get("level").asText()).isEqualTo("INFO");
    assertThat(n.get("loggerName").asText()).isEqualTo("io.lorastream.launcher.LogFormatTest");
    assertThat(n.get("threadName").asText()).isEqualTo(Thread.currentThread().getName());
    assertThat(n.get("formattedMessage").asText()).isEqualTo("hello world");
    assertThat(n.get("timestamp").asLong()).isPositive();
  }

  @Test
  void anUnknownFormatIsRefusedWithTheFix() {
    assertThat(Main.logFormatProblem(null)).isNull();
    assertThat(Main.logFormatProblem("json")).isNull();
    assertThat(Main.logFormatProblem("xml")).contains("LORASTREAM_LOG_FORMAT=xml").contains("Fix: set it to text");
  }
}
