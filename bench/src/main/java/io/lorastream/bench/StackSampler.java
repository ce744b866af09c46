package io.lorastream.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

/**
 * A small sampling profiler for the threads a benchmark cares about (the trainer thread, a Kafka
 * Streams thread): every interval it takes each target's stack and files the sample under the first
 * {@link Rule} whose marker appears anywhere in the stack, so "where the time goes" is measured as
 * the share of samples per activity (poll, deserialize, train step, commit, ...). Unlike JFR's
 * sampler it sees threads inside native code (PyTorch kernels, epoll waits), which is where a
 * trainer spends most of its time. One stack walk per target per interval costs a few tens of
 * microseconds of that thread's time; the benchmark samples the in-memory reference the same way,
 * so the overhead cancels in the ratios.
 */
final class StackSampler implements AutoCloseable {

  /**
   * A category and the frame markers ("package.Class.method" substrings) that identify it; with
   * leaf markers, the innermost frame must also match one of them (e.g. "inside PyTorch's JNI").
   */
  record Rule(String category, List<String> markers, List<String> leafMarkers) {
    static Rule of(String category, String... markers) {
      return new Rule(category, List.of(markers), List.of());
    }

    Rule whenLeaf(String... leaf) {
      return new Rule(category, markers, List.of(leaf));
    }

    boolean matches(StackTraceElement[] stack) {
      if (!leafMarkers.isEmpty()) {
        String top = stack[0].getClassName() + "." + stack[0].getMethodName();
        if (leafMarkers.stream().noneMatch(top::contains)) {
          return false;
        }
      }
      for (StackTraceElement f : stack) {
        String s = f.getClassName() + "." + f.getMethodName();
        for (String m : markers) {
          if (s.contains(m)) {
            return true;
          }
        }
      }
      return false;
    }
  }

  /** What the sampler saw: samples per category, the hottest leaf frames of each, thread states. */
  record Profile(long samples, Map<String, Long> byCategory, Map<String, Map<String, Long>> topLeaves,
      Map<Thread.State, Long> states, List<String> threads) {

    double share(String category) {
      return samples == 0 ? 0 : byCategory.getOrDefault(category, 0L) / (double) samples;
    }

    /** JSON-friendly form with shares rounded to 0.1 %. */
    Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("samples", samples);
      m.put("threads", threads);
      Map<String, Object> cats = new LinkedHashMap<>();
      byCategory.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
          .forEach(e -> cats.put(e.getKey(), Math.round(1000.0 * e.getValue() / Math.max(1, samples)) / 10.0));
      m.put("percentByCategory", cats);
      m.put("topLeafFramesByCategory", topLeaves);
      m.put("threadStates", states);
      return m;
    }
  }

  private static final String OTHER = "other";

  private final Predicate<String> threadName;
  private final List<Rule> rules;
  private final long intervalNanos;
  private final Map<String, Long> byCategory = new LinkedHashMap<>();
  private final Map<String, Map<String, Long>> leaves = new HashMap<>();
  private final Map<Thread.State, Long> states = new EnumMap<>(Thread.State.class);
  private final List<String> seen = new ArrayList<>();
  private final Thread sampler;
  private volatile boolean running = true;
  private long samples;

  StackSampler(String name, Predicate<String> threadName, List<Rule> rules, long intervalMicros) {
    this.threadName = threadName;
    this.rules = List.copyOf(rules);
    this.intervalNanos = TimeUnit.MICROSECONDS.toNanos(intervalMicros);
    for (Rule r : rules) {
      byCategory.put(r.category(), 0L);
    }
    this.sampler = new Thread(this::loop, "bench-sampler-" + name);
    this.sampler.setDaemon(true);
  }

  StackSampler start() {
    sampler.start();
    return this;
  }

  private void loop() {
    List<Thread> targets = List.of();
    long nextDiscovery = 0;
    while (running) {
      long now = System.nanoTime();
      if (now >= nextDiscovery) {
        targets = discover();
        nextDiscovery = now + TimeUnit.MILLISECONDS.toNanos(250);
      }
      for (Thread t : targets) {
        if (!t.isAlive()) {
          continue;
        }
        Thread.State state = t.getState();
        StackTraceElement[] stack = t.getStackTrace();
        if (stack.length == 0) {
          continue;
        }
        record(state, stack);
      }
      LockSupport.parkNanos(intervalNanos);
    }
  }

  private List<Thread> discover() {
    ThreadGroup root = Thread.currentThread().getThreadGroup();
    while (root.getParent() != null) {
      root = root.getParent();
    }
    Thread[] all = new Thread[root.activeCount() * 2 + 16];
    int n = root.enumerate(all, true);
    List<Thread> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (all[i] != sampler && threadName.test(all[i].getName())) {
        out.add(all[i]);
        synchronized (seen) {
          if (!seen.contains(all[i].getName())) {
            seen.add(all[i].getName());
          }
        }
      }
    }
    return out;
  }

  private synchronized void record(Thread.State state, StackTraceElement[] stack) {
    samples++;
    states.merge(state, 1L, Long::sum);
    String category = OTHER;
    for (Rule r : rules) {
      if (r.matches(stack)) {
        category = r.category();
        break;
      }
    }
    byCategory.merge(category, 1L, Long::sum);
    String leaf = stack[0].getClassName() + "." + stack[0].getMethodName();
    leaves.computeIfAbsent(category, c -> new HashMap<>()).merge(leaf, 1L, Long::sum);
  }

  /** Stops sampling and returns the profile. */
  synchronized Profile profile() {
    Map<String, Map<String, Long>> top = new LinkedHashMap<>();
    leaves.forEach((cat, m) -> {
      Map<String, Long> best = new LinkedHashMap<>();
      m.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(5)
          .forEach(e -> best.put(e.getKey(), e.getValue()));
      top.put(cat, best);
    });
    Map<String, Long> cats = new LinkedHashMap<>();
    byCategory.entrySet().stream().filter(e -> e.getValue() > 0)
        .sorted(Comparator.comparing(Map.Entry<String, Long>::getValue).reversed())
        .forEach(e -> cats.put(e.getKey(), e.getValue()));
    synchronized (seen) {
      return new Profile(samples, cats, top, new EnumMap<>(states), List.copyOf(seen));
    }
  }

  /** Stops the sampler thread (the profile stays readable). */
  @Override
  public void close() {
    running = false;
    LockSupport.unpark(sampler);
    try {
      sampler.join(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
