package io.lorastream.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One headline number of the benchmark next to the reference it is judged against, both measured
 * in the same run on the same machine, and their ratio. {@code met} is null when the issue sets no
 * target for the figure; when a target is missed, {@code reason} carries the measured explanation
 * (a time breakdown, GC pauses, ...), never a guess.
 *
 * @param item issue item number (1-6)
 * @param name what is measured
 * @param value measured value
 * @param unit unit of value and reference
 * @param reference what the value is compared with
 * @param referenceValue the reference's measured value (NaN when the figure has none)
 * @param ratio value / referenceValue, or the figure's own ratio definition (see {@code ratioNote})
 * @param ratioNote how the ratio is defined, e.g. "value / reference" or "achieved / matmul peak"
 * @param target the target in words, or "" when there is none
 * @param met whether the target was met, null without a target
 * @param reason measured explanation, required when {@code met} is false
 */
record Figure(String item, String name, double value, String unit, String reference, double referenceValue,
    double ratio, String ratioNote, String target, Boolean met, String reason) {

  static Figure of(String item, String name, double value, String unit, String reference, double referenceValue) {
    return new Figure(item, name, value, unit, reference, referenceValue, Stats.ratio(value, referenceValue),
        "value / reference", "", null, "");
  }

  Figure withTarget(String target, boolean met, String reason) {
    return new Figure(item, name, value, unit, reference, referenceValue, ratio, ratioNote, target, met, reason);
  }

  Figure withRatio(double r, String note) {
    return new Figure(item, name, value, unit, reference, referenceValue, r, note, target, met, reason);
  }

  Figure withReason(String why) {
    return new Figure(item, name, value, unit, reference, referenceValue, ratio, ratioNote, target, met, why);
  }

  String status() {
    return met == null ? "-" : met ? "met" : "MISSED";
  }

  Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("item", item);
    m.put("name", name);
    m.put("value", Report.round(value));
    m.put("unit", unit);
    m.put("reference", reference);
    m.put("referenceValue", Report.round(referenceValue));
    m.put("ratio", Report.round(ratio));
    m.put("ratioDefinition", ratioNote);
    m.put("target", target);
    m.put("status", status());
    m.put("reason", reason);
    return m;
  }
}
