package io.lorastream.experiment.data;

/** Where an email's stream timestamp came from; see {@link EmailParser} for the fallback order. */
public enum DateSource {
  /** The RFC 822 {@code Date} header parsed and fell inside the plausible window. */
  DATE_HEADER,
  /** The mbox {@code From } separator line's asctime timestamp, read as UTC. */
  MBOX_FROM_LINE,
  /** Neither was usable: the email keeps its corpus position by inheriting a neighbour's time. */
  INHERITED
}
