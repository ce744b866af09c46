/**
 * The {@code lorastream} command: {@code Main} and one picocli command per service or tool, the demo,
 * the Micrometer meters of each service ({@code *Meters}) and the settings check
 * ({@code KnownSettings}). Commands wire only: configuration comes from the typed config objects,
 * topologies from their {@code build} methods. May import every module.
 */
package io.lorastream.launcher;
