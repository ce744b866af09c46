/**
 * The Schema Registry REST client (Confluent's API and error codes) and its exceptions, with the
 * outage test ({@code RegistryException.isOutage}) that tells "the registry is away" from "this
 * record is bad". Imports Jackson, Avro (schemas are Avro schemas) and the JDK HTTP client.
 */
package io.lorastream.registry;
