package io.lorastream.pipeline;

import io.lorastream.trainer.AdapterTrainer;
import java.time.Duration;

/**
 * An {@link AdapterTrainer} running on its own thread. Closing it stops the trainer the way a
 * shutdown hook does (the final snapshot is published) and waits for the thread to end.
 */
public final class RunningTrainer implements AutoCloseable {
  private static final Duration DEFAULT_STOP_WAIT = Duration.ofMinutes(2);

  private final AdapterTrainer trainer;
  private final Thread thread;

  private RunningTrainer(AdapterTrainer trainer, Thread thread) {
    this.trainer = trainer;
    this.thread = thread;
  }

  static RunningTrainer start(AdapterTrainer trainer, String threadName) {
    Thread t = new Thread(trainer, threadName);
    t.start();
    return new RunningTrainer(trainer, t);
  }

  public AdapterTrainer trainer() {
    return trainer;
  }

  public boolean isAlive() {
    return thread.isAlive();
  }

  /** Stops the trainer and waits, each step at most {@code wait}; returns whether the thread ended. */
  public boolean stop(Duration wait) throws InterruptedException {
    trainer.close(wait);
    thread.join(wait.toMillis());
    return !thread.isAlive();
  }

  /** {@link #stop} with two minutes for each step; an interrupt is kept on the thread. */
  @Override
  public void close() {
    try {
      stop(DEFAULT_STOP_WAIT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
