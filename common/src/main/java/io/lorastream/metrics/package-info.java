/**
 * The operational endpoint of every service: {@code /metrics} (Prometheus) and {@code /health},
 * {@code /health/ready}, {@code /health/live}. Imports Micrometer and Jackson only.
 */
package io.lorastream.metrics;
