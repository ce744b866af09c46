package io.lorastream.stream.ingest;

/**
 * Names of the cumulative counters the ingest topology publishes to the {@code metrics} topic as
 * {@code PipelineMetric} records (key and task empty: they are service-wide). Each stream task
 * counts the records of its own input partition and tags every metric with {@code partition};
 * the latest value per (name, partition[, reason]) summed over partitions is the total. Because
 * counters live in a changelogged store updated in the same exactly-once transaction as the
 * outputs, {@code ingest.processed == ingest.valid + ingest.dlq + ingest.duplicates} and
 * {@code ingest.valid == ingest.train + ingest.holdout} hold exactly.
 */
public final class IngestMetrics {
  /** Every record read from examples.raw. */
  public static final String PROCESSED = "ingest.processed";
  /** Valid, first-seen examples (train + holdout). */
  public static final String VALID = "ingest.valid";
  /** Valid examples routed to examples.train. */
  public static final String TRAIN = "ingest.train";
  /** Valid examples routed to examples.eval (holdout, never trained). */
  public static final String HOLDOUT = "ingest.holdout";
  /** Valid examples dropped because their id was seen within the dedupe window. */
  public static final String DUPLICATES = "ingest.duplicates";
  /** Records dead-lettered, all reasons. */
  public static final String DLQ = "ingest.dlq";
  /** Records dead-lettered per reason; carries tag {@link #TAG_REASON}. */
  public static final String DLQ_BY_REASON = "ingest.dlq.reason";

  public static final String TAG_PARTITION = "partition";
  public static final String TAG_REASON = "reason";
  public static final String TAG_STREAM_TASK = "stream.task";

  private IngestMetrics() {
  }
}
