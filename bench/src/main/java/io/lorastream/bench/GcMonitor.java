package io.lorastream.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * Records every stop-the-world collection of this JVM with its wall-clock interval, from the
 * GarbageCollectorMXBean notifications, so a slow sample (a late swap, a slow training window) can
 * be checked against the pauses that overlapped it instead of blaming GC by guesswork. Beans that
 * report concurrent cycles rather than pauses ({@code ZGC Cycles}, {@code Shenandoah Cycles},
 * {@code G1 Concurrent GC}) are recorded but flagged as not pausing.
 */
final class GcMonitor implements AutoCloseable {

  /** One collection: wall-clock start (epoch ms), duration (ms), and whether it stopped the application. */
  record Event(String collector, String action, String cause, long startEpochMs, long durationMs, boolean pause) {
    long endEpochMs() {
      return startEpochMs + durationMs;
    }
  }

  private final long jvmStartEpochMs = ManagementFactory.getRuntimeMXBean().getStartTime();
  private final List<Event> events = new ArrayList<>();
  private final Map<NotificationEmitter, NotificationListener> registered = new LinkedHashMap<>();

  GcMonitor start() {
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (gc instanceof NotificationEmitter emitter) {
        NotificationListener l = this::onNotification;
        emitter.addNotificationListener(l, null, null);
        registered.put(emitter, l);
      }
    }
    return this;
  }

  private void onNotification(Notification n, Object handback) {
    if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
      return;
    }
    GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
    String name = info.getGcName();
    boolean pause = !(name.contains("Cycles") || name.contains("Concurrent"));
    Event e = new Event(name, info.getGcAction(), info.getGcCause(), jvmStartEpochMs + info.getGcInfo().getStartTime(),
        info.getGcInfo().getDuration(), pause);
    synchronized (events) {
      events.add(e);
    }
  }

  /** Every collection recorded so far. */
  List<Event> events() {
    synchronized (events) {
      return List.copyOf(events);
    }
  }

  /** Pauses that overlap [fromMs, toMs] (epoch ms). */
  List<Event> pausesOverlapping(long fromMs, long toMs) {
    List<Event> out = new ArrayList<>();
    for (Event e : events()) {
      if (e.pause() && e.startEpochMs() <= toMs && e.endEpochMs() >= fromMs) {
        out.add(e);
      }
    }
    return out;
  }

  /** Pause count, total and longest pause (ms) within [fromMs, toMs], plus the collectors seen. */
  Map<String, Object> summary(long fromMs, long toMs) {
    List<Event> p = pausesOverlapping(fromMs, toMs);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("pauses", p.size());
    m.put("pauseTotalMs", p.stream().mapToLong(Event::durationMs).sum());
    m.put("pauseMaxMs", p.stream().mapToLong(Event::durationMs).max().orElse(0));
    m.put("collectors", p.stream().map(Event::collector).distinct().toList());
    double secs = Math.max(1e-3, (toMs - fromMs) / 1000.0);
    m.put("pauseFractionOfWall", Math.round(1e4 * p.stream().mapToLong(Event::durationMs).sum() / (secs * 1000)) / 1e4);
    return m;
  }

  /** Names of the collectors of this JVM (e.g. G1 Young Generation), for the report header. */
  static List<String> collectorNames() {
    return ManagementFactory.getGarbageCollectorMXBeans().stream().map(GarbageCollectorMXBean::getName).toList();
  }

  @Override
  public void close() {
    registered.forEach((emitter, l) -> {
      try {
        emitter.removeNotificationListener(l);
      } catch (ListenerNotFoundException ignored) {
        // already gone
      }
    });
    registered.clear();
  }
}
