package io.lorastream.serde;

/** Guards against using a serde before {@code configure}, with a message that says how to fix it. */
final class Cores {
  private Cores() {
  }

  static <C> C configured(C core, String what) {
    if (core == null) {
      throw new IllegalStateException(what + " is not configured: call configure(Map.of(\"schema.registry.url\", "
          + "\"http://host:port\"), isKey) first, or obtain it from LorastreamSerdes");
    }
    return core;
  }
}
