/**
 * {@code lorastream bench}: system benchmarks on the local cluster that print ratios measured in
 * the same run and write {@code bench.json} and {@code bench.md}. May import every module.
 */
package io.lorastream.bench;
