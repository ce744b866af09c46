/**
 * The experiment harness ({@code lorastream experiment spam|drift}): workloads, variants, the runner
 * that drives each variant through the real ingest and trainer on a local cluster, and the report.
 * May import every lorastream module, {@code localstack} included; no service imports it.
 */
package io.lorastream.experiment;
