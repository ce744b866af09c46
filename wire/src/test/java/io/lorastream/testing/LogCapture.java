package io.lorastream.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import ch.qos.logback.core.read.ListAppender;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * JUnit extension that records every log event of a test class, from before the broker starts
 * until the class ends, through a logback {@link ListAppender} on the root logger. Kafka's own
 * loggers are raised to INFO for the duration (their configuration dumps are where a credential
 * would show) and kept off the console so the build log stays readable; lorastream's loggers keep
 * their level and their console output (or are lowered to DEBUG with {@link #withOurDebugLogs()}, so
 * that a test can prove even debug lines never leak a secret). Register it with a lower
 * {@code @Order} than the stack. Shared through the schemas test-jar.
 */
public final class LogCapture implements BeforeAllCallback, AfterAllCallback {
  private static final String OURS = "io.lorastream";
  private static final List<String> KAFKA = List.of("org.apache.kafka", "kafka", "state.change.logger");
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private final Map<String, Level> levels = new HashMap<>();
  private final Map<String, Boolean> additivity = new HashMap<>();
  private final boolean ourDebug;

  public LogCapture() {
    this(false);
  }

  private LogCapture(boolean ourDebug) {
    this.ourDebug = ourDebug;
  }

  /** Also captures lorastream's own DEBUG lines for the duration. */
  public static LogCapture withOurDebugLogs() {
    return new LogCapture(true);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    appender.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
    appender.start();
    root().addAppender(appender);
    if (ourDebug) {
      levels.put(OURS, logger(OURS).getLevel());
      logger(OURS).setLevel(Level.DEBUG);
    }
    for (String name : KAFKA) {
      Logger l = logger(name);
      levels.put(name, l.getLevel());
      additivity.put(name, l.isAdditive());
      l.setLevel(Level.INFO);
      l.setAdditive(false);
      l.addAppender(appender);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    for (String name : KAFKA) {
      Logger l = logger(name);
      l.detachAppender(appender);
      l.setAdditive(additivity.get(name));
      l.setLevel(levels.get(name));
    }
    if (ourDebug) {
      logger(OURS).setLevel(levels.get(OURS));
    }
    root().detachAppender(appender);
    appender.stop();
  }

  /**
   * Every captured event as one line of text: logger, formatted message (arguments rendered), MDC,
   * and each exception of its cause chain with message and stack frames.
   */
  public List<String> lines() {
    return lines(0);
  }

  /** How many events have been captured so far; a mark for {@link #lines(int)}. */
  public int size() {
    synchronized (appender) {
      return appender.list.size();
    }
  }

  /** As {@link #lines()}, from the event with index {@code from} on. */
  public List<String> lines(int from) {
    List<ILoggingEvent> events;
    synchronized (appender) {
      events = List.copyOf(appender.list.subList(Math.min(from, appender.list.size()), appender.list.size()));
    }
    List<String> out = new ArrayList<>(events.size());
    for (ILoggingEvent e : events) {
      StringBuilder sb = new StringBuilder(e.getLevel().toString()).append(' ').append(e.getLoggerName()).append(' ')
          .append(e.getFormattedMessage());
      e.getMDCPropertyMap().forEach((k, v) -> sb.append(' ').append(k).append('=').append(v));
      Set<IThrowableProxy> seen = new HashSet<>();
      for (IThrowableProxy t = e.getThrowableProxy(); t != null && seen.add(t); t = t.getCause()) {
        sb.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
        for (StackTraceElementProxy f : t.getStackTraceElementProxyArray()) {
          sb.append(" @ ").append(f.getSTEAsString());
        }
      }
      out.add(sb.toString());
    }
    return out;
  }

  private static Logger root() {
    return logger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  private static Logger logger(String name) {
    return (Logger) LoggerFactory.getLogger(name);
  }
}
