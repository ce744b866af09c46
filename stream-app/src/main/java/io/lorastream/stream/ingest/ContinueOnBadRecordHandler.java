package io.lorastream.stream.ingest;

import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deserialization handler for lorastream's Kafka Streams apps: a record that cannot be decoded is
 * logged with its position and skipped (Kafka Streams counts it in its dropped-records metric), so
 * one bad record never stops a topology. A schema registry outage is the exception: failing then
 * lets the thread be replaced and the record read again, instead of skipping good data because a
 * dependency was briefly down. The ingest topology itself reads raw bytes and never reaches this.
 */
public final class ContinueOnBadRecordHandler implements DeserializationExceptionHandler {
  private static final Logger log = LoggerFactory.getLogger(ContinueOnBadRecordHandler.class);

  @Override
  public Response handleError(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record, Exception exception) {
    if (ExampleValidator.isOutage(exception)) {
      log.error("schema registry unavailable while decoding {}-{}@{}; failing so the record is retried",
          context.topic(), context.partition(), context.offset(), exception);
      return Response.fail();
    }
    log.warn("skipping undecodable record {}-{}@{}: {}", context.topic(), context.partition(), context.offset(),
        exception.toString());
    return Response.resume();
  }

  @Override
  public void configure(Map<String, ?> configs) {
    // nothing to configure
  }
}
