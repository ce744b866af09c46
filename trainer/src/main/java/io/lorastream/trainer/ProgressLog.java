package io.lorastream.trainer;

import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The trainer's periodic progress line, written from its status; an idle trainer stays quiet. */
final class ProgressLog {
  private static final Logger log = LoggerFactory.getLogger(AdapterTrainer.class);

  private final long intervalNanos;
  private long lastNanos;
  private long examplesAtLast;

  ProgressLog(long intervalMs) {
    this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMs);
  }

  void maybeLog(TrainerStatus s) {
    long now = System.nanoTime();
    if (lastNanos == 0) {
      lastNanos = now;
      examplesAtLast = s.examplesSeen();
      return;
    }
    if (now - lastNanos < intervalNanos) {
      return;
    }
    if (s.examplesSeen() == examplesAtLast) {
      lastNanos = now; // idle: nothing new to report, so no "0 ex/s" line every interval
      return;
    }
    double rate = (s.examplesSeen() - examplesAtLast) / ((now - lastNanos) / 1e9);
    log.info("adapter {}: step {} | {} examples ({} ex/s) | loss ema {} | ranks {} | last version v{} | bad {} | "
        + "other-task {} | non-finite skipped {}", s.adapterId(), s.optimizerStep(), s.examplesSeen(),
        String.format("%.0f", rate), String.format("%.4f", s.lossEma()), s.ranks(), s.lastCommittedVersion(),
        s.badRecords(), s.otherTaskRecords(), s.skippedNonFiniteBatches());
    lastNanos = now;
    examplesAtLast = s.examplesSeen();
  }
}
