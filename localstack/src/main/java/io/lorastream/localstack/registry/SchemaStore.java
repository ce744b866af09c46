package io.lorastream.localstack.registry;

import java.util.List;

/**
 * Where an {@link EmbeddedSchemaRegistry} keeps its history. The registry replays the entries once
 * when it starts and appends each change before acknowledging it, so a store only has to be an
 * ordered, durable log. A store serves one registry at a time (single writer).
 */
public interface SchemaStore extends AutoCloseable {

  /** Every entry appended so far, oldest first. */
  List<StoreEntry> replay();

  /** Persists one entry; throws {@link StoreException} when it cannot, and then nothing changed. */
  void append(StoreEntry entry);

  @Override
  void close();
}
