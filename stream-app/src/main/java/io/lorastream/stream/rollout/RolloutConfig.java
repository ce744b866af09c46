package io.lorastream.stream.rollout;

import io.lorastream.avro.RolloutMode;
import io.lorastream.config.LayeredConfig;
import io.lorastream.config.SigningKey;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * Typed settings of rollouts ({@code rollout.*}), validated once at startup. {@code rollout.mode}
 * is read by the controller (the mode of an adapter no MODE command has set) and by every
 * inference consumer (what it serves for an adapter before the controller has written its state),
 * so both sides agree from the first snapshot: under gated or manual no version reaches users
 * before a decision. The key is a secret shared with whoever issues commands, and it must be the
 * key consumers check snapshots with, since they check states with it too; it is never printed.
 */
public final class RolloutConfig {
  public static final String MODE = "rollout.mode";
  public static final String CONTROLLER_ENABLED = "rollout.controller.enabled";
  public static final String CONTROLLER_ID = "rollout.controller.id";
  public static final String GATE_EXAMPLES = "rollout.gate.examples";
  public static final String GATE_MARGIN = "rollout.gate.margin";
  public static final String RETAINED_VERSIONS = "rollout.retained.versions";
  public static final String HMAC_KEY = "rollout.hmac.key";
  public static final String POLL_TIMEOUT_MS = "rollout.poll.timeout.ms";

  public static final Map<String, String> DEFAULTS = Map.of(
      MODE, "auto",
      CONTROLLER_ENABLED, "true",
      CONTROLLER_ID, "lorastream-rollout",
      GATE_EXAMPLES, "200",
      GATE_MARGIN, "0.02",
      RETAINED_VERSIONS, String.valueOf(RolloutRules.DEFAULT_RETAINED),
      POLL_TIMEOUT_MS, "50");

  private final RolloutMode mode;
  private final boolean controllerEnabled;
  private final String controllerId;
  private final int gateExamples;
  private final double gateMargin;
  private final int retainedVersions;
  private final byte[] hmacKey;
  private final Duration pollTimeout;

  private RolloutConfig(LayeredConfig c, String consumerKeySetting) {
    this.mode = mode(c);
    this.controllerEnabled = c.getBoolean(CONTROLLER_ENABLED);
    this.controllerId = c.get(CONTROLLER_ID).trim();
    if (!controllerId.matches("[A-Za-z0-9._-]+")) {
      throw c.invalid(CONTROLLER_ID, controllerId, "must be letters, digits, '.', '_' or '-' (it names the "
          + "controller's consumer group and transactional id)");
    }
    this.gateExamples = c.getInt(GATE_EXAMPLES, 1, 10_000_000);
    this.gateMargin = c.getDouble(GATE_MARGIN, 0.0, 1.0);
    this.retainedVersions = c.getInt(RETAINED_VERSIONS, 0, 1000);
    java.util.Optional<byte[]> own = SigningKey.fromConfig(c, HMAC_KEY,
        "every inference consumer and whoever runs lorastream adapters");
    // Consumers check states with the key they check snapshots with, so without a key of its own
    // the controller signs with that one: a pipeline that signs snapshots signs its rollouts too.
    this.hmacKey = own.isPresent() || consumerKeySetting == null || !c.has(consumerKeySetting) ? own.orElse(null)
        : SigningKey.fromConfig(c, consumerKeySetting, "the trainer and every inference consumer").orElse(null);
    this.pollTimeout = Duration.ofMillis(c.getLong(POLL_TIMEOUT_MS, 1, 10_000));
  }

  /**
   * Reads and validates every {@code rollout.*} setting; keys missing from {@code c} must be in
   * {@link #DEFAULTS}. Without {@value #HMAC_KEY}, the key of {@code consumerKeySetting} (the
   * consumers' snapshot key, {@code inference.hmac.key}) signs commands and states, when set.
   */
  public static RolloutConfig from(LayeredConfig c, String consumerKeySetting) {
    return new RolloutConfig(c, consumerKeySetting);
  }

  /** As {@link #from(LayeredConfig, String)} with no fallback key. */
  public static RolloutConfig from(LayeredConfig c) {
    return new RolloutConfig(c, null);
  }

  /** Only {@code rollout.mode}, for an inference consumer. */
  public static RolloutMode mode(LayeredConfig c) {
    String raw = c.get(MODE, DEFAULTS.get(MODE)).trim().toLowerCase(Locale.ROOT);
    try {
      return RolloutRules.parseMode(raw);
    } catch (IllegalArgumentException e) {
      throw c.invalid(MODE, raw, "must be auto (every valid snapshot serves at once), gated (the gate promotes a "
          + "candidate that scores within rollout.gate.margin of the active version on examples.eval) or manual "
          + "(an operator promotes with lorastream adapters promote)");
    }
  }

  public RolloutMode mode() {
    return mode;
  }

  public boolean controllerEnabled() {
    return controllerEnabled;
  }

  /** Base of the controller's consumer group and transactional id (before the topic prefix). */
  public String controllerId() {
    return controllerId;
  }

  public int gateExamples() {
    return gateExamples;
  }

  public double gateMargin() {
    return gateMargin;
  }

  public int retainedVersions() {
    return retainedVersions;
  }

  /** The shared key (a copy), or null when commands and states are not signed. */
  public byte[] hmacKey() {
    return hmacKey == null ? null : hmacKey.clone();
  }

  public Duration pollTimeout() {
    return pollTimeout;
  }

  @Override
  public String toString() {
    return "RolloutConfig{mode=" + mode + ", controller=" + controllerEnabled + ", id=" + controllerId
        + ", gate.examples=" + gateExamples + ", gate.margin=" + gateMargin + ", retained=" + retainedVersions
        + ", hmac=" + (hmacKey == null ? "none" : "<redacted>") + "}";
  }
}
