package io.lorastream.stream.ingest;

/**
 * What a valid example of one task looks like: the feature kind the task's model consumes, its
 * input size and its number of classes. For {@link FeatureKind#DENSE} tasks {@code inputSize} is
 * the exact length of the feature vector; for {@link FeatureKind#TOKENS} tasks it is the
 * vocabulary size (every token id must lie in {@code [0, inputSize)}) and the sequence length is
 * only bounded by {@code ingest.max.tokens}.
 */
public record TaskSpec(int inputSize, int numClasses, FeatureKind featureKind) {

  /** Which of the two feature arrays of a LabeledExample the task's model reads. */
  public enum FeatureKind { DENSE, TOKENS }

  public TaskSpec {
    if (inputSize < 1) {
      throw new IllegalArgumentException("inputSize must be >= 1, was " + inputSize);
    }
    if (numClasses < 2) {
      throw new IllegalArgumentException("numClasses must be >= 2, was " + numClasses);
    }
    if (featureKind == null) {
      throw new IllegalArgumentException("featureKind is required");
    }
  }
}
