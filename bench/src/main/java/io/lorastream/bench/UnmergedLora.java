package io.lorastream.bench;

import io.lorastream.lora.adapter.LayerWeights;
import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.MergedModel;
import io.lorastream.lora.snapshot.DecodedAdapter;
import java.util.List;

/**
 * The serving path lorastream does not take, as a reference: the frozen base plus unmerged LoRA
 * factors, {@code y = W x + b + s * B (A x)} per layer, in plain Java with the same loop structure
 * and float accumulation as {@code MergedModel}, so the comparison isolates what merging saves
 * (the extra {@code r (in + out)} multiply-adds per layer and the second pass over each input).
 */
final class UnmergedLora {
  private final int[] ins;
  private final int[] outs;
  private final float[][] w; // (out, in)
  private final float[][] bias;
  private final float[][] a; // (r, in) or null
  private final float[][] b; // (out, r)
  private final int[] ranks;
  private final float[] scales;

  UnmergedLora(BaseModel base, DecodedAdapter adapter) {
    List<LayerInfo> ls = base.linearLayers();
    int n = ls.size();
    ins = new int[n];
    outs = new int[n];
    w = new float[n][];
    bias = new float[n][];
    a = new float[n][];
    b = new float[n][];
    ranks = new int[n];
    scales = new float[n];
    for (int i = 0; i < n; i++) {
      LayerInfo l = ls.get(i);
      ins[i] = l.in();
      outs[i] = l.out();
      w[i] = base.weight(l.name());
      bias[i] = base.bias(l.name());
    }
    for (LayerWeights l : adapter.layers()) {
      int i = base.layerIndex(l.name());
      a[i] = l.a();
      b[i] = l.b();
      ranks[i] = l.rank();
      scales[i] = (float) l.scale();
    }
  }

  float[] logits(float[] x) {
    float[] h = x;
    int last = w.length - 1;
    for (int l = 0; l <= last; l++) {
      int in = ins[l];
      int out = outs[l];
      float[] wl = w[l];
      float[] ax = null;
      if (a[l] != null) {
        int r = ranks[l];
        ax = new float[r];
        for (int k = 0; k < r; k++) {
          float acc = 0f;
          int off = k * in;
          for (int i = 0; i < in; i++) {
            acc += a[l][off + i] * h[i];
          }
          ax[k] = acc * scales[l];
        }
      }
      float[] next = new float[out];
      for (int o = 0; o < out; o++) {
        float acc = bias[l][o];
        int off = o * in;
        for (int i = 0; i < in; i++) {
          acc += wl[off + i] * h[i];
        }
        if (ax != null) {
          int r = ranks[l];
          int boff = o * r;
          for (int k = 0; k < r; k++) {
            acc += b[l][boff + k] * ax[k];
          }
        }
        next[o] = l < last && acc < 0f ? 0f : acc;
      }
      h = next;
    }
    return h;
  }

  /** Softmax of the logits, computed as MergedModel does. */
  float[] predictProba(float[] x) {
    return MergedModel.softmax(logits(x));
  }
}
