package io.lorastream.trainer;

import org.apache.kafka.common.KafkaException;

/**
 * The {@link FaultInjector} as both trainer threads reach it. A fault that is not a KafkaException
 * simulates a crash of the whole trainer, so from then on every fault point on either thread
 * rethrows that same fault without consulting the injector again: the instance dies once, of that
 * fault, as a killed process would.
 */
final class FaultPoints {
  private final FaultInjector injector;
  private Throwable fatal; // guarded by this

  FaultPoints(FaultInjector injector) {
    this.injector = injector == null ? FaultInjector.NONE : injector;
  }

  synchronized void at(String point) {
    if (fatal instanceof RuntimeException re) {
      throw re;
    }
    if (fatal instanceof Error err) {
      throw err;
    }
    try {
      injector.at(point);
    } catch (KafkaException e) {
      throw e; // an abortable or fencing error: the trainer handles it and lives on
    } catch (RuntimeException | Error e) {
      fatal = e;
      throw e;
    }
  }
}
