package io.lorastream.stream.ingest;

import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Production handler for lorastream's Kafka Streams apps. A record the broker refuses as too large
 * can never be written, so it is logged (with the input position that produced it) and skipped
 * rather than wedging the app in a crash loop; keeping {@code ingest.max.record.bytes} below the
 * broker's limit makes this unreachable for dead-lettered input. Retriable errors are retried.
 * Everything else, including serialization failures of our own outputs (for example a registry
 * outage), fails the task: the thread is replaced and, under exactly-once, the input re-read, so
 * nothing is lost silently.
 */
public final class ContinueOnOversizeHandler implements ProductionExceptionHandler {
  private static final Logger log = LoggerFactory.getLogger(ContinueOnOversizeHandler.class);

  @Override
  public Response handleError(ErrorHandlerContext context, ProducerRecord<byte[], byte[]> record, Exception exception) {
    if (exception instanceof RecordTooLargeException) {
      log.error("dropping a {}-byte record for topic {} produced from {}-{}@{}: {}",
          record.value() == null ? 0 : record.value().length, record.topic(), context.topic(), context.partition(),
          context.offset(), exception.getMessage());
      return Response.resume();
    }
    if (exception instanceof RetriableException) {
      return Response.retry();
    }
    return Response.fail();
  }

  @Override
  public Response handleSerializationError(ErrorHandlerContext context, ProducerRecord record, Exception exception,
      SerializationExceptionOrigin origin) {
    log.error("cannot serialize the {} of a record for topic {} produced from {}-{}@{}; failing the task", origin,
        record.topic(), context.topic(), context.partition(), context.offset(), exception);
    return Response.fail();
  }

  @Override
  public void configure(Map<String, ?> configs) {
    // nothing to configure
  }
}
