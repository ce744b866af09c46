package io.lorastream.launcher;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs a {@link DemoRun} on a daemon thread for the ITs that watch the pipeline while it runs.
 * The replay is held before its last examples until {@link #releaseTail()}, so a busy machine
 * cannot finish the run (and stop its metrics endpoints) before the test has seen what it checks;
 * after each test the hold is released whatever happened, so a failed test does not leave a demo
 * waiting. Register it as an instance field: {@code @RegisterExtension final LiveDemo live = ...}.
 */
final class LiveDemo implements AfterEachCallback {
  private final CountDownLatch tail = new CountDownLatch(1);

  /** Holds the last {@code heldTail} examples (at most {@code maxHold}) and starts the run. */
  FutureTask<DemoRun.Summary> start(DemoRun demo, long heldTail, Duration maxHold, String threadName) {
    demo.holdReplayTail(heldTail, tail, maxHold);
    FutureTask<DemoRun.Summary> running = new FutureTask<>(demo::run);
    Thread runner = new Thread(running, threadName);
    runner.setDaemon(true);
    runner.start();
    return running;
  }

  /** Lets the replay send its tail: the test has seen the live pipeline. */
  void releaseTail() {
    tail.countDown();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    releaseTail();
  }
}
