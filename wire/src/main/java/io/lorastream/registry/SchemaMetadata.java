package io.lorastream.registry;

/**
 * One registered version of a subject as the registry reports it: subject, global schema id,
 * version within the subject and the schema text.
 */
public record SchemaMetadata(String subject, int id, int version, String schema) {
}
