package io.lorastream.serde;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.InferenceRequest;
import io.lorastream.avro.LabeledExample;
import io.lorastream.avro.PipelineMetric;
import io.lorastream.avro.Prediction;
import io.lorastream.avro.RolloutCommand;
import io.lorastream.avro.RolloutState;
import io.lorastream.registry.SchemaRegistryClient;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/**
 * The configured value serdes of every lorastream record type, sharing one
 * {@link SchemaRegistryClient} (and so one schema cache). Services build one instance from their
 * registry settings and take serdes from it instead of configuring serdes by hand. Each accessor
 * returns the same serde instance on every call; the serdes are thread-safe.
 */
public final class LorastreamSerdes {
  private final Map<String, ?> configs;
  private final SchemaRegistryClient client;
  private final SpecificAvroSerde<LabeledExample> labeledExample;
  private final SpecificAvroSerde<AdapterSnapshot> adapterSnapshot;
  private final SpecificAvroSerde<InferenceRequest> inferenceRequest;
  private final SpecificAvroSerde<Prediction> prediction;
  private final SpecificAvroSerde<PipelineMetric> pipelineMetric;
  private final SpecificAvroSerde<RolloutCommand> rolloutCommand;
  private final SpecificAvroSerde<RolloutState> rolloutState;

  private LorastreamSerdes(Map<String, ?> configs) {
    // HashMap, not Map.copyOf: Kafka-style config maps may hold null values.
    this.configs = Collections.unmodifiableMap(new HashMap<>(configs));
    this.client = SchemaRegistryClient.fromConfig(configs);
    this.labeledExample = valueSerde(LabeledExample.class);
    this.adapterSnapshot = valueSerde(AdapterSnapshot.class);
    this.inferenceRequest = valueSerde(InferenceRequest.class);
    this.prediction = valueSerde(Prediction.class);
    this.pipelineMetric = valueSerde(PipelineMetric.class);
    this.rolloutCommand = valueSerde(RolloutCommand.class);
    this.rolloutState = valueSerde(RolloutState.class);
  }

  /**
   * Builds the serdes from registry and serde settings ({@code schema.registry.url} is required;
   * {@code auto.register.schemas}, {@code use.latest.version}, auth and TLS keys are honoured).
   */
  public static LorastreamSerdes create(Map<String, ?> registryConfigs) {
    return new LorastreamSerdes(registryConfigs);
  }

  public SpecificAvroSerde<LabeledExample> labeledExample() {
    return labeledExample;
  }

  public SpecificAvroSerde<AdapterSnapshot> adapterSnapshot() {
    return adapterSnapshot;
  }

  public SpecificAvroSerde<InferenceRequest> inferenceRequest() {
    return inferenceRequest;
  }

  public SpecificAvroSerde<Prediction> prediction() {
    return prediction;
  }

  public SpecificAvroSerde<PipelineMetric> pipelineMetric() {
    return pipelineMetric;
  }

  public SpecificAvroSerde<RolloutCommand> rolloutCommand() {
    return rolloutCommand;
  }

  public SpecificAvroSerde<RolloutState> rolloutState() {
    return rolloutState;
  }

  /** A new configured value serde for any generated class, sharing this instance's client. */
  public <T extends SpecificRecord> SpecificAvroSerde<T> valueSerde(Class<T> type) {
    SpecificAvroSerde<T> serde = new SpecificAvroSerde<>(type, client);
    serde.configure(configs, false);
    return serde;
  }

  /** A new configured generic value serde sharing this instance's client. */
  public GenericAvroSerde genericValueSerde() {
    GenericAvroSerde serde = new GenericAvroSerde(client);
    serde.configure(configs, false);
    return serde;
  }

  /** The shared registry client. */
  public SchemaRegistryClient client() {
    return client;
  }
}
