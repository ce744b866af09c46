package io.lorastream.stream.serving;

import io.lorastream.lora.model.BaseModel;
import io.lorastream.lora.model.LayerInfo;
import io.lorastream.lora.model.MergedClassifier;
import io.lorastream.lora.model.ServingEngine;
import io.lorastream.lora.snapshot.DecodedAdapter;
import java.util.Map;

/**
 * One verified adapter version under a {@link MergeBudget}: merged while the budget keeps it,
 * reduced to its decoded A and B when evicted, and merged again by the next request that uses it.
 * Requests lease the merged model, so an eviction (or a retirement) frees device memory only once
 * the requests already using it have returned; the lease is one short lock per request.
 */
final class LazyMerged implements MergedClassifier {
  private final DecodedAdapter decoded;
  private final BaseModel base;
  private final ServingEngine engine;
  private final MergedClassifier shape; // the base: sizes and kind, without merging anything
  private final MergeBudget budget;
  private final long mergedBytes;
  private final Map<String, Integer> ranks;
  private MergedClassifier merged; // guarded by this
  private MergedClassifier retiring; // evicted while leased; retired when the last lease returns
  private int leases;
  private boolean retired;
  private volatile long lastUse;

  LazyMerged(DecodedAdapter decoded, BaseModel base, ServingEngine engine, MergedClassifier shape,
      MergeBudget budget) {
    this.decoded = decoded;
    this.base = base;
    this.engine = engine;
    this.shape = shape;
    this.budget = budget;
    this.ranks = Map.copyOf(decoded.ranks());
    long b = 0;
    for (LayerInfo l : base.adaptableLayers()) {
      if (ranks.containsKey(l.name())) {
        b += 4L * l.in() * l.out();
      }
    }
    this.mergedBytes = b;
  }

  /** Merges now, off the request path (the swap does this before the version is visible). */
  void warm() {
    release(acquire(false));
  }

  private MergedClassifier acquire(boolean fromRequest) {
    MergedClassifier m;
    boolean mergedNow = false;
    long nanos = 0;
    synchronized (this) {
      if (retired) {
        throw new IllegalStateException("adapter " + decoded.adapterId() + " v" + decoded.version() + " was retired");
      }
      if (merged == null) {
        long t = System.nanoTime();
        merged = decoded.merge(base, engine);
        nanos = System.nanoTime() - t;
        mergedNow = true;
      }
      leases++;
      m = merged;
    }
    lastUse = budget.tick();
    if (mergedNow) {
      budget.admitted(this, fromRequest, nanos);
    }
    return m;
  }

  private void release(MergedClassifier m) {
    MergedClassifier toRetire = null;
    synchronized (this) {
      leases--;
      if (leases == 0 && retiring != null) {
        toRetire = retiring;
        retiring = null;
      }
    }
    if (toRetire != null) {
      toRetire.retire();
    }
  }

  /** Drops the merged weights (the budget's choice); false when there were none. */
  boolean evict() {
    MergedClassifier toRetire;
    synchronized (this) {
      if (merged == null) {
        return false;
      }
      if (leases > 0) {
        retiring = merged;
        merged = null;
        return true;
      }
      toRetire = merged;
      merged = null;
    }
    toRetire.retire();
    return true;
  }

  boolean isMerged() {
    synchronized (this) {
      return merged != null;
    }
  }

  long lastUse() {
    return lastUse;
  }

  long mergedBytes() {
    return mergedBytes;
  }

  /** Bytes of the compact form kept while evicted: A and B of every layer. */
  long compactBytes() {
    long b = 0;
    for (var l : decoded.layers()) {
      b += 4L * (l.a().length + l.b().length);
    }
    return b;
  }

  @Override
  public float[] logits(float[] row) {
    MergedClassifier m = acquire(true);
    try {
      return m.logits(row);
    } finally {
      release(m);
    }
  }

  @Override
  public float[] predictProba(float[] row) {
    MergedClassifier m = acquire(true);
    try {
      return m.predictProba(row);
    } finally {
      release(m);
    }
  }

  @Override
  public int predict(float[] row) {
    MergedClassifier m = acquire(true);
    try {
      return m.predict(row);
    } finally {
      release(m);
    }
  }

  @Override
  public int inputSize() {
    return shape.inputSize();
  }

  @Override
  public int numClasses() {
    return shape.numClasses();
  }

  @Override
  public boolean tokenInput() {
    return shape.tokenInput();
  }

  @Override
  public int vocabSize() {
    return shape.vocabSize();
  }

  @Override
  public Map<String, Integer> ranks() {
    return ranks;
  }

  @Override
  public String engine() {
    return shape.engine();
  }

  @Override
  public void retire() {
    MergedClassifier toRetire = null;
    synchronized (this) {
      if (retired) {
        return;
      }
      retired = true;
      if (merged != null && leases == 0) {
        toRetire = merged;
      } else if (merged != null) {
        retiring = merged;
      }
      merged = null;
    }
    budget.dropped(this);
    if (toRetire != null) {
      toRetire.retire();
    }
  }
}
