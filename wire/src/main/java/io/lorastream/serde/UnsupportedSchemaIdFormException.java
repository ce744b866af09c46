package io.lorastream.serde;

import org.apache.kafka.common.errors.SerializationException;

/** A record names its schema in a form the serdes do not read (see {@link SchemaRef}); the message names it. */
public final class UnsupportedSchemaIdFormException extends SerializationException {
  private static final long serialVersionUID = 1L;

  public UnsupportedSchemaIdFormException(String message) {
    super(message);
  }
}
