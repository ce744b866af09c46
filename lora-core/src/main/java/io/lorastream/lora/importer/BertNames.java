package io.lorastream.lora.importer;

import io.lorastream.lora.model.ModelSpec;

/**
 * The one table between a {@code bert} base's names and those of the Hugging Face
 * {@code BertModel} it was imported from: parameters ({@code l3.q.weight} is
 * {@code encoder.layer.3.attention.self.query.weight}) and adaptable layers ({@code l3.q} is the
 * module {@code encoder.layer.3.attention.self.query}, {@code emb} is
 * {@code embeddings.word_embeddings}). The importer reads through it, the PEFT export and import
 * name modules through it, so the three cannot disagree. The classification head lorastream adds
 * has no counterpart.
 */
public final class BertNames {
  /** The word-embedding module, the Hugging Face counterpart of {@link ModelSpec#EMBEDDING_LAYER}. */
  public static final String WORD_EMBEDDINGS = "embeddings.word_embeddings";

  private static final String[][] BLOCK_LINEARS = {{"q", "attention.self.query"}, {"k", "attention.self.key"},
      {"v", "attention.self.value"}, {"o", "attention.output.dense"}, {"ff1", "intermediate.dense"},
      {"ff2", "output.dense"}};
  private static final String[][] EMBEDDINGS = {{"tok_emb", WORD_EMBEDDINGS + ".weight"},
      {"pos_emb", "embeddings.position_embeddings.weight"}, {"type_emb", "embeddings.token_type_embeddings.weight"},
      {"emb_ln.gamma", "embeddings.LayerNorm.weight"}, {"emb_ln.beta", "embeddings.LayerNorm.bias"}};

  private BertNames() {
  }

  /**
   * The Hugging Face module of an adaptable layer ({@code l{i}.q|k|v|o|ff1|ff2} or {@code emb}).
   *
   * @throws IllegalArgumentException for the head (lorastream's own) or an unknown name
   */
  public static String module(String layer) {
    if (layer.equals(ModelSpec.EMBEDDING_LAYER)) {
      return WORD_EMBEDDINGS;
    }
    int dot = layer.indexOf('.');
    if (layer.equals("head")) {
      throw new IllegalArgumentException("layer head has no Hugging Face counterpart (lorastream's own classification "
          + "head)");
    }
    if (layer.startsWith("l") && dot > 1) {
      String suffix = layer.substring(dot + 1);
      for (String[] m : BLOCK_LINEARS) {
        if (m[0].equals(suffix)) {
          return "encoder.layer." + Integer.parseInt(layer.substring(1, dot)) + "." + m[1];
        }
      }
    }
    throw new IllegalArgumentException("unknown bert layer '" + layer + "'");
  }

  /** The adaptable layer of a Hugging Face module path (a model prefix such as {@code bert.} is dropped), or null. */
  public static String layer(String module) {
    int at = Math.max(module.indexOf("encoder.layer."), module.indexOf(WORD_EMBEDDINGS));
    if (at < 0 || at > 0 && module.charAt(at - 1) != '.') {
      return null;
    }
    String m = module.substring(at);
    if (m.equals(WORD_EMBEDDINGS)) {
      return ModelSpec.EMBEDDING_LAYER;
    }
    String rest = m.substring("encoder.layer.".length());
    int dot = rest.indexOf('.');
    if (dot <= 0 || !rest.substring(0, dot).chars().allMatch(Character::isDigit)) {
      return null;
    }
    for (String[] l : BLOCK_LINEARS) {
      if (rest.substring(dot + 1).equals(l[1])) {
        return "l" + Integer.parseInt(rest.substring(0, dot)) + "." + l[0];
      }
    }
    return null;
  }

  /**
   * The Hugging Face parameter of a base tensor ({@code l2.ln1.gamma} is
   * {@code encoder.layer.2.attention.output.LayerNorm.weight}).
   *
   * @throws IllegalArgumentException for the head's tensors or an unknown name
   */
  public static String parameter(String tensor) {
    for (String[] e : EMBEDDINGS) {
      if (e[0].equals(tensor)) {
        return e[1];
      }
    }
    int last = tensor.lastIndexOf('.');
    if (last < 0) {
      throw new IllegalArgumentException("unknown bert tensor '" + tensor + "'");
    }
    String owner = tensor.substring(0, last);
    String part = tensor.substring(last + 1);
    if (owner.endsWith(".ln1") || owner.endsWith(".ln2")) {
      String block = "encoder.layer." + Integer.parseInt(owner.substring(1, owner.indexOf('.'))) + ".";
      return block + (owner.endsWith(".ln1") ? "attention.output.LayerNorm." : "output.LayerNorm.")
          + (part.equals("gamma") ? "weight" : "bias");
    }
    return module(owner) + "." + part;
  }
}
