package io.lorastream.trainer;

import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the trainer is retrying because Kafka (or the registry) does not answer, for its status:
 * written by the trainer and the publisher thread. The retry loops themselves decide what is safe
 * to repeat; this only reports, and logs every tenth retry so an outage does not flood the log.
 */
final class Stalls {
  private static final Logger log = LoggerFactory.getLogger(Stalls.class);

  private final String adapterId;
  private final Runnable refreshStatus;
  private final AtomicLong retries = new AtomicLong();
  private volatile String on;
  private volatile Thread owner;

  /** {@code refreshStatus} runs after a stall met on the owner thread; others show at its next refresh. */
  Stalls(String adapterId, Runnable refreshStatus) {
    this.adapterId = adapterId;
    this.refreshStatus = refreshStatus;
  }

  void owner(Thread thread) {
    owner = thread;
  }

  void stalled(String what, Throwable cause) {
    long n = retries.incrementAndGet();
    if (on == null || n % 10 == 0) {
      log.warn("adapter {}: stalled {}: {}; retrying ({} stall retries so far)", adapterId, what, cause.getMessage(), n);
    }
    on = what;
    if (Thread.currentThread() == owner) {
      refreshStatus.run();
    }
  }

  /** Kafka answered again. */
  void cleared() {
    String was = on;
    if (was != null) {
      log.info("adapter {}: Kafka answers again, no longer stalled ({}); {} stall retries so far", adapterId, was,
          retries.get());
      on = null;
    }
  }

  /** What is being retried, or null while the trainer makes progress. */
  String on() {
    return on;
  }

  long retries() {
    return retries.get();
  }
}
