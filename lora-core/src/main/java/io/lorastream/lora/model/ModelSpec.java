package io.lorastream.lora.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.List;

/**
 * Shape of a base model, in one of three families. Serialized as JSON inside the base-model file,
 * so field names are part of that format; the text-model fields are omitted when zero, so an
 * {@code mlp} spec serializes exactly as it always did. Invalid specs fail at construction with a
 * message naming the field.
 *
 * <ul>
 *   <li>{@code mlp}: dense features of width {@code inputSize}; Linear+ReLU layers
 *       {@code fc0..fc(H-1)} and a linear {@code head}.
 *   <li>{@code embbag}: a row of {@code inputSize} (= seqLen) token ids; embedding (vocabSize x
 *       dModel), masked mean over the non-PAD tokens, then {@code fc0..} + {@code head} as the MLP.
 *   <li>{@code transformer}: a row of seqLen token ids; token + learned position embeddings, then
 *       {@code layers} post-LN encoder layers (multi-head self-attention with linears
 *       {@code l{i}.q/k/v/o}, residual, LayerNorm, ReLU FFN {@code l{i}.ff1/ff2}, residual,
 *       LayerNorm), masked mean pooling and a linear {@code head}.
 * </ul>
 *
 * Token rows hold ids as floats (exact integers); id 0 is PAD and real tokens are in [1, vocabSize).
 *
 * @param kind model family: {@code mlp}, {@code embbag}, {@code transformer} or {@code bert}
 * @param inputSize width of an input row: features (mlp) or seqLen token ids (text kinds)
 * @param hiddenSizes widths of the hidden layers (mlp, embbag; may be empty); empty for transformer
 * @param numClasses number of output classes (at least 2)
 * @param seed seed of the random initialization
 * @param vocabSize vocabulary size including PAD (text kinds; 0 for mlp)
 * @param dModel embedding / model width (text kinds; 0 for mlp)
 * @param heads attention heads (transformer; divides dModel; 0 otherwise)
 * @param layers encoder layers (transformer; 0 otherwise)
 * @param ffnSize feed-forward width (transformer; 0 otherwise)
 */
