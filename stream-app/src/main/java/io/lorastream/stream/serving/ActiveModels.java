package io.lorastream.stream.serving;

import java.util.Optional;

/**
 * What the inference topology asks for each request: the model serving a task right now. One
 * call reads the active reference once, so everything computed from the returned instance comes
 * from one adapter version. Implemented by {@link AdapterSwapper} and {@link AdapterSubscriber}.
 */
public interface ActiveModels {
  /**
   * The active model for requests of {@code task}, or empty when this consumer does not serve that
   * task. An empty task means "this consumer's adapter".
   */
  Optional<ServingModel> forTask(String task);

  /**
   * The model for one request: as {@link #forTask}, except that a request in a canary's share
   * (by a stable hash of {@code requestId}) gets the candidate. Without rollouts, always active.
   */
  default Optional<AdapterSwapper.Routed> forRequest(String task, String requestId) {
    return forTask(task).map(m -> new AdapterSwapper.Routed(m, AdapterSwapper.Routed.ACTIVE));
  }
}
