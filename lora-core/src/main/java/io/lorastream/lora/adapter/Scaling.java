package io.lorastream.lora.adapter;

/**
 * How a layer's LoRA update is scaled: {@code s = alpha/r} (STANDARD, as in the LoRA paper) or
 * {@code s = alpha/sqrt(r)} (RSLORA, rank-stabilized, so larger ranks are not damped). The math's
 * own type: the snapshot codec maps it to and from the wire's {@code Scaling} by name.
 */
public enum Scaling {
  STANDARD,
  RSLORA
}
