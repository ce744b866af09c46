package io.lorastream.stream.serving;

/**
 * Told each time an adapter version becomes active in a consumer, on the subscriber's own thread
 * right after the swap (so keep it cheap and non-blocking). The demo and the benchmark use it to
 * measure rollout latency from snapshot commit to active. Exceptions it throws are logged and
 * otherwise ignored: a listener can never stop serving.
 */
@FunctionalInterface
public interface SwapListener {
  /**
   * @param adapterId adapter that swapped
   * @param version version now active
   * @param activatedAtMillis epoch millis at which the new version became visible to requests
   */
  void onSwap(String adapterId, long version, long activatedAtMillis);
}