public record ModelSpec(
    String kind,
    int inputSize,
    List<Integer> hiddenSizes,
    int numClasses,
    long seed,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT) int vocabSize,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT) int dModel,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT) int heads,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT) int layers,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT) int ffnSize,
    @JsonInclude(JsonInclude.Include.NON_NULL) String pooling) {

  /** Dense-feature MLP. */
  public static final String MLP = "mlp";
  /** Embedding-bag MLP over token ids. */
  public static final String EMBBAG = "embbag";
  /** Transformer encoder classifier over token ids. */
  public static final String TRANSFORMER = "transformer";
  /**
   * A BERT-family encoder (BERT, MiniLM): the transformer's layout plus a token-type embedding
   * (type 0) and a LayerNorm on the embeddings, a GELU (erf) feed-forward, LayerNorm epsilon 1e-12,
   * and {@code pooling} mean (over non-PAD tokens) or cls (the first token).
   */
  public static final String BERT = "bert";
  /** Pooling of a bert encoder: masked mean over the non-PAD tokens. */
  public static final String POOL_MEAN = "mean";
  /** Pooling of a bert encoder: the hidden state of the first token ([CLS]). */
  public static final String POOL_CLS = "cls";

  /** Token ids travel as float32, which holds every integer below 2^24 exactly. */
  public static final int MAX_VOCAB = 1 << 24;

  public ModelSpec {
    if (!MLP.equals(kind) && !EMBBAG.equals(kind) && !TRANSFORMER.equals(kind) && !BERT.equals(kind)) {
      throw new IllegalArgumentException("ModelSpec.kind must be \"mlp\", \"embbag\", \"transformer\" or \"bert\", got \""
          + kind + "\"");
    }
    if (BERT.equals(kind)) {
      pooling = pooling == null ? POOL_MEAN : pooling;
      if (!POOL_MEAN.equals(pooling) && !POOL_CLS.equals(pooling)) {
        throw new IllegalArgumentException("ModelSpec.pooling must be \"mean\" or \"cls\", got \"" + pooling + "\"");
      }
    } else if (pooling != null) {
      throw new IllegalArgumentException("ModelSpec.pooling is only for kind bert, got " + pooling + " for " + kind);
    }
    if (inputSize <= 0) {
      throw new IllegalArgumentException("ModelSpec." + (MLP.equals(kind) ? "inputSize" : "seqLen (inputSize)")
          + " must be > 0, got " + inputSize);
    }
    hiddenSizes = List.copyOf(hiddenSizes == null ? List.of() : hiddenSizes);
    for (int h : hiddenSizes) {
      if (h <= 0) {
        throw new IllegalArgumentException("ModelSpec.hiddenSizes must all be > 0, got " + hiddenSizes);
      }
    }
    if (numClasses < 2) {
      throw new IllegalArgumentException("ModelSpec.numClasses must be >= 2, got " + numClasses);
    }
    switch (kind) {
      case MLP -> {
        requireZero(kind, "vocabSize", vocabSize);
        requireZero(kind, "dModel", dModel);
        requireZero(kind, "heads", heads);
        requireZero(kind, "layers", layers);
        requireZero(kind, "ffnSize", ffnSize);
      }
      case EMBBAG -> {
        requireVocab(vocabSize);
        requirePositive("dModel", dModel);
        requireZero(kind, "heads", heads);
        requireZero(kind, "layers", layers);
        requireZero(kind, "ffnSize", ffnSize);
      }
      default -> {
        requireVocab(vocabSize);
        requirePositive("dModel", dModel);
        requirePositive("heads", heads);
        requirePositive("layers", layers);
        requirePositive("ffnSize", ffnSize);
        if (dModel % heads != 0) {
          throw new IllegalArgumentException("ModelSpec.heads (" + heads + ") must divide dModel (" + dModel + ")");
        }
        if (!hiddenSizes.isEmpty()) {
          throw new IllegalArgumentException("ModelSpec.hiddenSizes must be empty for a transformer, got " + hiddenSizes);
        }
      }
    }
  }

  /** Every field but pooling (all kinds but bert, whose pooling then defaults to mean). */
  public ModelSpec(String kind, int inputSize, List<Integer> hiddenSizes, int numClasses, long seed, int vocabSize,
      int dModel, int heads, int layers, int ffnSize) {
    this(kind, inputSize, hiddenSizes, numClasses, seed, vocabSize, dModel, heads, layers, ffnSize, null);
  }

  /** The original 5-field form; only valid for {@code mlp}. */
  public ModelSpec(String kind, int inputSize, List<Integer> hiddenSizes, int numClasses, long seed) {
    this(kind, inputSize, hiddenSizes, numClasses, seed, 0, 0, 0, 0, 0, null);
  }

  private static void requireZero(String kind, String field, int v) {
    if (v != 0) {
      throw new IllegalArgumentException("ModelSpec." + field + " must be 0 (unset) for kind " + kind + ", got " + v);
    }
  }

  private static void requirePositive(String field, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException("ModelSpec." + field + " must be > 0, got " + v);
    }
  }

  private static void requireVocab(int v) {
    if (v < 2 || v > MAX_VOCAB) {
      throw new IllegalArgumentException("ModelSpec.vocabSize must be in [2, 2^24] (id 0 is PAD), got " + v);
    }
  }

  /** An MLP spec. */
  public static ModelSpec mlp(int inputSize, List<Integer> hiddenSizes, int numClasses, long seed) {
    return new ModelSpec(MLP, inputSize, hiddenSizes, numClasses, seed);
  }

  /** The demo base: 32 inputs, two hidden layers of 64, 6 classes (matches the default drift stream). */
  public static ModelSpec demoDefault(long seed) {
    return mlp(32, List.of(64, 64), 6, seed);
  }

  /**
   * A transformer encoder classifier over rows of {@code seqLen} token ids.
   *
   * @param vocab vocabulary size including PAD (id 0)
   * @param seqLen tokens per row (the input width)
   * @param d model width
   * @param heads attention heads (must divide d)
   * @param layers encoder layers
   * @param ffn feed-forward width
   * @param classes output classes
   */
  public static ModelSpec transformer(int vocab, int seqLen, int d, int heads, int layers, int ffn, int classes, long seed) {
    return new ModelSpec(TRANSFORMER, seqLen, List.of(), classes, seed, vocab, d, heads, layers, ffn);
  }

  /**
   * A BERT-family encoder classifier over rows of {@code seqLen} token ids (see {@link #BERT}).
   *
   * @param pooling {@link #POOL_MEAN} or {@link #POOL_CLS}
   */
  public static ModelSpec bert(int vocab, int seqLen, int d, int heads, int layers, int ffn, int classes, String pooling,
      long seed) {
    return new ModelSpec(BERT, seqLen, List.of(), classes, seed, vocab, d, heads, layers, ffn, pooling);
  }

  /** Whether this is an encoder (transformer or bert): attention blocks, not an MLP. */
  @JsonIgnore
  public boolean encoder() {
    return TRANSFORMER.equals(kind) || BERT.equals(kind);
  }

  /**
   * An embedding-bag MLP: embedding (vocab x d), masked mean over the row's tokens, then
   * {@code fc0..} (ReLU) and {@code head}.
   */
  public static ModelSpec embeddingBag(int vocab, int seqLen, int d, List<Integer> hiddenSizes, int classes, long seed) {
    return new ModelSpec(EMBBAG, seqLen, hiddenSizes, classes, seed, vocab, d, 0, 0, 0);
  }

  /** Whether rows are token ids (embbag, transformer) rather than dense features. */
  @JsonIgnore
  public boolean tokenInput() {
    return !MLP.equals(kind);
  }

  /** Tokens per row for text kinds (= inputSize). */
  @JsonIgnore
  public int seqLen() {
    return inputSize;
  }

  /**
   * Linear layers in forward order. mlp/embbag: fc0..fc(H-1), head. transformer: per layer i
   * {@code l{i}.q, l{i}.k, l{i}.v, l{i}.o} (d x d), {@code l{i}.ff1} (d -> ffn), {@code l{i}.ff2}
   * (ffn -> d), then {@code head} (d -> classes).
   */
  public List<LayerInfo> linearLayers() {
    List<LayerInfo> out = new ArrayList<>();
    if (encoder()) {
      for (int i = 0; i < layers; i++) {
        for (String p : ATTENTION) {
          out.add(new LayerInfo("l" + i + "." + p, dModel, dModel));
        }
        out.add(new LayerInfo("l" + i + ".ff1", dModel, ffnSize));
        out.add(new LayerInfo("l" + i + ".ff2", ffnSize, dModel));
      }
      out.add(new LayerInfo("head", dModel, numClasses));
      return List.copyOf(out);
    }
    int in = MLP.equals(kind) ? inputSize : dModel;
    for (int i = 0; i < hiddenSizes.size(); i++) {
      out.add(new LayerInfo("fc" + i, in, hiddenSizes.get(i)));
      in = hiddenSizes.get(i);
    }
    out.add(new LayerInfo("head", in, numClasses));
    return List.copyOf(out);
  }

  /**
   * The token-embedding table as a LoRA target (text kinds): it acts as a linear layer on one-hot
   * token vectors, so W = E^T has in = vocabSize and out = dModel, A is (r, vocabSize) and B
   * (dModel, r), PEFT's {@code lora_embedding_A/B} layouts. The forward adds
   * {@code s * A^T[id] B^T} to each token's embedding.
   */
  public static final String EMBEDDING_LAYER = "emb";

  /**
   * Layers a LoRA adapter can target: {@link #linearLayers()} in forward order, then, for text
   * kinds, the token-embedding table {@link #EMBEDDING_LAYER} (vocabSize -> dModel).
   */
  public List<LayerInfo> adaptableLayers() {
    List<LayerInfo> out = new ArrayList<>(linearLayers());
    if (tokenInput()) {
      out.add(new LayerInfo(EMBEDDING_LAYER, vocabSize, dModel));
    }
    return List.copyOf(out);
  }

  private static final String[] ATTENTION = {"q", "k", "v", "o"};

  /** Linear layers per transformer encoder layer, in {@link #linearLayers()} order. */
  static final int LINEARS_PER_BLOCK = 6;

  /**
   * Every parameter tensor in the canonical order used by the base-model file and the fingerprint
   * (see {@link BaseModel}): mlp {@code fc0.weight, fc0.bias, ..., head.bias}; embbag {@code emb}
   * then the same; transformer {@code tok_emb, pos_emb} (bert also {@code type_emb, emb_ln.gamma,
   * emb_ln.beta}), then per layer i {@code l{i}.q.weight,
   * l{i}.q.bias, ...k, v, o..., l{i}.ln1.gamma, l{i}.ln1.beta, l{i}.ff1.weight, l{i}.ff1.bias,
   * l{i}.ff2.weight, l{i}.ff2.bias, l{i}.ln2.gamma, l{i}.ln2.beta}, then {@code head.weight,
   * head.bias}. Linear weights have shape (out, in).
   */
  List<TensorSpec> tensors() {
    List<LayerInfo> lin = linearLayers();
    List<TensorSpec> out = new ArrayList<>();
    if (EMBBAG.equals(kind)) {
      out.add(TensorSpec.other("emb", TensorSpec.Init.EMBEDDING_BAG, vocabSize, dModel));
    }
    if (encoder()) {
      out.add(TensorSpec.other("tok_emb", TensorSpec.Init.EMBEDDING, vocabSize, dModel));
      out.add(TensorSpec.other("pos_emb", TensorSpec.Init.EMBEDDING, inputSize, dModel));
      if (BERT.equals(kind)) {
        out.add(TensorSpec.other("type_emb", TensorSpec.Init.EMBEDDING, 1, dModel)); // token type 0 only
        out.add(TensorSpec.other("emb_ln.gamma", TensorSpec.Init.ONES, dModel));
        out.add(TensorSpec.other("emb_ln.beta", TensorSpec.Init.ZEROS, dModel));
      }
      for (int i = 0; i < layers; i++) {
        int first = i * LINEARS_PER_BLOCK;
        for (int j = 0; j < 4; j++) {
          addLinear(out, lin, first + j, TensorSpec.Init.XAVIER);
        }
        out.add(TensorSpec.other("l" + i + ".ln1.gamma", TensorSpec.Init.ONES, dModel));
        out.add(TensorSpec.other("l" + i + ".ln1.beta", TensorSpec.Init.ZEROS, dModel));
        addLinear(out, lin, first + 4, TensorSpec.Init.HE);
        addLinear(out, lin, first + 5, TensorSpec.Init.XAVIER);
        out.add(TensorSpec.other("l" + i + ".ln2.gamma", TensorSpec.Init.ONES, dModel));
        out.add(TensorSpec.other("l" + i + ".ln2.beta", TensorSpec.Init.ZEROS, dModel));
      }
      addLinear(out, lin, lin.size() - 1, TensorSpec.Init.HEAD);
      return List.copyOf(out);
    }
    for (int i = 0; i < lin.size(); i++) {
      addLinear(out, lin, i, i == lin.size() - 1 ? TensorSpec.Init.HEAD : TensorSpec.Init.HE);
    }
    return List.copyOf(out);
  }

  private static void addLinear(List<TensorSpec> out, List<LayerInfo> lin, int layer, TensorSpec.Init init) {
    LayerInfo l = lin.get(layer);
    out.add(new TensorSpec(l.name() + ".weight", new int[] {l.out(), l.in()}, layer, true, init));
    out.add(new TensorSpec(l.name() + ".bias", new int[] {l.out()}, layer, false, TensorSpec.Init.ZEROS));
  }
}
