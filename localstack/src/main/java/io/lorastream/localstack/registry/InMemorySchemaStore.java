package io.lorastream.localstack.registry;

import java.util.ArrayList;
import java.util.List;

/**
 * A schema store that lives in memory, for unit tests and throw-away registries. Several registries
 * may use the same instance one after another, which simulates a restart without Kafka.
 */
public final class InMemorySchemaStore implements SchemaStore {
  private final List<StoreEntry> entries = new ArrayList<>();

  @Override
  public synchronized List<StoreEntry> replay() {
    return List.copyOf(entries);
  }

  @Override
  public synchronized void append(StoreEntry entry) {
    entries.add(entry);
  }

  @Override
  public void close() {
    // keeps the entries so that a later registry over this store sees them
  }
}
