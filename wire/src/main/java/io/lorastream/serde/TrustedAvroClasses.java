package io.lorastream.serde;

import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.util.ClassSecurityValidator;
import org.apache.avro.util.ClassSecurityValidator.ClassSecurityPredicate;

/**
 * Lets Avro instantiate lorastream's generated record classes, and nothing more. Since 1.12.2
 * Avro refuses to load any class a schema names unless it is trusted, because a hostile writer
 * schema could otherwise name an arbitrary class; the specific serdes do look classes up by the
 * writer schema's name (Kafka Streams' default serde has no class to go by). The trust is added
 * to Avro's process-wide predicate once, beside whatever the application (or the
 * {@code org.apache.avro.SERIALIZABLE_*} system properties) already trusts. Avro checks on every
 * class it loads by name, including when a generated builder deep-copies an enum or a nested
 * record, so every entry point into the generated classes installs it.
 */
public final class TrustedAvroClasses {
  /** The package of the generated classes ({@code namespace} of every {@code .avsc}). */
  public static final String PACKAGE = "io.lorastream.avro.";
  private static final AtomicBoolean INSTALLED = new AtomicBoolean();

  private TrustedAvroClasses() {
  }

  /**
   * Trusts the generated classes (idempotent). The serdes and the snapshot code call it; code that
   * copies or decodes generated records with Avro's own API before touching them must call it first.
   */
  public static void install() {
    if (INSTALLED.compareAndSet(false, true)) {
      ClassSecurityPredicate ours = c -> c.getName().startsWith(PACKAGE) && c.getName().indexOf('.', PACKAGE.length()) < 0;
      ClassSecurityValidator.setGlobal(ClassSecurityValidator.composite(ClassSecurityValidator.getGlobal(), ours));
    }
  }
}
