package io.lorastream.localstack.registry;

import io.lorastream.registry.CompatibilityLevel;

/**
 * One durable change to the registry's state. The registry is the fold of its entries in order,
 * which is what lets a restarted registry rebuild the exact same ids and versions from the
 * {@code _schemas} topic.
 */
public sealed interface StoreEntry {

  /** A version of a subject: created, or re-written with {@code deleted=true} (soft delete). */
  record SchemaVersion(String subject, int version, int id, String schema, boolean deleted) implements StoreEntry {
  }

  /** A version removed for good (permanent delete). */
  record SchemaVersionRemoved(String subject, int version) implements StoreEntry {
  }

  /** A compatibility level set ({@code level} non-null) or cleared; {@code subject} null means global. */
  record Config(String subject, CompatibilityLevel level) implements StoreEntry {
  }
}
