package io.lorastream.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lorastream.pipeline.LocalPipeline;
import io.lorastream.pipeline.RunningTrainer;
import io.lorastream.trainer.AdapterTrainer;
import io.lorastream.trainer.TrainerListener;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Entry point of the child JVM that measures one trainer's memory on its own: the benchmark's own
 * JVM also hosts the broker, the registry and every other service, so its heap and RSS say nothing
 * about a trainer. The child runs one {@link AdapterTrainer} against the parent's embedded broker
 * until it has trained the requested examples, then prints one JSON line: heap peak (sampled
 * every 10 ms, and per memory pool as the JVM tracks it), non-heap peak, and the process's peak and
 * current RSS from /proc/self/status, next to its RSS before the trainer existed.
 *
 * <p>Arguments: {@code <examples> key=value...} (trainer and common settings).
 */
public final class TrainerMemoryProbe {
  private TrainerMemoryProbe() {
  }

  public static void main(String[] args) throws Exception {
    long rssAtStart = ProcInfo.statusKb("VmRSS");
    if (args.length < 1) {
      throw new IllegalArgumentException("usage: TrainerMemoryProbe <examples> key=value...");
    }
    Map<String, String> settings = new HashMap<>();
    for (int i = 1; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("setting '" + args[i] + "' is not key=value");
      }
      settings.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    long examples = Long.parseLong(args[0]);
    Map<String, Object> out = measure(examples, settings, rssAtStart);
    System.out.println(new ObjectMapper().writeValueAsString(out));
    System.exit(((Number) out.get("examplesTrained")).longValue() >= examples ? 0 : 1);
  }

  /** Runs one trainer until {@code examples} are trained and returns its memory figures. */
  static Map<String, Object> measure(long examples, Map<String, String> settings, long rssAtStart) throws Exception {
    AtomicLong heapPeak = new AtomicLong();
    Thread heapSampler = new Thread(() -> {
      var mem = ManagementFactory.getMemoryMXBean();
      while (!Thread.currentThread().isInterrupted()) {
        heapPeak.accumulateAndGet(mem.getHeapMemoryUsage().getUsed(), Math::max);
        try {
          TimeUnit.MILLISECONDS.sleep(10);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "probe-heap-sampler");
    heapSampler.setDaemon(true);
    heapSampler.start();
    long t0 = System.nanoTime();
    // The settings name the cluster (kafka.bootstrap.servers, registry.url) themselves.
    RunningTrainer running = LocalPipeline.of(settings).startTrainer(TrainerListener.NONE, "probe-trainer");
    AdapterTrainer trainer = running.trainer();
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (trainer.status().examplesSeen() < examples && running.isAlive() && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(20);
    }
    long trained = trainer.status().examplesSeen();
    double secs = (System.nanoTime() - t0) / 1e9;
    running.stop(Duration.ofSeconds(60));
    heapSampler.interrupt();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("examplesTrained", trained);
    out.put("wallSecondsIncludingStartup", secs);
    out.put("ranks", trainer.status().ranks());
    out.put("heapUsedPeakSampledBytes", heapPeak.get());
    long heapPools = 0;
    long nonHeapPools = 0;
    Map<String, Long> pools = new LinkedHashMap<>();
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      long peak = p.getPeakUsage() == null ? 0 : p.getPeakUsage().getUsed();
      pools.put(p.getName(), peak);
      if (p.getType() == MemoryType.HEAP) {
        heapPools += peak;
      } else {
        nonHeapPools += peak;
      }
    }
    out.put("heapPoolPeaksSumBytes", heapPools);
    out.put("nonHeapPoolPeaksSumBytes", nonHeapPools);
    out.put("poolPeaksBytes", pools);
    out.put("heapCommittedBytes", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted());
    out.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
    out.put("rssAtStartKb", rssAtStart);
    out.put("rssPeakKb", ProcInfo.statusKb("VmHWM"));
    out.put("rssEndKb", ProcInfo.statusKb("VmRSS"));
    out.put("gc", GcMonitor.collectorNames());
    out.put("failure", trainer.failure().map(Throwable::toString).orElse(null));
    return out;
  }
}
