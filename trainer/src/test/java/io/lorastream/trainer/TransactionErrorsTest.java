package io.lorastream.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import io.lorastream.trainer.TransactionErrors.Kind;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionAbortableException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.junit.jupiter.api.Test;

class TransactionErrorsTest {
  @Test
  void fencingIsRecognisedEvenWhenWrapped() {
    assertThat(TransactionErrors.classify(new ProducerFencedException("x"))).isEqualTo(Kind.FENCED);
    assertThat(TransactionErrors.classify(new InvalidProducerEpochException("x"))).isEqualTo(Kind.FENCED);
    assertThat(TransactionErrors.classify(new KafkaException("commit failed", new ProducerFencedException("x"))))
        .isEqualTo(Kind.FENCED);
  }

  @Test
  void credentialsAclsAndOversizedSnapshotsAreFatal() {
    assertThat(TransactionErrors.classify(new SaslAuthenticationException("x"))).isEqualTo(Kind.FATAL);
    assertThat(TransactionErrors.classify(new TransactionalIdAuthorizationException("x"))).isEqualTo(Kind.FATAL);
    assertThat(TransactionErrors.classify(new KafkaException(new TopicAuthorizationException("x")))).isEqualTo(Kind.FATAL);
    assertThat(TransactionErrors.classify(new KafkaException(new RecordTooLargeException("x")))).isEqualTo(Kind.FATAL);
  }

  @Test
  void timeoutsAreRetriedAndEverythingElseIsAborted() {
    assertThat(TransactionErrors.classify(new TimeoutException("x"))).isEqualTo(Kind.TIMEOUT);
    assertThat(TransactionErrors.classify(new TransactionAbortableException("x"))).isEqualTo(Kind.ABORTABLE);
    assertThat(TransactionErrors.classify(new InvalidTxnStateException("x"))).isEqualTo(Kind.ABORTABLE);
    assertThat(TransactionErrors.classify(new KafkaException("x", new TimeoutException("y")))).isEqualTo(Kind.ABORTABLE);
  }
}
