package io.lorastream.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How busy the machine was, split into this JVM and everything else, from {@code /proc/stat} and
 * {@code /proc/self/stat}. A benchmark on a shared two-core machine is only as good as the cores
 * it actually got, so every section records the CPU other processes used while it ran; a section
 * that shared the machine with a build says so in the report instead of passing off a slow number
 * as lorastream's. Kernel ticks are 1/100 s (USER_HZ); off Linux every figure is NaN.
 */
final class CpuLoad {
  private static final double TICKS_PER_SECOND = 100.0;

  /**
   * A reading: wall time, busy ticks of all CPUs (steal included), ticks of this process (and its
   * waited-for children), and the ticks the hypervisor gave to other guests (steal).
   */
  record Snap(long nanos, long busyTicks, long ownTicks, long stealTicks) {}

  private CpuLoad() {
  }

  static Snap now() {
    long[] cpu = cpuTicks(); // one read of /proc/stat for both sums
    // busy: user nice system irq softirq steal; then steal alone
    return new Snap(System.nanoTime(), sum(cpu, 1, 2, 3, 6, 7, 8), ownTicks(), sum(cpu, 8));
  }

  /** Average cores used between two readings: by this JVM, by other processes, in all. */
  static Map<String, Object> between(Snap a, Snap b) {
    double secs = Math.max(1e-3, (b.nanos() - a.nanos()) / 1e9);
    double busy = (b.busyTicks() - a.busyTicks()) / TICKS_PER_SECOND / secs;
    double own = (b.ownTicks() - a.ownTicks()) / TICKS_PER_SECOND / secs;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("wallSeconds", Report.round(secs));
    m.put("coresBusy", Report.round(busy));
    m.put("coresThisJvm", Report.round(own));
    m.put("coresOtherProcesses", Report.round(Math.max(0, busy - own)));
    // Part of the above: time a virtual machine's CPUs were runnable but the host ran someone else.
    m.put("coresStolenByHypervisor", Report.round((b.stealTicks() - a.stealTicks()) / TICKS_PER_SECOND / secs));
    m.put("cores", Runtime.getRuntime().availableProcessors());
    return m;
  }

  static double otherCores(Snap a, Snap b) {
    Object v = between(a, b).get("coresOtherProcesses");
    return v == null ? Double.NaN : ((Number) v).doubleValue();
  }

  /** The fields of /proc/stat's first (all-CPU) line, the label at 0; null off Linux. */
  private static long[] cpuTicks() {
    try {
      String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      long[] out = new long[f.length];
      for (int i = 1; i < f.length; i++) {
        out[i] = Long.parseLong(f[i]);
      }
      return out;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** The sum of the given fields, -1 when /proc/stat could not be read or lacks one of them. */
  private static long sum(long[] ticks, int... fields) {
    if (ticks == null) {
      return -1;
    }
    long sum = 0;
    for (int i : fields) {
      if (i >= ticks.length) {
        return -1;
      }
      sum += ticks[i];
    }
    return sum;
  }

  private static long ownTicks() {
    try {
      String s = Files.readString(Path.of("/proc/self/stat"));
      String[] f = s.substring(s.lastIndexOf(')') + 2).trim().split("\\s+");
      // after the command name: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
      return Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
