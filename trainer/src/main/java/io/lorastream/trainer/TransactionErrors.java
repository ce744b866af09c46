package io.lorastream.trainer;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * Decides what a failed transactional operation means for the trainer. Kafka wraps the real cause
 * (e.g. a fenced epoch surfacing from {@code commitTransaction} as a {@link KafkaException}), so the
 * whole cause chain is inspected. FENCED: a newer trainer with the same transactional.id took over,
 * this one must stop without touching anything. FATAL: retrying cannot help (credentials, ACLs,
 * protocol, a snapshot larger than the broker accepts). TIMEOUT: the operation's outcome is
 * unknown but retrying the same call is allowed. ABORTABLE: abort, roll back to the last committed
 * snapshot and carry on.
 */
public final class TransactionErrors {
  /** How to react to a failure. */
  public enum Kind { FENCED, FATAL, TIMEOUT, ABORTABLE }

  private TransactionErrors() {
  }

  public static Kind classify(KafkaException e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
        return Kind.FENCED;
      }
    }
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof AuthenticationException || t instanceof AuthorizationException
          || t instanceof UnsupportedVersionException || t instanceof RecordTooLargeException
          || t instanceof org.apache.kafka.common.config.ConfigException) {
        return Kind.FATAL;
      }
    }
    return e instanceof TimeoutException ? Kind.TIMEOUT : Kind.ABORTABLE;
  }
}
