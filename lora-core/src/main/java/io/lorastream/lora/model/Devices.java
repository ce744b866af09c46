package io.lorastream.lora.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Locale;

/**
 * Turns the {@code --device auto|cpu|gpu} setting into a DJL {@link Device}. "auto" prefers the
 * first GPU the PyTorch engine sees; "gpu" insists on one and fails at startup if there is none,
 * because silently training on CPU when a GPU was asked for hides a broken deployment.
 */
public final class Devices {
  private Devices() {}

  /** Intra-op CPU threads for lorastream's tensor work; override with -Dlorastream.torch.threads=N. */
  public static final String THREADS_PROPERTY = "lorastream.torch.threads";

  private static final ThreadLocal<Boolean> TUNED = ThreadLocal.withInitial(() -> Boolean.FALSE);

  /**
   * Sets PyTorch's intra-op thread count for the calling thread, once per thread. lorastream's
   * kernels are tiny (a 32x64 matmul takes microseconds), so fanning them out over a thread pool
   * costs more than it saves: on 2 cores one thread trained 3.3x faster than the default. PyTorch
   * keeps this setting per OS thread (OpenMP), so every thread that does tensor work calls this
   * first; the learner, the pretrainer and the model do it for you. Default 1, override with
   * {@value #THREADS_PROPERTY}.
   */
  public static void tuneCurrentThread() {
    if (TUNED.get()) {
      return;
    }
    TUNED.set(Boolean.TRUE);
    if ("PyTorch".equals(Engine.getInstance().getEngineName())) {
      JniUtils.setNumThreads(Math.max(1, Integer.getInteger(THREADS_PROPERTY, 1)));
    }
  }

  /**
   * Resolves a device name: {@code auto}, {@code cpu}, {@code gpu} or {@code gpu:N}.
   *
   * @throws IllegalArgumentException for an unknown name or a GPU request without a GPU
   */
  public static Device resolve(String name) {
    String n = name == null ? "auto" : name.trim().toLowerCase(Locale.ROOT);
    if (n.equals("cpu")) {
      return Device.cpu(); // no GPU probe: on a CPU machine it only prints CUDA-detection noise
    }
    int gpus = Engine.getInstance().getGpuCount();
    if (n.equals("auto")) {
      return gpus > 0 ? Device.gpu() : Device.cpu();
    }
    if (n.equals("gpu") || n.startsWith("gpu:")) {
      int id = 0;
      if (n.startsWith("gpu:")) {
        try {
          id = Integer.parseInt(n.substring(4));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("device: bad GPU index in '" + name + "'; use gpu or gpu:N");
        }
      }
      if (gpus == 0) {
        throw new IllegalArgumentException(
            "device=" + name + " but the PyTorch engine sees no GPU; use --device auto or --device cpu");
      }
      if (id < 0 || id >= gpus) {
        throw new IllegalArgumentException(
            "device=" + name + " but only " + gpus + " GPU(s) are visible (valid: gpu:0..gpu:" + (gpus - 1) + ")");
      }
      return Device.gpu(id);
    }
    throw new IllegalArgumentException("device: unknown value '" + name + "'; use auto, cpu or gpu");
  }
}
