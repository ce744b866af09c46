package io.lorastream.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Linux process facts the JVM does not expose: resident set size (current and peak, from
 * {@code /proc/self/status}) and per-thread scheduler statistics ({@code /proc/self/task/<tid>/schedstat}:
 * time on CPU, time waiting on a run queue, number of times scheduled), which show whether a
 * thread was slow because it worked or because both cores were busy with something else. Java
 * thread names reach the kernel truncated to 15 characters, so threads are matched by that prefix.
 * Every read degrades to -1 off Linux instead of failing the benchmark.
 */
final class ProcInfo {
  private ProcInfo() {
  }

  /** A value of /proc/self/status in kB (e.g. VmHWM, VmRSS); -1 when unavailable. */
  static long statusKb(String key) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(key + ":")) {
          return Long.parseLong(line.substring(key.length() + 1).replace("kB", "").trim());
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** Summed scheduler statistics of a group of threads. */
  record Sched(int threads, long cpuNanos, long runQueueWaitNanos, long timeslices) {
    Sched minus(Sched before) {
      return new Sched(threads, cpuNanos - before.cpuNanos, runQueueWaitNanos - before.runQueueWaitNanos,
          timeslices - before.timeslices);
    }

    /** Mean run-queue wait per time the threads were scheduled, in microseconds. */
    double meanWaitMicrosPerSlice() {
      return timeslices <= 0 ? Double.NaN : runQueueWaitNanos / 1000.0 / timeslices;
    }
  }

  /** CPU ticks (user + system, 1/100 s) of every thread of this process, by thread id, with its kernel name. */
  record Tasks(long nanos, Map<Integer, String> names, Map<Integer, Long> ticks) {}

  static Tasks tasks() {
    Map<Integer, String> names = new HashMap<>();
    Map<Integer, Long> ticks = new HashMap<>();
    try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path t : (Iterable<Path>) tasks::iterator) {
        try {
          String stat = Files.readString(t.resolve("stat"));
          int open = stat.indexOf('(');
          int close = stat.lastIndexOf(')');
          String[] f = stat.substring(close + 2).trim().split("\\s+");
          int tid = Integer.parseInt(t.getFileName().toString());
          names.put(tid, stat.substring(open + 1, close));
          ticks.put(tid, Long.parseLong(f[11]) + Long.parseLong(f[12]));
        } catch (IOException | RuntimeException ignored) {
          // the thread ended between list and read
        }
      }
    } catch (IOException | RuntimeException e) {
      return new Tasks(System.nanoTime(), Map.of(), Map.of());
    }
    return new Tasks(System.nanoTime(), names, ticks);
  }

  /**
   * Cores used between two readings per thread group (threads with the same kernel name once the
   * trailing number is dropped, e.g. "data-plane-kafk", "GC Thread#"), largest first, at most
   * {@code top} groups plus "rest". Threads that ended in between are not counted.
   */
  static Map<String, Double> coresByThreadGroup(Tasks a, Tasks b, int top) {
    double secs = Math.max(1e-3, (b.nanos() - a.nanos()) / 1e9);
    Map<String, Double> groups = new HashMap<>();
    b.ticks().forEach((tid, t) -> {
      long d = t - a.ticks().getOrDefault(tid, 0L);
      if (d > 0) {
        String g = b.names().get(tid).replaceAll("[-#]?\\d+$", "");
        groups.merge(g, d / 100.0 / secs, Double::sum);
      }
    });
    Map<String, Double> out = new LinkedHashMap<>();
    List<Map.Entry<String, Double>> sorted = new ArrayList<>(groups.entrySet());
    sorted.sort(Map.Entry.<String, Double>comparingByValue().reversed());
    double rest = 0;
    for (int i = 0; i < sorted.size(); i++) {
      if (i < top) {
        out.put(sorted.get(i).getKey(), Math.round(sorted.get(i).getValue() * 1000) / 1000.0);
      } else {
        rest += sorted.get(i).getValue();
      }
    }
    if (rest > 0) {
      out.put("rest", Math.round(rest * 1000) / 1000.0);
    }
    return out;
  }

  /** Scheduler statistics of the calling thread (for threads that end before anyone else could read them). */
  static Sched currentThread() {
    try {
      String[] f = Files.readString(Path.of("/proc/thread-self/schedstat")).trim().split("\\s+");
      return new Sched(1, Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]));
    } catch (IOException | RuntimeException e) {
      return new Sched(0, -1, -1, -1);
    }
  }

  /** Scheduler statistics summed over the threads whose kernel name starts with {@code namePrefix}. */
  static Sched sched(String namePrefix) {
    String prefix = namePrefix.length() > 15 ? namePrefix.substring(0, 15) : namePrefix;
    int n = 0;
    long cpu = 0;
    long wait = 0;
    long slices = 0;
    try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path t : (Iterable<Path>) tasks::iterator) {
        try {
          if (!Files.readString(t.resolve("comm")).trim().startsWith(prefix)) {
            continue;
          }
          List<String> f = List.of(Files.readString(t.resolve("schedstat")).trim().split("\\s+"));
          cpu += Long.parseLong(f.get(0));
          wait += Long.parseLong(f.get(1));
          slices += Long.parseLong(f.get(2));
          n++;
        } catch (IOException | RuntimeException ignored) {
          // the thread ended between list and read
        }
      }
    } catch (IOException | RuntimeException e) {
      return new Sched(0, -1, -1, -1);
    }
    return new Sched(n, cpu, wait, slices);
  }
}
