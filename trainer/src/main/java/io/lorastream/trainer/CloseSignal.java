package io.lorastream.trainer;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A trainer's stop request, shared by its threads: a flag that the retry loops test, and a latch
 * so that a backoff ends the moment {@code close()} is called instead of sleeping it out.
 */
final class CloseSignal {
  private final AtomicBoolean requested = new AtomicBoolean();
  private final CountDownLatch latch = new CountDownLatch(1);

  void request() {
    requested.set(true);
    latch.countDown();
  }

  boolean requested() {
    return requested.get();
  }

  /** Throws {@link AbandonedException} ("stopped while {@code what}") if a stop was requested. */
  void abandonIfRequested(String what, Throwable cause) {
    if (requested.get()) {
      throw new AbandonedException("stopped while " + what, cause);
    }
  }

  /** Waits {@code millis}, or less if a stop is requested meanwhile. */
  void backoff(long millis, String what) {
    try {
      latch.await(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AbandonedException("interrupted while " + what, e);
    }
  }
}
