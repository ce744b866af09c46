/**
 * Layered configuration (defaults, file, {@code LORASTREAM_*} environment, flags) with sources for
 * error messages and the unknown-key check, and the settings every service shares
 * ({@code CommonConfig}). Imports only the topic catalog and Kafka client config names.
 */
package io.lorastream.config;
