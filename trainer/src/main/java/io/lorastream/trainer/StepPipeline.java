package io.lorastream.trainer;

import io.lorastream.lora.train.OnlineLearner;
import io.lorastream.lora.train.StepResult;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs the learner's steps on a step thread while the trainer thread polls, decodes and packs the
 * next micro-batches: a bounded queue of ready micro-batches ({@code depth} of them, 2 is double
 * buffering), so the step does not wait for the host and the host does not wait for each step.
 *
 * <p>Everything the trainer decides stays on the trainer thread and in order: each finished step
 * comes back as a {@link Done}, handed to the trainer's callback in submission order, and only
 * then do its examples count as trained (so offsets are claimed exactly as inline). While steps
 * are in flight the trainer reads the learner only through the {@link LearnerView} of the last
 * finished one; anything that reads or replaces the learner itself (a snapshot cut, a restore)
 * first {@link #drain drains} or {@link #discard discards} the queue. With {@code depth = 0} a
 * step runs inline on the calling thread, as before.
 */
final class StepPipeline {
  /** The learner's counters right after a step, read on the step thread. */
  record LearnerView(long optimizerStep, long examplesSeen, int pendingMicroBatches, double lossEma,
      double lastGradNorm, Map<String, Integer> ranks) {
    static LearnerView of(OnlineLearner l) {
      return new LearnerView(l.optimizerStep(), l.examplesSeen(), l.pendingMicroBatches(), l.lossEma(),
          l.lastGradNorm(), l.ranks());
    }
  }

  /** One finished step: its micro-batch, the learner's outcome and its counters after it. */
  record Done(MicroBatch batch, StepResult result, LearnerView after) {}

  private final int depth;
  private final ExecutorService thread; // null when depth == 0
  /** A queued or running step and the examples of its micro-batch. */
  private record Queued(Future<Done> step, int examples) {}

  private final ArrayDeque<Queued> inFlight = new ArrayDeque<>();
  private long queuedExamples;

  StepPipeline(int depth, String adapterId) {
    if (depth < 0) {
      throw new IllegalArgumentException("depth must be >= 0, got " + depth);
    }
    this.depth = depth;
    this.thread = depth == 0 ? null : Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "lorastream-step-" + adapterId);
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Queues one micro-batch for {@code learner}. When {@code depth} are already queued, waits for
   * the oldest first. Every step finished by then goes to {@code done}, in order.
   */
  void submit(OnlineLearner learner, MicroBatch mb, Consumer<Done> done) {
    if (thread == null) {
      done.accept(step(learner, mb));
      return;
    }
    while (inFlight.size() >= depth) {
      done.accept(await(next()));
    }
    inFlight.add(new Queued(thread.submit(() -> step(learner, mb)), mb.size()));
    queuedExamples += mb.size();
    completeReady(done);
  }

  /** Hands every step finished so far to {@code done}, in order, without waiting. */
  void completeReady(Consumer<Done> done) {
    while (!inFlight.isEmpty() && inFlight.peek().step().isDone()) {
      done.accept(await(next()));
    }
  }

  /** Waits for every queued step and hands each to {@code done}; afterwards the learner is idle. */
  void drain(Consumer<Done> done) {
    while (!inFlight.isEmpty()) {
      done.accept(await(next()));
    }
  }

  /**
   * Waits for every queued step and drops its outcome: the learner is about to be restored, and
   * the examples those steps trained are read again from the rewound offsets.
   */
  void discard() {
    if (inFlight.isEmpty()) {
      return;
    }
    while (!inFlight.isEmpty()) {
      next().cancel(false); // a step not yet started never starts
    }
    // A cancelled Future no longer waits for a step already running; a no-op queued behind it on the
    // same single thread does.
    try {
      thread.submit(() -> { }).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new org.apache.kafka.common.errors.InterruptException(e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("the step thread failed", e.getCause());
    }
  }

  /** Micro-batches queued or running. */
  int inFlight() {
    return inFlight.size();
  }

  /** Examples in the micro-batches queued or running. */
  long queuedExamples() {
    return queuedExamples;
  }

  private Future<Done> next() {
    Queued q = inFlight.poll();
    queuedExamples -= q.examples();
    return q.step();
  }

  private static Done step(OnlineLearner learner, MicroBatch mb) {
    StepResult r = learner.trainMicroBatch(mb.features(), mb.labels(), mb.weights());
    return new Done(mb, r, LearnerView.of(learner));
  }

  /** The step's outcome, with its failure rethrown here as the inline call would have thrown it. */
  private static Done await(Future<Done> f) {
    return result(f, "a training step failed");
  }

  /**
   * A worker thread's result on the calling thread, with the worker's exception rethrown as the
   * inline call would have thrown it (also used for the trainer's decode-ahead thread).
   */
  static <T> T result(Future<T> f, String failure) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new org.apache.kafka.common.errors.InterruptException(e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException re) {
        throw re;
      }
      if (c instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(failure, c);
    }
  }

  /**
   * Stops the step thread and waits for a running step to finish. Returns false when one is still
   * running: the learner must then stay open, since closing it under a native step crashes the JVM.
   */
  boolean stop() {
    if (thread == null) {
      return true;
    }
    inFlight.forEach(q -> q.step().cancel(false));
    inFlight.clear();
    queuedExamples = 0;
    thread.shutdown();
    try {
      return thread.awaitTermination(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
