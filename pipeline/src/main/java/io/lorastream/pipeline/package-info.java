/**
 * {@code LocalPipeline}: every service's settings layered once (defaults, the cluster's addresses,
 * a topic prefix, overrides), the catalog topics, and the services started in this process.
 * Imports the services' modules; never the broker (localstack).
 */
package io.lorastream.pipeline;
