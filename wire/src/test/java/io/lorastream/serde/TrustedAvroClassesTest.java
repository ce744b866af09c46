package io.lorastream.serde;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lorastream.avro.AdapterSnapshot;
import io.lorastream.avro.LabeledExample;
import org.apache.avro.util.ClassSecurityValidator;
import org.junit.jupiter.api.Test;

class TrustedAvroClassesTest {
  @Test
  void theGeneratedClassesAreTrustedAndOtherClassesAreNot() {
    TrustedAvroClasses.install();
    TrustedAvroClasses.install(); // idempotent
    assertThatCode(() -> ClassSecurityValidator.validate(LabeledExample.class)).doesNotThrowAnyException();
    assertThatCode(() -> ClassSecurityValidator.validate(AdapterSnapshot.class)).doesNotThrowAnyException();
    // A writer schema naming one of our other classes, or a JDK class outside Avro's defaults, is refused.
    assertThatThrownBy(() -> ClassSecurityValidator.validate(WireFormat.class)).isInstanceOf(SecurityException.class);
    assertThatThrownBy(() -> ClassSecurityValidator.validate(java.util.concurrent.ThreadPoolExecutor.class))
        .isInstanceOf(SecurityException.class);
  }
}
